#include "core/server_hooks.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "content/kinds.h"
#include "content/schema.h"
#include "content/validator.h"
#include "content/variables.h"
#include "core/backport.h"
#include "core/diff.h"
#include "core/overrides.h"
#include "core/release.h"
#include "core/sources.h"
#include "core/sync.h"
#include "git/repo.h"
#include "sign/signer.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::core {

namespace {

constexpr const char* k_heads = "refs/heads/";
constexpr const char* k_tags = "refs/tags/";
constexpr const char* k_envflow_prefix = "refs/envflow/";
constexpr const char* k_backports = "refs/envflow/backports";
// Diagnostics shown per refused commit; the rest are counted.
constexpr size_t k_max_diagnostics = 20;
// Audit records post-receive reads back to find a client's own record of a move.
constexpr size_t k_audit_lookback = 10000;

bool is_zero(const std::string& id) { return id == git::k_zero_id; }

std::string short_id(const std::string& id) {
  return is_zero(id) ? std::string("(none)") : id.substr(0, 7);
}

std::optional<std::string> id_or_none(const std::string& id) {
  return is_zero(id) ? std::nullopt : std::optional<std::string>(id);
}

bool is_release_tag_name(const std::string& name) {
  const auto version = Version::parse(name);
  return version && version->str() == name;
}

std::string groups_text(const std::vector<std::string>& groups) {
  return groups.empty() ? std::string("none") : util::join(groups, ", ");
}

// Files a release manifest lists: the workspace file and the promoted folders.
bool is_release_item(const std::string& path) {
  if (path == content::k_workspace_file) {
    return true;
  }
  const content::KindInfo* kind = content::kind_by_folder(util::first_component(path));
  return kind != nullptr && kind->scope == content::Scope::promoted;
}

// What kind of ref a push moves, as far as the policy is concerned.
enum class RefKind { environment, release_tag, live, local, config, audit, backports, envflow_other,
                     other };

struct Classified {
  RefKind kind = RefKind::other;
  int env_index = -1; // environment / local: position in the pipeline (-1: unknown env)
  std::string name;   // tag name, local env name
};

Classified classify(const PipelineConfig& config, const std::string& ref) {
  Classified c;
  if (util::starts_with(ref, k_heads)) {
    if (const Environment* env = config.by_branch(ref.substr(std::string(k_heads).size()))) {
      c.kind = RefKind::environment;
      c.env_index = config.index_of(env->name);
      c.name = env->name;
    }
    return c;
  }
  if (util::starts_with(ref, k_tags)) {
    c.name = ref.substr(std::string(k_tags).size());
    if (is_release_tag_name(c.name)) {
      c.kind = RefKind::release_tag;
    }
    return c;
  }
  if (ref == k_live_ref) {
    c.kind = RefKind::live;
  } else if (ref == k_config_ref) {
    c.kind = RefKind::config;
  } else if (ref == k_audit_ref) {
    c.kind = RefKind::audit;
  } else if (ref == k_backports) {
    c.kind = RefKind::backports;
  } else if (util::starts_with(ref, k_local_ref_prefix)) {
    c.kind = RefKind::local;
    c.name = ref.substr(std::string(k_local_ref_prefix).size());
    c.env_index = config.index_of(c.name);
  } else if (util::starts_with(ref, k_envflow_prefix)) {
    c.kind = RefKind::envflow_other;
  }
  return c;
}

// Checks one push against one policy; collects refusals instead of throwing,
// so the pusher learns about every bad ref at once.
class PushChecker {
public:
  PushChecker(const git::Repository& repo, const PipelineConfig& config,
              const std::vector<RefMove>& updates, const Pusher& pusher, PushDecision& decision)
      : m_repo(repo), m_config(config), m_updates(updates), m_pusher(pusher),
        m_decision(decision) {}

  void check(const RefMove& move) {
    if (move.old_id == move.new_id) {
      return; // git asks about refs that do not move when a push names them
    }
    const Classified c = classify(m_config, move.ref);
    switch (c.kind) {
    case RefKind::environment:
      check_environment(move, static_cast<size_t>(c.env_index));
      break;
    case RefKind::release_tag:
      check_release_tag(move, c.name);
      break;
    case RefKind::live:
      check_live(move);
      break;
    case RefKind::local:
      check_local(move, c);
      break;
    case RefKind::config:
      check_config(move);
      break;
    case RefKind::audit:
      check_audit(move);
      break;
    case RefKind::backports:
      check_backports(move);
      break;
    case RefKind::envflow_other:
      if (!m_config.member(m_pusher.name, m_config.admins)) {
        refuse(move, "refs under refs/envflow/ belong to envflow; only admins (" +
                         groups_text(m_config.admins) + ") may push " + move.ref + ", and " +
                         who() + " is not one");
      }
      break;
    case RefKind::other:
      break; // feature branches, other tags, notes: not the pipeline's business
    }
  }

private:
  std::string who() const { return m_pusher.describe(); }

  void refuse(const RefMove& move, std::string reason) {
    m_decision.refusals.push_back(Refusal{move.ref, std::move(reason)});
  }

  void note(std::string text) { m_decision.notes.push_back(std::move(text)); }

  // The value `ref` has once this push is applied.
  std::optional<std::string> after(const std::string& ref) const {
    for (const auto& u : m_updates) {
      if (u.ref == ref) {
        return id_or_none(u.new_id);
      }
    }
    return m_repo.ref_target(ref);
  }

  bool is_commit(const std::string& id) const {
    try {
      m_repo.commit(id);
      return true;
    } catch (const util::Error&) {
      return false;
    }
  }

  bool contains(const std::optional<std::string>& head, const std::string& commit) const {
    return head && m_repo.is_ancestor(commit, *head);
  }

  // Deletion, non-commit and force-move checks shared by every ref holding a
  // history. Returns false when the move is refused.
  bool fast_forward(const RefMove& move, const std::string& what) {
    if (is_zero(move.new_id)) {
      refuse(move, "deleting " + what + " is not allowed (" + move.ref + ")");
      return false;
    }
    if (!is_commit(move.new_id)) {
      refuse(move, short_id(move.new_id) + " is not a commit; " + what + " holds commits only");
      return false;
    }
    if (!is_zero(move.old_id) && !m_repo.is_ancestor(move.old_id, move.new_id)) {
      refuse(move, "not a fast-forward: " + what + " is at " + short_id(move.old_id) +
                       ", which " + short_id(move.new_id) +
                       " does not contain; it is never force-moved or rewound (fetch, rebase or "
                       "merge, and push again)");
      return false;
    }
    return true;
  }

  // The issue files at backports commit `id` (or none), by file name.
  std::map<std::string, git::TreeEntry> issue_files(const std::string& id) const {
    std::map<std::string, git::TreeEntry> files;
    if (!is_zero(id)) {
      for (auto& entry : m_repo.list_tree(id)) {
        files.emplace(entry.path, std::move(entry));
      }
    }
    return files;
  }

  // refs/envflow/backports: fast-forward, and from anyone but an admin only
  // the changes envflow itself makes: a hotfixer opens an issue for hotfix
  // commits on the last environment; anyone closes an open issue once every
  // hotfix commit is in the first environment. Nothing else: no issue is
  // deleted, reopened, closed early or rewritten (a hand edit could hide a
  // hotfix that was never brought back). Admins may mend issues by hand.
  void check_backports(const RefMove& move) {
    if (!fast_forward(move, "the back-port issues")) {
      return;
    }
    if (m_config.member(m_pusher.name, m_config.admins)) {
      return;
    }
    const std::string mend = " (only envflow's own changes are accepted from " + who() +
                             "; an admin (" + groups_text(m_config.admins) +
                             ") may mend issues by hand)";
    const auto before = issue_files(move.old_id);
    const auto now = issue_files(move.new_id);
    for (const auto& [path, entry] : before) {
      if (!now.contains(path)) {
        refuse(move, "back-port issue " + path + " is deleted: issues are never deleted" + mend);
        return;
      }
    }
    const auto first_head = after(k_heads + m_config.first().branch);
    const auto last_head = after(k_heads + m_config.last().branch);
    for (const auto& [path, entry] : now) {
      const auto old = before.find(path);
      if (old != before.end() && old->second.id == entry.id) {
        continue;
      }
      const std::string where = std::string(k_backports) + ":" + path;
      if (path.find('/') != std::string::npos || !util::ends_with(path, ".yaml") ||
          entry.mode != git::Mode::regular) {
        refuse(move, where + " is not a back-port issue file (<id>.yaml)" + mend);
        return;
      }
      if (m_repo.blob_size(entry.id) > m_config.max_file_size) {
        refuse(move, where + " is over the " + std::to_string(m_config.max_file_size) +
                         "-byte limit (validation.max_file_size)" + mend);
        return;
      }
      BackportIssue issue;
      try {
        issue = BackportIssue::parse(m_repo.read_blob(entry.id), where);
      } catch (const util::Refused& e) {
        refuse(move, e.what());
        return;
      }
      if (issue.file_name() != path) {
        refuse(move, where + " holds issue " + std::to_string(issue.id) + " but is named " + path);
        return;
      }
      if (old == before.end()) {
        if (!m_config.member(m_pusher.name, m_config.hotfixers)) {
          refuse(move, "back-port issue " + std::to_string(issue.id) + " is opened by " + who() +
                           ", who is not a hotfixer (" + groups_text(m_config.hotfixers) + ")" +
                           mend);
          return;
        }
        if (!issue.is_open() || !last_head || !contains_hotfix(m_repo, issue, *last_head)) {
          refuse(move, "back-port issue " + std::to_string(issue.id) +
                           " must be opened open, for hotfix commits on " + m_config.last().name +
                           " (after this push)" + mend);
          return;
        }
        continue;
      }
      BackportIssue was;
      try {
        was = BackportIssue::parse(m_repo.read_blob(old->second.id), where);
      } catch (const util::Refused& e) {
        refuse(move, std::string("the issue on the server is malformed: ") + e.what() + mend);
        return;
      }
      // Only the closing fields may change, and only from open to closed.
      nlohmann::json fixed_now = issue.to_json();
      nlohmann::json fixed_was = was.to_json();
      for (const char* key : {"status", "closed_by", "closed_at", "closed_in"}) {
        fixed_now.erase(key);
        fixed_was.erase(key);
      }
      const std::string name = "back-port issue " + std::to_string(issue.id);
      if (fixed_now != fixed_was) {
        refuse(move, name + " is rewritten (only its status changes, from open to closed)" + mend);
        return;
      }
      if (!was.is_open()) {
        refuse(move, name + " is closed; a closed issue never changes" + mend);
        return;
      }
      if (issue.is_open()) {
        refuse(move, name + " changes but stays open" + mend);
        return;
      }
      if (!first_head || !contains_hotfix(m_repo, issue, *first_head) ||
          (!issue.closed_in.empty() && !contains_hotfix(m_repo, issue, issue.closed_in)) ||
          (!issue.closed_in.empty() && !m_repo.is_ancestor(issue.closed_in, *first_head))) {
        refuse(move, name + " is closed, but its hotfix commits are not all in " +
                         m_config.first().name + " (after this push): bring the hotfix back "
                         "with envflow backport apply " + std::to_string(issue.id) +
                         "; the issue then closes by itself" + mend);
        return;
      }
    }
  }

  // Commits the move brings into `move.ref`: what the ref did not contain.
  std::vector<std::string> entering(const RefMove& move) const {
    if (!is_zero(move.old_id)) {
      return m_repo.commits_between(move.old_id, move.new_id);
    }
    std::vector<std::string> hidden;
    for (const auto& env : m_config.environments) {
      if (auto head = m_repo.ref_target(k_heads + env.branch)) {
        hidden.push_back(*head);
      }
    }
    return m_repo.commits_excluding(move.new_id, hidden);
  }

  // Validate every commit's tree; stop at the first one that fails.
  void validate_commits(const RefMove& move, const std::string& env,
                        const std::vector<std::string>& commits) {
    std::set<std::string> trees;
    for (const auto& id : commits) {
      const git::CommitInfo info = m_repo.commit(id);
      if (!trees.insert(info.tree).second) {
        continue;
      }
      const std::string base = info.parents.empty() ? std::string() : info.parents.front();
      std::set<std::string> changed;
      for (const auto& change : m_repo.diff_trees(base, id)) {
        changed.insert(change.path);
      }
      if (changed.empty()) {
        continue; // same tree as its parent (e.g. an empty merge): nothing new to check
      }
      // Every file is loaded so references resolve across the tree, but only
      // the changed files are reported in full. Reference findings are kept
      // wherever they are: removing an agent breaks the unchanged workflow
      // that calls it, and ValidateOptions::only would hide that.
      content::ValidateOptions options;
      options.max_file_size = m_config.max_file_size;
      options.scope = content::Scope::promoted;
      TreeSource source(m_repo, id);
      const content::ValidationReport report =
          content::validate(source, options, content::SchemaSet::builtin());
      std::vector<std::string> lines;
      size_t errors = 0;
      for (const auto& d : report.diagnostics) {
        if (d.severity != content::Severity::error ||
            (!changed.contains(d.path) && !util::starts_with(d.rule, "ref-"))) {
          continue;
        }
        if (++errors <= k_max_diagnostics) {
          lines.push_back("  " + d.to_text());
        }
      }
      if (errors == 0) {
        continue;
      }
      std::string reason = "commit " + short_id(id) + " (" + info.summary + ") does not validate (" +
                           std::to_string(errors) + " problem" + (errors == 1 ? "" : "s") +
                           "); nothing invalid reaches " + env + ":";
      for (const auto& line : lines) {
        reason += "\n" + line;
      }
      if (errors > lines.size()) {
        reason += "\n  ... and " + std::to_string(errors - lines.size()) + " more";
      }
      reason += "\n  (fix it, check with envflow validate, and push again)";
      refuse(move, reason);
      return;
    }
  }

  // Overrides of `env` (as they are after this push) that `commit`'s content
  // would not accept; each line names the variable.
  std::vector<std::string> override_problems(const Environment& env, const std::string& commit,
                                             const std::map<std::string, content::Value>& values) {
    std::vector<std::string> problems;
    if (values.empty()) {
      return problems;
    }
    const auto declared = declared_variables(m_repo, commit);
    for (const auto& [name, value] : values) {
      const auto it = declared.find(name);
      if (it == declared.end()) {
        problems.push_back(name + ": " + env.name + " (" + short_id(commit) +
                           ") declares no such variable");
        continue;
      }
      if (const std::string problem =
              content::check_variable_value(it->second.type, it->second.values, value);
          !problem.empty()) {
        problems.push_back(name + ": value " + emit_value(value) + " does not fit " +
                           it->second.path + " (type " + it->second.type + "): " + problem);
      }
    }
    return problems;
  }

  // The overrides stored at local-ref commit `local`; refuses and returns
  // nullopt when overrides.yaml does not parse.
  std::optional<std::map<std::string, content::Value>>
  overrides_at(const RefMove& move, const std::string& env, const std::optional<std::string>& local) {
    if (!local) {
      return std::map<std::string, content::Value>{};
    }
    const auto text = m_repo.read_path(*local, k_overrides_file);
    if (!text) {
      return std::map<std::string, content::Value>{};
    }
    try {
      return parse_overrides(*text, local_ref(env) + ":" + k_overrides_file);
    } catch (const util::Refused& e) {
      refuse(move, e.what());
      return std::nullopt;
    }
  }

  void check_overrides_fit(const RefMove& move, const Environment& env) {
    const auto values = overrides_at(move, env.name, after(local_ref(env.name)));
    if (!values) {
      return;
    }
    const auto problems = override_problems(env, move.new_id, *values);
    if (!problems.empty()) {
      refuse(move, "this would leave the variable overrides of " + env.name + " invalid:\n  " +
                       util::join(problems, "\n  ") +
                       "\n  (fix them first: envflow var set/unset --env " + env.name + ")");
    }
  }

  void check_environment(const RefMove& move, size_t index) {
    const Environment& env = m_config.environments[index];
    if (!fast_forward(move, "the branch of environment " + env.name)) {
      return;
    }
    if (index == 0) {
      if (!m_config.member(m_pusher.name, env.write)) {
        refuse(move, who() + " may not push to " + env.name + " (write groups: " +
                         groups_text(env.write) + ")");
        return;
      }
      const auto commits = entering(move);
      validate_commits(move, env.name, commits);
      note(env.name + ": " + std::to_string(commits.size()) + " commit(s) validated, " +
           short_id(move.old_id) + ".." + short_id(move.new_id));
      return;
    }
    const Environment& previous = m_config.environments[index - 1];
    const bool last = index + 1 == m_config.environments.size();
    const auto previous_head = after(k_heads + previous.branch);
    if (contains(previous_head, move.new_id)) {
      if (!m_config.member(m_pusher.name, env.promote)) {
        refuse(move, who() + " may not promote into " + env.name + " (promote groups: " +
                         groups_text(env.promote) + ")");
        return;
      }
      if (env.approvals > 0) {
        auto approvals = approvals_for(m_repo, m_config, env, move.new_id);
        approvals.erase(std::remove(approvals.begin(), approvals.end(), m_pusher.name),
                        approvals.end());
        if (static_cast<int>(approvals.size()) < env.approvals) {
          std::string reason = "promoting " + short_id(move.new_id) + " into " + env.name +
                               " needs " + std::to_string(env.approvals) + " approval" +
                               (env.approvals == 1 ? "" : "s") + " from " +
                               groups_text(env.approvers) + " (not counting " + m_pusher.name +
                               "), has " + std::to_string(approvals.size());
          if (!approvals.empty()) {
            reason += " (" + util::join(approvals, ", ") + ")";
          }
          reason += "; approvers run envflow approve " + env.name + " --rev " +
                    short_id(move.new_id) + " and push refs/envflow/audit";
          refuse(move, reason);
          return;
        }
      }
      check_overrides_fit(move, env);
      note(env.name + ": promotion from " + previous.name + ", " + short_id(move.old_id) + ".." +
           short_id(move.new_id));
      return;
    }
    if (!last) {
      refuse(move, short_id(move.new_id) + " is not contained in " + previous.name +
                       " (after this push): " + env.name + " moves only by promotion from " +
                       previous.name + " (envflow sync " + previous.name + ")");
      return;
    }
    // The last environment also takes hotfix commits: ones the previous
    // environment does not contain, pushed by a hotfixer.
    if (!m_config.member(m_pusher.name, m_config.hotfixers)) {
      refuse(move, short_id(move.new_id) + " is not contained in " + previous.name +
                       " (after this push): " + env.name + " moves by promotion from " +
                       previous.name + " (envflow sync " + previous.name +
                       "), or by a hotfix pushed by a hotfixer (" +
                       groups_text(m_config.hotfixers) + "), and " + who() + " is not one");
      return;
    }
    const auto commits = entering(move);
    for (const auto& id : commits) {
      if (contains(previous_head, id)) {
        refuse(move, "this push mixes a promotion from " + previous.name + " (" + short_id(id) +
                         ") with hotfix commits; push the promotion first, then the hotfix");
        return;
      }
    }
    validate_commits(move, env.name, commits);
    check_overrides_fit(move, env);
    note(env.name + ": hotfix of " + std::to_string(commits.size()) + " commit(s) by " +
         m_pusher.name + ", " + short_id(move.old_id) + ".." + short_id(move.new_id));
  }

  // Signature (when the policy requires one) and manifest of a release tag.
  std::vector<std::string> verify_tag(const git::TagInfo& tag, const std::string& name) const {
    std::vector<std::string> problems;
    if (m_config.release_sign) {
      std::string payload;
      std::string signature;
      sign::Format format{};
      if (!sign::split_signature(tag.raw, payload, signature, format)) {
        problems.push_back(name + " is not signed, and the policy requires signed releases "
                                  "(release.sign); publish with envflow publish and a signing key");
      } else {
        const auto config_head = m_repo.ref_target(k_config_ref);
        const auto trusted =
            m_config.release_allowed_signers.empty() || !config_head
                ? std::nullopt
                : m_repo.read_path(*config_head, m_config.release_allowed_signers);
        if (!trusted) {
          problems.push_back("the policy names no allowed signers (release.allowed_signers, a "
                             "file on refs/envflow/config): no signature can be trusted");
        } else {
          const auto verification = sign::verify(format, *trusted, payload, signature);
          if (!verification.good) {
            problems.push_back(sign::format_name(format) + " signature of " + name +
                               " is not by an allowed signer: " + verification.detail);
          }
        }
      }
    }
    const auto manifest = Manifest::parse(tag.message);
    if (!manifest) {
      problems.push_back(name + " has no readable envflow manifest in its message");
      return problems;
    }
    if (manifest->commit != tag.target) {
      problems.push_back("manifest commit " + short_id(manifest->commit) +
                         " is not the tagged commit " + short_id(tag.target));
    }
    if (manifest->version != name) {
      problems.push_back("manifest version " + manifest->version + " is not the tag name " + name);
    }
    std::map<std::string, std::string> expected(manifest->items.begin(), manifest->items.end());
    std::map<std::string, std::string> found;
    for (const auto& entry : m_repo.list_tree(tag.target)) {
      if (is_release_item(entry.path)) {
        found.emplace(entry.path, entry.id);
      }
    }
    if (expected != found) {
      problems.push_back("the manifest of " + name + " does not match the tagged tree");
    }
    return problems;
  }

  bool may_release() const {
    return m_config.member(m_pusher.name, m_config.publishers) ||
           m_config.member(m_pusher.name, m_config.hotfixers);
  }

  void check_release_tag(const RefMove& move, const std::string& name) {
    if (is_zero(move.new_id)) {
      refuse(move, "release tags are never deleted (" + name + ")");
      return;
    }
    if (!is_zero(move.old_id)) {
      refuse(move, "release tags are never moved: " + name + " already points at " +
                       short_id(move.old_id) + " (publish a new version instead)");
      return;
    }
    if (!may_release()) {
      refuse(move, who() + " may not create release tags (publishers: " +
                       groups_text(m_config.publishers) + "; hotfixers: " +
                       groups_text(m_config.hotfixers) + ")");
      return;
    }
    const auto tag = m_repo.tag(move.new_id);
    if (!tag) {
      refuse(move, name + " is a lightweight tag; a release tag is annotated (envflow publish "
                          "makes it)");
      return;
    }
    if (tag->name != name) {
      refuse(move, "the tag object is named " + tag->name + " but is pushed as " + name);
      return;
    }
    const Environment& last = m_config.last();
    if (tag->target_type != "commit" || !contains(after(k_heads + last.branch), tag->target)) {
      refuse(move, name + " points at " + short_id(tag->target) + ", which is not a commit of " +
                       last.name + " (after this push): releases are made from " + last.name);
      return;
    }
    if (const auto problems = verify_tag(*tag, name); !problems.empty()) {
      refuse(move, name + " does not verify:\n  " + util::join(problems, "\n  "));
      return;
    }
    note("release " + name + " of " + short_id(tag->target));
  }

  void check_live(const RefMove& move) {
    if (is_zero(move.new_id)) {
      refuse(move, "deleting refs/envflow/live is not allowed (roll back with envflow rollback)");
      return;
    }
    if (!may_release()) {
      refuse(move, who() + " may not move refs/envflow/live (publishers: " +
                       groups_text(m_config.publishers) + "; hotfixers: " +
                       groups_text(m_config.hotfixers) + ")");
      return;
    }
    for (const auto& u : m_updates) {
      if (u.new_id == move.new_id && classify(m_config, u.ref).kind == RefKind::release_tag) {
        return; // a release created by this push: checked as a tag
      }
    }
    for (const auto& ref : m_repo.list_refs("refs/tags/v*")) {
      const std::string name = ref.substr(std::string(k_tags).size());
      if (!is_release_tag_name(name) || m_repo.ref_target(ref) != move.new_id) {
        continue;
      }
      const auto tag = m_repo.tag(move.new_id);
      if (!tag) {
        break;
      }
      if (const auto problems = verify_tag(*tag, name); !problems.empty()) {
        refuse(move, "live cannot point at " + name + ", which does not verify:\n  " +
                         util::join(problems, "\n  "));
      }
      return;
    }
    refuse(move, "refs/envflow/live must point at a release tag object (refs/tags/vX.Y.Z); " +
                     short_id(move.new_id) + " is none");
  }

  void check_local(const RefMove& move, const Classified& c) {
    if (c.env_index < 0) {
      refuse(move, "there is no environment named '" + c.name + "' in the pipeline");
      return;
    }
    const Environment& env = m_config.environments[static_cast<size_t>(c.env_index)];
    if (!fast_forward(move, "the local data of " + env.name)) {
      return;
    }
    if (!m_config.member(m_pusher.name, env.local)) {
      refuse(move, who() + " may not change the local data of " + env.name + " (local groups: " +
                       groups_text(env.local) + ")");
      return;
    }
    content::ValidateOptions options;
    options.max_file_size = m_config.max_file_size;
    options.scope = content::Scope::local;
    TreeSource source(m_repo, move.new_id);
    const auto report = content::validate(source, options, content::SchemaSet::builtin());
    if (!report.ok()) {
      std::vector<std::string> lines;
      for (const auto& d : report.diagnostics) {
        if (d.severity == content::Severity::error && lines.size() < k_max_diagnostics) {
          lines.push_back(d.to_text());
        }
      }
      refuse(move, "the local data of " + env.name + " does not validate:\n  " +
                       util::join(lines, "\n  "));
      return;
    }
    const auto values = overrides_at(move, env.name, move.new_id);
    if (!values) {
      return;
    }
    if (c.env_index == 0 && !values->empty()) {
      refuse(move, env.name + " is the first environment and takes no overrides: change the "
                              "variables' defaults on " + env.name + " instead");
      return;
    }
    const auto head = after(k_heads + env.branch);
    if (!head) {
      if (!values->empty()) {
        refuse(move, "the branch of " + env.name + " does not exist: nothing declares the "
                     "overridden variables");
      }
      return;
    }
    if (const auto problems = override_problems(env, *head, *values); !problems.empty()) {
      refuse(move, "overrides of " + env.name + " do not fit its variables:\n  " +
                       util::join(problems, "\n  "));
      return;
    }
    note(env.name + ": local data " + short_id(move.new_id) + " accepted");
  }

  void check_config(const RefMove& move) {
    if (!fast_forward(move, "the pipeline config")) {
      return;
    }
    if (!m_config.member(m_pusher.name, m_config.admins)) {
      refuse(move, who() + " may not change the pipeline config (admins: " +
                       groups_text(m_config.admins) + ")");
      return;
    }
    check_config_text(m_repo, move, m_decision);
  }

  // Every move the server's audit trail (before this push) records.
  const std::set<std::tuple<std::string, std::string, std::string>>&
  recorded_moves(const RefMove& audit_move) {
    if (!m_recorded) {
      m_recorded.emplace();
      if (!is_zero(audit_move.old_id)) {
        for (const auto& id : m_repo.commits_between("", audit_move.old_id)) {
          if (const auto record = AuditRecord::from_message(m_repo.commit(id).message)) {
            for (const auto& m : record->moves) {
              m_recorded->emplace(m.ref, m.old_id, m.new_id);
            }
          }
        }
      }
    }
    return *m_recorded;
  }

  void check_audit(const RefMove& move) {
    if (!fast_forward(move, "the audit trail")) {
      return;
    }
    auto commits = is_zero(move.old_id) ? m_repo.commits_between("", move.new_id)
                                        : m_repo.commits_between(move.old_id, move.new_id);
    std::reverse(commits.begin(), commits.end()); // oldest first
    std::map<std::tuple<std::string, std::string, std::string>, std::string> pushed; // move -> record
    for (const auto& id : commits) {
      const auto record = AuditRecord::from_message(m_repo.commit(id).message);
      if (!record) {
        refuse(move, "commit " + short_id(id) + " on the audit trail is not an audit record");
        return;
      }
      // Approvals and other records count as the actor's word: only that
      // actor may bring them to the server.
      if (record->actor != m_pusher.name) {
        refuse(move, "audit record " + short_id(id) + " (" + record->op + ") is by " +
                         record->actor + ", but the push comes from " + who() +
                         ": everyone pushes their own records");
        return;
      }
      for (const auto& recorded : record->moves) {
        const bool in_push = std::any_of(m_updates.begin(), m_updates.end(), [&](const RefMove& u) {
          return u.ref == recorded.ref && u.old_id == recorded.old_id &&
                 u.new_id == recorded.new_id;
        });
        const bool done = recorded.old_id != recorded.new_id &&
                          m_repo.ref_target(recorded.ref).value_or(std::string(git::k_zero_id)) ==
                              recorded.new_id;
        if (!in_push && !done) {
          refuse(move, "audit record " + short_id(id) + " (" + record->op + ") records " +
                           recorded.ref + " " + short_id(recorded.old_id) + " -> " +
                           short_id(recorded.new_id) +
                           ", which this push does not do; push the ref with its record: git "
                           "push --atomic origin <refs> refs/envflow/audit");
          return;
        }
        // Exactly one record per move: a second record of a move (replayed
        // from an older record, or twice in this push) is refused.
        const std::tuple key{recorded.ref, recorded.old_id, recorded.new_id};
        const auto twice = pushed.find(key);
        const bool on_trail = twice == pushed.end() && !in_push && recorded_moves(move).contains(key);
        if (twice != pushed.end() || on_trail) {
          refuse(move, "audit record " + short_id(id) + " (" + record->op + ") records " +
                           recorded.ref + " " + short_id(recorded.old_id) + " -> " +
                           short_id(recorded.new_id) + ", which " +
                           (on_trail ? std::string("the audit trail already records")
                                     : "record " + short_id(twice->second) + " of this push "
                                       "records too") +
                           ": every move has exactly one record");
          return;
        }
        pushed.emplace(key, id);
      }
    }
  }

public:
  // The config text at `move.new_id` must parse and validate.
  static void check_config_text(const git::Repository& repo, const RefMove& move,
                                PushDecision& decision) {
    const auto text = repo.read_path(move.new_id, k_config_file);
    if (!text) {
      decision.refusals.push_back(
          Refusal{move.ref, std::string("the pushed config has no ") + k_config_file});
      return;
    }
    std::vector<content::Diagnostic> problems;
    const auto parsed =
        parse_config(*text, std::string(k_config_ref) + ":" + k_config_file, problems);
    if (!parsed) {
      std::string reason = "the pushed config is invalid:";
      for (const auto& d : problems) {
        reason += "\n  " + d.to_text();
      }
      decision.refusals.push_back(Refusal{move.ref, reason});
      return;
    }
    if (!parsed->release_allowed_signers.empty() &&
        !repo.read_path(move.new_id, parsed->release_allowed_signers)) {
      decision.refusals.push_back(
          Refusal{move.ref, "release.allowed_signers names " + parsed->release_allowed_signers +
                                ", which the pushed config commit lacks (add it with envflow "
                                "config put)"});
      return;
    }
    decision.notes.push_back("config " + short_id(move.new_id) + " accepted");
  }

private:
  const git::Repository& m_repo;
  const PipelineConfig& m_config;
  const std::vector<RefMove>& m_updates;
  const Pusher& m_pusher;
  PushDecision& m_decision;
  // Moves the server's audit trail records, read when first needed.
  std::optional<std::set<std::tuple<std::string, std::string, std::string>>> m_recorded;
};

} // namespace

std::string Pusher::describe() const {
  if (name.empty()) {
    return "an unknown pusher";
  }
  return source.empty() ? name : name + " (" + source + ")";
}

std::optional<std::string> process_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) {
    return std::nullopt;
  }
  return std::string(value);
}

Pusher identify_pusher(const PipelineConfig* config, const EnvLookup& env) {
  const PipelineConfig defaults;
  const PipelineConfig& policy = config != nullptr ? *config : defaults;
  Pusher pusher;
  for (const auto& variable : policy.identity_env) {
    if (auto value = env(variable); value && !util::trim(*value).empty()) {
      pusher.name = std::string(util::trim(*value));
      pusher.source = variable;
      pusher.authenticated = true;
      return pusher;
    }
  }
  if (!policy.identity_required) {
    if (auto value = env("ENVFLOW_ACTOR"); value && !util::trim(*value).empty()) {
      pusher.name = std::string(util::trim(*value));
      pusher.source = "ENVFLOW_ACTOR, unauthenticated";
    }
  }
  return pusher;
}

std::vector<RefMove> parse_ref_updates(const std::string& text) {
  std::vector<RefMove> updates;
  size_t number = 0;
  for (const auto& raw : util::split(text, '\n')) {
    ++number;
    const std::string line(util::trim(raw));
    if (line.empty()) {
      continue;
    }
    const auto parts = util::split(line, ' ');
    const auto is_id = [](const std::string& s) {
      return s.size() == git::k_zero_id.size() &&
             std::all_of(s.begin(), s.end(), [](char ch) {
               return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
             });
    };
    if (parts.size() != 3 || !is_id(parts[0]) || !is_id(parts[1]) || parts[2].empty()) {
      throw util::UsageError("line " + std::to_string(number) +
                             " of the hook's input is not 'OLD NEW REF': " + line);
    }
    updates.push_back(RefMove{parts[2], parts[0], parts[1]});
  }
  return updates;
}

PushDecision decide_push(const git::Repository& repo, const std::vector<RefMove>& updates,
                         const Pusher& pusher) {
  PushDecision decision;
  std::optional<PipelineConfig> config;
  try {
    config = load_config(repo);
  } catch (const util::Refused& e) {
    decision.refusals.push_back(
        Refusal{"", std::string("the policy in force on the server is unreadable, so nothing is "
                                "accepted until an admin mends it on the server: ") +
                        e.what()});
    return decision;
  }
  if (!config) {
    // No pipeline yet: a repository is being seeded. Only the config itself is checked.
    for (const auto& move : updates) {
      if (move.ref == k_config_ref && !is_zero(move.new_id)) {
        PushChecker::check_config_text(repo, move, decision);
      }
    }
    decision.notes.push_back("no policy on this server yet (refs/envflow/config is missing): "
                             "accepted without checks");
    return decision;
  }
  if (config->identity_required && !pusher.authenticated) {
    decision.refusals.push_back(Refusal{
        "", "the server did not say who is pushing (none of " +
                util::join(config->identity_env, ", ") +
                " is set) and the policy requires a known pusher (identity.required); push "
                "through the forge or web server that authenticates you"});
    return decision;
  }
  PushChecker checker(repo, *config, updates, pusher, decision);
  for (const auto& move : updates) {
    try {
      checker.check(move);
    } catch (const util::Error& e) {
      decision.refusals.push_back(Refusal{move.ref, std::string("cannot check it: ") + e.what()});
    }
  }
  return decision;
}

namespace {

// What post-receive records for `move`, or nullopt when the ref is not one
// whose moves the audit trail must hold.
std::optional<AuditRecord> record_for(const git::Repository& repo, const PipelineConfig& config,
                                      const RefMove& move, const Pusher& pusher) {
  const Classified c = classify(config, move.ref);
  AuditRecord record;
  record.op = "push";
  record.actor = pusher.name.empty() ? std::string("unknown") : pusher.name;
  record.moves.push_back(move);
  record.commit = is_zero(move.new_id) ? std::string() : move.new_id;
  switch (c.kind) {
  case RefKind::environment: {
    const auto index = static_cast<size_t>(c.env_index);
    const Environment& env = config.environments[index];
    record.env = env.name;
    if (index == 0) {
      record.note = "push to " + env.name;
      break;
    }
    const Environment& previous = config.environments[index - 1];
    const auto previous_head = repo.ref_target(k_heads + previous.branch);
    if (!is_zero(move.new_id) && previous_head && repo.is_ancestor(move.new_id, *previous_head)) {
      record.note = "promotion " + previous.name + " -> " + env.name;
      auto approvals = approvals_for(repo, config, env, move.new_id);
      approvals.erase(std::remove(approvals.begin(), approvals.end(), pusher.name),
                      approvals.end());
      record.approvals = approvals;
    } else {
      record.note = "hotfix on " + env.name;
    }
    break;
  }
  case RefKind::release_tag:
    record.env = config.last().name;
    record.note = "release " + c.name;
    if (!is_zero(move.new_id)) {
      if (const auto tag = repo.tag(move.new_id)) {
        record.commit = tag->target;
      }
    }
    break;
  case RefKind::live:
    record.env = config.last().name;
    record.note = "live";
    for (const auto& release : list_releases(repo)) {
      if (release.tag_id == move.new_id) {
        record.note = "live -> " + release.tag;
        record.commit = release.commit;
      }
    }
    break;
  case RefKind::local:
    record.env = c.name;
    record.note = "local data of " + c.name;
    break;
  case RefKind::config:
    record.note = "pipeline config";
    break;
  case RefKind::backports:
    // Only an admin's hand edit arrives without envflow's own record.
    record.note = "back-port issues";
    break;
  default:
    return std::nullopt;
  }
  if (!pusher.source.empty()) {
    record.note += " (pusher from " + pusher.source + ")";
  }
  return record;
}

bool mentions(const AuditRecord& record, const std::string& ref) {
  return std::any_of(record.moves.begin(), record.moves.end(),
                     [&](const RefMove& m) { return m.ref == ref; });
}

// A hotfix pushed straight onto the last environment (not through
// `envflow hotfix finish`, which stores its issue with the push) gets its
// back-port issue here, so no hotfix goes untracked.
void open_pushed_hotfix_backports(git::Repository& repo, const PipelineConfig& config,
                                  const std::vector<RefMove>& updates, const Pusher& pusher,
                                  PushRecord& result) {
  const Environment& last = config.last();
  const Environment& previous = config.environments[config.environments.size() - 2];
  for (const auto& move : updates) {
    if (move.ref != k_heads + last.branch || is_zero(move.old_id) || is_zero(move.new_id)) {
      continue;
    }
    const auto previous_head = repo.ref_target(k_heads + previous.branch);
    if (previous_head && repo.is_ancestor(move.new_id, *previous_head)) {
      continue; // a promotion, not a hotfix
    }
    std::vector<std::string> commits = repo.commits_between(move.old_id, move.new_id);
    std::reverse(commits.begin(), commits.end()); // oldest first
    const std::string actor = pusher.name.empty() ? std::string("unknown") : pusher.name;
    for (int attempt = 1; attempt <= 20; ++attempt) {
      const auto head = repo.ref_target("refs/envflow/backports");
      const std::vector<BackportIssue> issues = read_backports(repo);
      const bool tracked = std::any_of(issues.begin(), issues.end(), [&](const BackportIssue& b) {
        return std::all_of(commits.begin(), commits.end(), [&](const std::string& c) {
          return std::find(b.commits.begin(), b.commits.end(), c) != b.commits.end();
        });
      });
      if (tracked) {
        break;
      }
      BackportIssue issue;
      for (const auto& existing : issues) {
        issue.id = std::max(issue.id, existing.id);
      }
      issue.id += 1;
      issue.hotfix = "push";
      issue.commits = commits;
      for (const auto& item : semantic_diff(repo, move.old_id, move.new_id).items) {
        issue.changes.push_back(BackportChange{item.path, item.kind, item.name,
                                               std::string(change_name(item.change)),
                                               item.fields});
      }
      issue.summary = repo.commit(move.new_id).summary;
      issue.environment = last.name;
      issue.target = config.first().name;
      issue.opened_by = actor;
      issue.opened_at = now();
      for (const auto& release : list_releases(repo)) {
        if (release.commit == move.new_id) {
          issue.hotfix_tag = release.tag;
        }
      }
      AuditRecord record;
      record.op = "backport-open";
      record.env = last.name;
      record.actor = actor;
      record.commit = move.new_id;
      record.note = "back-port issue " + std::to_string(issue.id) + " for a hotfix pushed to " +
                    last.name;
      try {
        commit_with_audit(repo,
                          {stage_backports(repo, head, {issue},
                                           "open back-port issue " + std::to_string(issue.id) +
                                               " for a pushed hotfix\n",
                                           actor)},
                          record);
        result.notes.push_back("back-port issue " + std::to_string(issue.id) +
                               " opened: bring the hotfix into " + config.first().name +
                               " with envflow backport apply " + std::to_string(issue.id));
        break;
      } catch (const git::RefConflict&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5 * attempt));
      }
    }
  }
}

} // namespace

PushRecord record_push(git::Repository& repo, const std::vector<RefMove>& updates,
                       const Pusher& pusher) {
  PushRecord result;
  const auto config = load_config(repo);
  if (!config) {
    return result; // no pipeline: nothing to audit
  }
  std::vector<AuditRecord> pending;
  for (const auto& move : updates) {
    if (move.old_id == move.new_id) {
      continue;
    }
    if (auto record = record_for(repo, *config, move, pusher)) {
      pending.push_back(std::move(*record));
    }
  }
  if (pending.empty()) {
    return result;
  }

  // A move is already recorded when the newest record that mentions its ref
  // records exactly it (the client pushed the record along with the ref).
  // Looking at the newest mention only, not any mention, keeps a move that
  // repeats (live A -> B, back to A, to B again) from being mistaken for one
  // recorded before.
  std::map<std::string, std::optional<RefMove>> newest; // ref -> newest recorded move of it
  if (const auto head = repo.ref_target(k_audit_ref)) {
    size_t looked = 0;
    for (const auto& id : repo.commits_between("", *head)) {
      if (++looked > k_audit_lookback || newest.size() == pending.size()) {
        break;
      }
      const auto record = AuditRecord::from_message(repo.commit(id).message);
      if (!record) {
        continue;
      }
      for (const auto& p : pending) {
        const std::string& ref = p.moves.front().ref;
        if (newest.contains(ref) || !mentions(*record, ref)) {
          continue;
        }
        for (const auto& m : record->moves) {
          if (m.ref == ref) {
            newest[ref] = m;
          }
        }
      }
    }
  }
  std::vector<AuditRecord> records;
  for (auto& p : pending) {
    const RefMove& move = p.moves.front();
    const auto it = newest.find(move.ref);
    if (it != newest.end() && it->second && it->second->old_id == move.old_id &&
        it->second->new_id == move.new_id) {
      result.already.push_back(move);
      continue;
    }
    records.push_back(std::move(p));
  }
  if (records.empty()) {
    return result;
  }

  const std::int64_t time = now();
  const std::string tool = std::string("envflow ") + ENVFLOW_VERSION;
  for (auto& record : records) {
    record.time = time;
    record.tool = tool;
  }
  const std::string& actor = records.front().actor;
  const git::Person person{actor, actor.find('@') != std::string::npos ? actor
                                                                        : "envflow@localhost"};
  constexpr int k_attempts = 50;
  for (int attempt = 1;; ++attempt) {
    const std::optional<std::string> head = repo.ref_target(k_audit_ref);
    std::optional<std::string> tip = head;
    for (const auto& record : records) {
      std::vector<std::string> parents;
      if (tip) {
        parents.push_back(*tip);
      }
      tip = repo.write_commit(std::string(git::k_empty_tree_id), parents, record.to_message(),
                              person, record.time);
    }
    try {
      repo.update_refs({git::RefUpdate{k_audit_ref, head, *tip}}, "envflow: push");
      break;
    } catch (const git::RefConflict&) {
      // Another push appended first: back off a little, re-parent, retry.
      std::this_thread::sleep_for(std::chrono::milliseconds(1 + (attempt * 7) % 23));
      if (attempt == k_attempts) {
        throw util::IoError("the audit trail kept moving; could not append the push's records "
                            "after " + std::to_string(k_attempts) + " attempts");
      }
    }
  }
  result.appended = std::move(records);
  open_pushed_hotfix_backports(repo, *config, updates, pusher, result);
  return result;
}

} // namespace envflow::core
