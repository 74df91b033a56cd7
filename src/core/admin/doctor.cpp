#include "core/admin/doctor.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "content/schema.h"
#include "content/validator.h"
#include "content/yaml.h"
#include "core/admin/setup.h"
#include "core/model/audit.h"
#include "core/pipeline/rules.h"
#include "core/pipeline/session.h"
#include "core/policy/config.h"
#include "core/workspace/sources.h"
#include "core/workspace/workspace.h"
#include "git/repo.h"
#include "util/enum_names.h"
#include "util/error.h"
#include "util/process.h"
#include "util/strings.h"

namespace envflow::core::admin {

namespace fs = std::filesystem;

namespace {

using Level = Finding::Level;


// refs/tags/vMAJOR.MINOR.PATCH, as the rulebook classifies release tags.
bool is_release_tag(const std::string& ref) {
  return util::starts_with(ref, model::k_tags_prefix) &&
         model::is_release_tag_name(std::string_view(ref).substr(model::k_tags_prefix.size()));
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// One back-port issue from refs/envflow/backports.
struct Backport {
  std::string id;
  bool open = false;
  std::vector<std::string> commits;

  // True when `commit` (a full id) is one this back-port tracks; listed ids
  // may be abbreviated.
  bool tracks(const std::string& commit) const {
    return std::any_of(commits.begin(), commits.end(), [&](const std::string& listed) {
      return listed.size() >= 7 && util::starts_with(commit, listed);
    });
  }
};

// What the audit trail says about one ref after replaying every record.
struct RefHistory {
  std::string last_new;          // where the last record moved it
  std::set<std::string> earlier; // every position recorded before that
  std::string record;            // id of the last record that moved it
};

// A record is a commit message of a few lines; one far larger carries
// something else (the server never writes one).
constexpr size_t k_max_record_bytes = 64 * 1024;

// The refs as the trail stood before one record: where the records up to it
// moved each ref, and the record's own old ids for the refs it moves. The
// first environment's branch reads as it is now: developers move it without
// envflow, and it is never rewound, so its head holds every commit it had.
class ReplayRefs : public model::RefView {
public:
  ReplayRefs(const std::map<std::string, RefHistory>& history, const model::RefView& now,
             std::string first_branch, const std::vector<model::RefMove>& moves)
      : m_history(history), m_now(now), m_first_branch(std::move(first_branch)) {
    for (const auto& move : moves) {
      m_own.emplace(move.ref, move.old_id);
    }
  }

  std::optional<std::string> target(const std::string& ref) const override {
    if (ref == m_first_branch) {
      return m_now.target(ref);
    }
    std::string id;
    if (const auto own = m_own.find(ref); own != m_own.end()) {
      id = own->second;
    } else if (const auto found = m_history.find(ref); found != m_history.end()) {
      id = found->second.last_new;
    }
    if (id.empty() || model::is_zero(id)) {
      return std::nullopt;
    }
    return id;
  }

  std::vector<std::string> names(const std::string& prefix) const override {
    std::set<std::string> found;
    for (const auto& [ref, history] : m_history) {
      if (util::starts_with(ref, prefix)) {
        found.insert(ref);
      }
    }
    for (const auto& [ref, id] : m_own) {
      if (util::starts_with(ref, prefix)) {
        found.insert(ref);
      }
    }
    if (util::starts_with(m_first_branch, prefix)) {
      found.insert(m_first_branch);
    }
    std::vector<std::string> out;
    for (const auto& ref : found) {
      if (target(ref)) {
        out.push_back(ref);
      }
    }
    return out;
  }

private:
  const std::map<std::string, RefHistory>& m_history;
  const model::RefView& m_now;
  std::string m_first_branch;
  std::map<std::string, std::string> m_own;
};

class Doctor {
public:
  Doctor(const git::Repository& repo, const model::RefView& refs, content::ResultCache* cache)
      : m_repo(repo), m_refs(refs), m_cache(cache) {}

  std::vector<Finding> run() {
    check_config();
    if (m_config) {
      check_branches();
      check_ancestry();
      check_content();
    }
    check_audit_chain();
    if (m_audit_readable) {
      check_ref_positions();
    }
    check_hooks();
    check_remote();
    return std::move(m_findings);
  }

private:
  void add(Level level, const std::string& check, const std::string& message,
           const std::string& mend = "") {
    m_findings.push_back(Finding{level, check, message, mend});
  }

  // Ancestry that tolerates missing objects (a damaged or shallow repository).
  bool is_ancestor(const std::string& ancestor, const std::string& descendant) const {
    try {
      return m_repo.is_ancestor(ancestor, descendant);
    } catch (const std::exception&) {
      return false;
    }
  }

  std::string head_of(const policy::Environment& env) const {
    return m_refs.target("refs/heads/" + env.branch).value_or("");
  }

  bool is_first_branch(const std::string& ref) const {
    return m_config && ref == "refs/heads/" + m_config->first().branch;
  }

  bool is_env_branch(const std::string& ref) const {
    return m_config && util::starts_with(ref, "refs/heads/") &&
           m_config->by_branch(ref.substr(std::string("refs/heads/").size())) != nullptr;
  }

  void check_config() {
    try {
      if (const auto commit = m_refs.target(model::k_config_ref)) {
        m_config = policy::load_config(m_repo, *commit);
      }
    } catch (const util::Error& e) {
      add(Level::error, "config", e.what(),
          "fix envflow.yaml with `envflow config edit` (it validates before it commits)");
      return;
    }
    if (!m_config) {
      add(Level::error, "config",
          std::string(model::k_config_ref) + " is missing: this is not an envflow repository, or a "
                                             "clone that has not fetched envflow's refs",
          "run `envflow init` to create the pipeline, or `envflow setup` in a clone");
      return;
    }
    std::vector<std::string> names;
    for (const auto& env : m_config->environments) {
      names.push_back(env.name);
    }
    add(Level::ok, "config",
        std::string(model::k_config_ref) + " loads and validates: " + util::join(names, " → "));
  }

  // Every environment head validates, under the same options the rulebook
  // uses (a tree can only be invalid there if it got past an older envflow
  // or a server without envflow's hooks).
  void check_content() {
    const content::ValidateOptions options =
        workspace::options_for(*m_config, m_cache, content::Scope::promoted);
    size_t invalid = 0;
    for (const auto& env : m_config->environments) {
      const auto head = m_refs.target("refs/heads/" + env.branch);
      if (!head) {
        continue; // "branches" says so
      }
      workspace::TreeSource tree(m_repo, *head);
      const content::ValidationReport report =
          content::validate(tree, options, content::SchemaSet::builtin());
      std::vector<std::string> errors;
      for (const auto& d : report.diagnostics) {
        if (d.severity == content::Severity::error) {
          errors.push_back(d.to_text());
        }
      }
      if (errors.empty()) {
        continue;
      }
      ++invalid;
      if (errors.size() > 3) {
        const size_t more = errors.size() - 3;
        errors.resize(3);
        errors.push_back("… and " + std::to_string(more) + " more");
      }
      add(Level::error, "content",
          env.name + "'s head " + model::short_id(*head) + " does not validate:\n  " +
              util::join(errors, "\n  "),
          "see every problem with `envflow validate --rev " + env.branch + "`; " +
              (&env == &m_config->first() ? "commit the fix on " + env.name
                                          : "promote a valid commit into " + env.name +
                                                ", or for the last environment "
                                                "ship a hotfix"));
    }
    if (invalid == 0) {
      add(Level::ok, "content",
          "every environment head validates (" +
              std::to_string(m_config->environments.size()) + ")");
    }
  }

  void check_branches() {
    bool all = true;
    for (const auto& env : m_config->environments) {
      const std::string ref = "refs/heads/" + env.branch;
      if (m_refs.target(ref)) {
        continue;
      }
      all = false;
      std::string mend;
      mend = "recreate it where the audit trail last moved it (see `envflow log --env " +
             env.name + "`): git update-ref " + ref + " <commit> on the server";
      add(Level::error, "branches",
          "environment " + env.name + " has no branch: " + ref + " is missing", mend);
    }
    if (all) {
      add(Level::ok, "branches",
          "every environment branch exists (" + std::to_string(m_config->environments.size()) +
              ")");
    }
  }

  std::vector<Backport> read_backports() {
    std::vector<Backport> backports;
    const auto head = m_refs.target(model::k_backports_ref);
    if (!head) {
      return backports;
    }
    for (const auto& entry : m_repo.list_tree(*head)) {
      if (entry.path.find('/') != std::string::npos || !util::ends_with(entry.path, ".yaml")) {
        continue;
      }
      const std::string where = std::string(model::k_backports_ref) + ":" + entry.path;
      const content::YamlResult yaml = content::load_yaml(m_repo.read_blob(entry.id), where);
      if (!yaml.value || !yaml.value->is_mapping()) {
        add(Level::warning, "invariant-1",
            where + " is not a back-port issue" +
                (yaml.diagnostics.empty() ? std::string() : ": " + yaml.diagnostics[0].to_text()),
            "repair or remove the file on " + std::string(model::k_backports_ref));
        continue;
      }
      Backport backport;
      backport.id = util::path_stem(entry.path);
      backport.open = yaml.value->string_at("status") == "open";
      if (const content::Value* commits = yaml.value->find("commits");
          commits != nullptr && commits->is_sequence()) {
        for (const auto& item : commits->items) {
          if (item.is_scalar()) {
            backport.commits.push_back(item.string);
          }
        }
      }
      backports.push_back(std::move(backport));
    }
    return backports;
  }

  std::string describe_commits(const std::vector<std::string>& ids) const {
    std::vector<std::string> parts;
    constexpr size_t k_shown = 5;
    for (size_t i = 0; i < ids.size() && i < k_shown; ++i) {
      parts.push_back(model::short_id(ids[i]) + " \"" + m_repo.commit(ids[i]).summary + "\"");
    }
    std::string text = util::join(parts, ", ");
    if (ids.size() > k_shown) {
      text += " and " + std::to_string(ids.size() - k_shown) + " more";
    }
    return text;
  }

  // Invariant 1: B's head is an ancestor of A's head for consecutive A -> B.
  void check_ancestry() {
    const auto& envs = m_config->environments;
    std::optional<std::vector<Backport>> backports;
    bool clean = true;
    for (size_t i = 0; i + 1 < envs.size(); ++i) {
      const policy::Environment& from = envs[i];
      const policy::Environment& to = envs[i + 1];
      const std::string a = head_of(from);
      const std::string b = head_of(to);
      if (a.empty() || b.empty() || is_ancestor(b, a)) {
        continue; // missing branches are reported by "branches"
      }
      const std::vector<std::string> extra = m_repo.commits_between(a, b);
      std::vector<std::string> unexplained;
      std::vector<std::string> in_flight;
      std::set<std::string> open_ids;
      const bool last = i + 2 == envs.size();
      if (last && !backports) {
        backports = read_backports();
      }
      const std::string first_head = head_of(envs.front());
      for (const auto& commit : extra) {
        if (last) {
          const auto open =
              std::find_if(backports->begin(), backports->end(),
                           [&](const Backport& bp) { return bp.open && bp.tracks(commit); });
          if (open != backports->end()) {
            open_ids.insert(open->id);
            continue;
          }
          if (!first_head.empty() && is_ancestor(commit, first_head)) {
            in_flight.push_back(commit);
            continue;
          }
        }
        unexplained.push_back(commit);
      }
      if (!unexplained.empty()) {
        clean = false;
        add(Level::error, "invariant-1",
            to.name + " is not an ancestor of " + from.name + ": " + to.name + " has " +
                std::to_string(unexplained.size()) + " commit" +
                (unexplained.size() == 1 ? "" : "s") + " " + from.name +
                " lacks: " + describe_commits(unexplained),
            "commits reach " + to.name + " only through `envflow sync " + from.name +
                "`: bring them into " + envs.front().name +
                " and promote them, or undo the change made on " + to.name + " by hand");
        continue;
      }
      if (!open_ids.empty()) {
        const std::vector<std::string> ids(open_ids.begin(), open_ids.end());
        add(Level::warning, "invariant-1",
            to.name + " has hotfix commits " + from.name + " lacks, tracked by open back-port" +
                (ids.size() == 1 ? " " : "s ") + util::join(ids, ", "),
            "bring the hotfix into " + envs.front().name + " with `envflow backport apply " +
                ids.front() + "` and promote it through the pipeline");
      }
      if (!in_flight.empty()) {
        add(Level::warning, "invariant-1",
            to.name + " has " + std::to_string(in_flight.size()) + " hotfix commit" +
                (in_flight.size() == 1 ? "" : "s") + " " + from.name + " lacks (" +
                describe_commits(in_flight) + "); they are back in " + envs.front().name +
                " and on their way",
            "promote them up to " + from.name + " with `envflow sync`");
      }
    }
    if (clean) {
      add(Level::ok, "invariant-1", "each environment's head is an ancestor of the previous one's");
    }
  }

  // Walk refs/envflow/audit: linear, parseable, no gaps per ref.
  void check_audit_chain() {
    const auto head = m_refs.target(model::k_audit_ref);
    if (!head) {
      if (m_config) {
        add(Level::error, "audit-chain",
            std::string(model::k_audit_ref) + " is missing: no operation is on record",
            "in a clone, run `envflow setup` to fetch it; otherwise restore it from a clone or a "
            "backup (git update-ref " +
                std::string(model::k_audit_ref) + " <commit>)");
      }
      return;
    }
    std::vector<std::string> ids;
    try {
      ids = m_repo.commits_between("", *head);
    } catch (const util::Error& e) {
      add(Level::error, "audit-chain",
          std::string(model::k_audit_ref) + " cannot be read: " + e.what(),
          "restore the missing objects from a clone (git fetch) or a backup");
      return;
    }
    std::reverse(ids.begin(), ids.end()); // oldest first
    m_audit_readable = true;
    size_t problems = 0;
    size_t unauthorised = 0;
    for (const auto& id : ids) {
      const git::CommitInfo info = m_repo.commit(id);
      if (info.parents.size() > 1) {
        ++problems;
        add(Level::error, "audit-chain",
            "audit record " + model::short_id(id) +
                " is a merge commit: the trail must be one line",
            "the trail was merged outside envflow (git pull or merge on " +
                std::string(model::k_audit_ref) +
                "?); put back the linear history from a clone or the reflog (git reflog show " +
                model::k_audit_ref + ")");
      }
      const auto record = model::AuditRecord::from_message(info.message);
      const std::string why = record ? malformed(*record) : "no op, or a malformed move line";
      if (!why.empty()) {
        ++problems;
        add(Level::error, "audit-chain",
            "commit " + model::short_id(id) + " on " + model::k_audit_ref +
                " is not a valid audit record: " + why,
            "audit records are written only by envflow; find who wrote it (git show " +
                model::short_id(id) + ") and restore the trail from a clone or the reflog");
        continue;
      }
      if (const std::string odd = oversized(info); !odd.empty()) {
        ++problems;
        add(Level::error, "audit-chain",
            "audit record " + model::short_id(id) + " (" + record->op +
                ") is not one envflow writes: " + odd,
            "audit records are written only by envflow; find who wrote it (git show " +
                model::short_id(id) + ") and restore the trail from a clone or the reflog");
      }
      unauthorised += check_authority(id, *record);
      problems += replay(id, *record);
    }
    if (problems == 0) {
      add(Level::ok, "audit-chain",
          std::string(model::k_audit_ref) + ": " + std::to_string(ids.size()) + " record" +
              (ids.size() == 1 ? "" : "s") + ", linear, each continuing the last");
    }
    if (unauthorised == 0) {
      add(Level::ok, "audit-authority",
          "every record's change was allowed by the policy in force when it was made");
    }
  }

  // The policy of config commit `id`, loaded once; nullptr when it does not load.
  const policy::PipelineConfig* policy_at(const std::string& id) {
    auto found = m_policies.find(id);
    if (found == m_policies.end()) {
      std::optional<policy::PipelineConfig> config;
      try {
        config = policy::load_config(m_repo, id);
      } catch (const util::Error&) {
        // An unreadable policy in the history: its records cannot be judged
        // (the "config" check speaks for the one in force).
      }
      found = m_policies.emplace(id, std::move(config)).first;
    }
    return found->second ? &*found->second : nullptr;
  }

  // Whether the rulebook's who-may rules (judge_authority), under the
  // policy in force before `record` and with the refs as the trail left
  // them, allow its actor to make its moves. One finding per refusal;
  // returns their number. Records made before a policy existed (the
  // repository being seeded) are not judged.
  size_t check_authority(const std::string& id, const model::AuditRecord& record) {
    if (record.moves.empty()) {
      return 0;
    }
    const auto config_at = m_history.find(model::k_config_ref);
    if (config_at == m_history.end() || model::is_zero(config_at->second.last_new)) {
      return 0;
    }
    const policy::PipelineConfig* policy = policy_at(config_at->second.last_new);
    if (policy == nullptr) {
      return 0;
    }
    const ReplayRefs refs(m_history, m_refs, "refs/heads/" + policy->first().branch,
                          record.moves);
    const pipeline::Actor actor{record.actor, "", !record.actor.empty()};
    const pipeline::Judgement judgement =
        judge_authority(model::Pipeline{m_repo, refs, *policy, m_cache}, record.moves, actor);
    size_t found = 0;
    for (const auto& refusal : judgement.refusals) {
      if (refusal.gate != pipeline::Gate::identity && refusal.gate != pipeline::Gate::record) {
        continue;
      }
      ++found;
      add(Level::error, "audit-authority",
          "audit record " + model::short_id(id) + " (" + record.op + " by " +
              (record.actor.empty() ? std::string("nobody named") : record.actor) +
              ") records a change the policy then in force did not allow" +
              (refusal.ref.empty() ? std::string() : " (" + refusal.ref + ")") + ": " +
              refusal.reason,
          "the server records only changes its rules accept: find who wrote it (git show " +
              model::short_id(id) +
              "), undo what it changed through envflow, and restore the trail "
              "from a clone or the reflog (git reflog show " +
              std::string(model::k_audit_ref) + ")");
    }
    return found;
  }

  // What a record commit carries that envflow's never do ("" when nothing):
  // files, or a message far beyond a record's few lines.
  static std::string oversized(const git::CommitInfo& info) {
    if (info.tree != git::k_empty_tree_id) {
      return "it carries files (tree " + model::short_id(info.tree) +
             "); a record is a message on the empty tree";
    }
    if (info.message.size() > k_max_record_bytes) {
      return "its message is " + std::to_string(info.message.size()) + " bytes, over the " +
             std::to_string(k_max_record_bytes) + " a record can take";
    }
    return {};
  }

  // Why `record` is malformed, or "" when it is sound.
  static std::string malformed(const model::AuditRecord& record) {
    if (record.time == 0) {
      return "no valid time";
    }
    for (const auto& move : record.moves) {
      if (!util::starts_with(move.ref, "refs/") || !model::is_object_id(move.old_id) ||
          !model::is_object_id(move.new_id)) {
        return "bad move line '" + move.ref + " " + move.old_id + " " + move.new_id + "'";
      }
    }
    return {};
  }

  // Fold `record`'s moves into m_history; returns the number of gaps found.
  size_t replay(const std::string& id, const model::AuditRecord& record) {
    size_t gaps = 0;
    for (const auto& move : record.moves) {
      auto found = m_history.find(move.ref);
      const std::string previous =
          found == m_history.end() ? std::string(git::k_zero_id) : found->second.last_new;
      bool continues = move.old_id == previous;
      if (!continues && is_first_branch(move.ref)) {
        // Developers commit on the first environment without envflow: any
        // fast-forward from the recorded position is fine.
        continues = model::is_zero(previous) || is_ancestor(previous, move.old_id);
      }
      if (!continues) {
        ++gaps;
        const std::string what = "audit record " + model::short_id(id) + " (" + record.op +
                                 ") moves " + move.ref + " from " + model::short_id(move.old_id);
        add(Level::error, "audit-chain",
            what + (found == m_history.end()
                        ? ", but no earlier record created it (created outside envflow?)"
                        : ", but the previous record " + model::short_id(found->second.record) +
                              " left it at " + model::short_id(previous) +
                              " (moved outside envflow in between?)"),
            "the trail cannot be rewritten; find what moved " + move.ref + " (git reflog show " +
                move.ref + ") and account for it with the team");
      }
      RefHistory& history = m_history[move.ref];
      if (!history.last_new.empty()) {
        history.earlier.insert(history.last_new);
      }
      history.earlier.insert(move.old_id);
      history.last_new = move.new_id;
      history.record = id;
    }
    return gaps;
  }

  // Invariant 2: audited refs are where the trail last moved them.
  void check_ref_positions() {
    std::set<std::string> refs;
    if (m_config) {
      for (const auto& env : m_config->environments) {
        refs.insert("refs/heads/" + env.branch);
      }
    }
    refs.insert(model::k_config_ref);
    if (m_refs.target(model::k_live_ref)) {
      refs.insert(model::k_live_ref); // when the trail knows it, it is added below
    }
    for (const auto& ref : m_refs.names(model::k_local_ref_prefix)) {
      refs.insert(ref);
    }
    for (const auto& ref : m_refs.names(std::string(model::k_tags_prefix) + "v")) {
      if (is_release_tag(ref)) {
        refs.insert(ref);
      }
    }
    for (const auto& [ref, history] : m_history) {
      if (ref == model::k_config_ref || ref == model::k_live_ref ||
          util::starts_with(ref, model::k_local_ref_prefix) || is_release_tag(ref) ||
          is_env_branch(ref)) {
        refs.insert(ref);
      }
    }
    size_t problems = 0;
    for (const auto& ref : refs) {
      problems += check_position(ref) ? 0 : 1;
    }
    if (problems == 0) {
      add(Level::ok, "invariant-2",
          std::to_string(refs.size()) + " refs are where the audit trail last moved them");
    }
  }

  // Check one ref against the trail; false when a finding was added.
  bool check_position(const std::string& ref) {
    const std::string current = m_refs.target(ref).value_or(std::string(git::k_zero_id));
    const auto found = m_history.find(ref);
    const std::string recorded =
        found == m_history.end() ? std::string(git::k_zero_id) : found->second.last_new;
    if (current == recorded) {
      return true;
    }
    if (model::is_zero(current) && is_env_branch(ref)) {
      return true; // reported by "branches"
    }
    if (is_first_branch(ref)) {
      // Commits land on the first environment without envflow.
      if (found == m_history.end() || model::is_zero(recorded) || is_ancestor(recorded, current)) {
        return true;
      }
      if (is_ancestor(current, recorded)) {
        add(Level::warning, "invariant-2",
            ref + " is at " + model::short_id(current) + ", behind " + model::short_id(recorded) +
                " where the audit trail last moved it (a stale copy?)",
            "update it (git pull), or, if it was rewound by hand, put it back: git update-ref " +
                ref + " " + recorded);
        return false;
      }
      add(Level::error, "invariant-2",
          ref + " is at " + model::short_id(current) + ", which does not contain " +
              model::short_id(recorded) +
              " where the audit trail last moved it (rewound or force-pushed outside envflow?)",
          "put the audited commits back: git update-ref " + ref + " " + recorded +
              ", then redo the change with new commits");
      return false;
    }
    if (model::is_zero(current)) {
      add(Level::error, "invariant-2",
          ref + " is missing but the audit trail last moved it to " + model::short_id(recorded) +
              " (deleted outside envflow?)",
          "restore it: git update-ref " + ref + " " + recorded);
      return false;
    }
    if (found == m_history.end()) {
      add(Level::error, "invariant-2",
          ref + " is at " + model::short_id(current) +
              " but the audit trail has no record of it (created outside envflow?)",
          "remove it (git update-ref -d " + ref + ") and make it through envflow" +
              (is_release_tag(ref) ? " (envflow publish)" : std::string()));
      return false;
    }
    if (found->second.earlier.count(current) != 0) {
      add(Level::warning, "invariant-2",
          ref + " is at " + model::short_id(current) +
              ", an earlier audited position; the trail last "
              "moved it to " +
              model::short_id(recorded) + " (a stale copy, or rewound outside envflow?)",
          "in a clone, update it from the remote (git fetch); otherwise put it back: git "
          "update-ref " +
              ref + " " + recorded);
      return false;
    }
    add(Level::error, "invariant-2",
        ref + " is at " + model::short_id(current) + " but the audit trail last moved it to " +
            model::short_id(recorded) + " (moved outside envflow?)",
        "put it back with git update-ref " + ref + " " + recorded +
            ", then make the change through envflow so it is audited");
    return false;
  }

  fs::path hooks_dir() const {
    if (auto configured = m_repo.config_string("core.hooksPath");
        configured && !configured->empty()) {
      fs::path path(*configured);
      if (path.is_relative()) {
        path = fs::path(m_repo.workdir()) / path;
      }
      return path;
    }
    return fs::path(m_repo.common_dir()) / "hooks";
  }

  void check_hooks() {
    if (m_repo.is_bare()) {
      return; // no commits are made in a bare repository
    }
    const fs::path hook = hooks_dir() / "pre-commit";
    const std::string mend = "run `envflow install-hooks`";
    std::error_code ec;
    if (!fs::exists(hook, ec)) {
      add(Level::error, "hooks",
          "no pre-commit hook (" + hook.string() + "): commits are not validated", mend);
      return;
    }
    if (read_text(hook).find("envflow hook pre-commit") == std::string::npos) {
      add(Level::error, "hooks", hook.string() + " is not envflow's: commits are not validated",
          mend + " (it keeps the existing hook as pre-commit.envflow-chained and runs it too)");
      return;
    }
    const fs::perms perms = fs::status(hook, ec).permissions();
    if (ec || (perms & fs::perms::owner_exec) == fs::perms::none) {
      add(Level::error, "hooks", hook.string() + " is not executable: git skips it",
          "chmod +x " + hook.string() + ", or " + mend);
      return;
    }
    add(Level::ok, "hooks", "envflow's pre-commit hook is installed");
  }

  void check_remote() {
    const std::string remote = m_repo.config_string("envflow.remote").value_or("origin");
    if (!m_repo.config_string("remote." + remote + ".url")) {
      return;
    }
    const std::string dir = m_repo.root();
    const auto fetch = util::run_process(
        {"git", "-C", dir, "config", "--get-all", "remote." + remote + ".fetch"});
    const std::string wanted = envflow_refspec(remote);
    bool found = false;
    bool old = false;
    for (const auto& line : util::split(fetch.out, '\n')) {
      const std::string_view spec = util::trim(line);
      found = found || spec == wanted;
      old = old || spec == k_old_envflow_refspec || spec == k_old_forced_envflow_refspec;
    }
    if (old) {
      add(Level::error, "remote",
          remote + " fetches envflow's refs onto this clone's own (refs/envflow/*:refs/envflow/*): "
                   "a rollback makes every git fetch fail and offline work is overwritten",
          "run `envflow setup` (it switches to " + wanted + ")");
      return;
    }
    if (!found) {
      add(Level::warning, "remote",
          remote + " does not fetch envflow's refs (" + wanted +
              "): envflow fetches them itself, plain git log does not show them",
          "run `envflow setup`");
      return;
    }
    add(Level::ok, "remote", remote + " fetches " + wanted);
  }

  const git::Repository& m_repo;
  const model::RefView& m_refs;
  content::ResultCache* m_cache;
  std::vector<Finding> m_findings;
  std::optional<policy::PipelineConfig> m_config;
  bool m_audit_readable = false;
  std::map<std::string, RefHistory> m_history;
  std::map<std::string, std::optional<policy::PipelineConfig>> m_policies;
};

} // namespace

const char* Finding::level_name(Level level) {
  static constexpr auto k_names = std::to_array<util::EnumName<Level>>(
      {{Level::ok, "ok"}, {Level::warning, "warning"}, {Level::error, "error"}});
  return util::name_of(k_names, level, "error").data();
}

std::vector<Finding> run_doctor(const git::Repository& repo, const model::RefView& refs,
                                content::ResultCache* cache) {
  return Doctor(repo, refs, cache).run();
}

std::vector<Finding> run_doctor(const pipeline::Session& session) {
  return run_doctor(session.repo(), session.refs(), session.cache());
}

} // namespace envflow::core::admin
