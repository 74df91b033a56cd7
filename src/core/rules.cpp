#include "core/rules.h"

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "content/kinds.h"
#include "content/schema.h"
#include "content/validator.h"
#include "core/approvals.h"
#include "core/backport.h"
#include "core/checks.h"
#include "core/diff.h"
#include "core/hold.h"
#include "core/overrides.h"
#include "core/release.h"
#include "core/sources.h"
#include "core/workspace.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/strings.h"
#include "util/time.h"

namespace envflow::core {

namespace {

// Diagnostics shown per refused commit; the rest are counted.
constexpr size_t k_max_diagnostics = 20;
// Commits listed when a move is not a fast-forward.
constexpr size_t k_listed_commits = 10;

using util::plural;


// How far a judgement goes: every gate, or only who may (judge_authority).
enum class Depth { full, authority };

class Judge {
public:
  Judge(const Pipeline& before, const std::vector<RefMove>& moves, const Actor& actor,
        Automatic automatic, Depth depth = Depth::full)
      : m_before(before), m_after_refs(before.refs, moves), m_after(before.through(m_after_refs)),
        m_config(before.config), m_repo(before.repo), m_moves(moves), m_actor(actor),
        m_person(actor.name.empty() ? std::string() : before.config.person(actor.name)),
        m_automatic(automatic), m_depth(depth) {}

  Judgement run() {
    for (const auto& move : m_moves) {
      if (move.old_id == move.new_id) {
        continue; // git names refs that do not move when a push lists them
      }
      try {
        judge(move);
      } catch (const util::Error& e) {
        refuse(move, Gate::fast_forward, std::string("cannot check it: ") + e.what());
      }
    }
    return std::move(m_out);
  }

private:
  // --- plumbing ---

  std::string who() const { return m_actor.describe(); }

  bool may(Right right, const std::string& env = "") const {
    return core::may(m_config, m_person, right, env);
  }

  // Whether the gates past who-may (content, overrides, checks, approvals,
  // holds, back-ports, signatures) are judged.
  bool authority_only() const { return m_depth == Depth::authority; }

  void refuse(const RefMove& move, Gate gate, std::string reason, std::string hint = {}) {
    m_out.refusals.push_back(Refusal{move.ref, std::move(reason), gate, std::move(hint)});
  }

  void note(std::string text) { m_out.notes.push_back(std::move(text)); }

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

  const RefMove* move_of(const std::string& ref) const {
    for (const auto& m : m_moves) {
      if (m.ref == ref && m.old_id != m.new_id) {
        return &m;
      }
    }
    return nullptr;
  }

  // Deletion, non-commit and force-move checks of a ref that holds a
  // history. False when the move is refused.
  bool fast_forward(const RefMove& move, const std::string& what) {
    if (is_zero(move.new_id)) {
      refuse(move, Gate::fast_forward, "deleting " + what + " is not allowed (" + move.ref + ")");
      return false;
    }
    if (!is_commit(move.new_id)) {
      refuse(move, Gate::fast_forward,
             short_id(move.new_id) + " is not a commit; " + what + " holds commits only");
      return false;
    }
    if (!is_zero(move.old_id) && !m_repo.is_ancestor(move.old_id, move.new_id)) {
      refuse(move, Gate::fast_forward,
             "not a fast-forward: " + what + " is at " + short_id(move.old_id) + ", which " +
                 short_id(move.new_id) +
                 " does not contain; it is never force-moved or rewound (fetch, rebase or merge, "
                 "and push again)");
      return false;
    }
    return true;
  }

  // --- the dispatcher ---

  void judge(const RefMove& move) {
    const ClassifiedRef c = classify_ref(m_config, move.ref);
    switch (c.kind) {
    case RefKind::environment:
      judge_environment(move, static_cast<size_t>(c.env_index));
      return;
    case RefKind::release_tag:
      judge_release_tag(move, c.name);
      return;
    case RefKind::live:
      judge_live(move);
      return;
    case RefKind::local:
      judge_local(move, c);
      return;
    case RefKind::config:
      judge_config(move);
      return;
    case RefKind::audit:
      refuse(move, Gate::record,
             "refs/envflow/audit is written by the server itself, one record for every accepted "
             "push: push the refs your operation moves (envflow push, or the command with --push), "
             "never the trail");
      return;
    case RefKind::backports:
      judge_backports(move);
      return;
    case RefKind::approval:
      judge_approval(move, c);
      return;
    case RefKind::hold:
      judge_hold(move, c);
      return;
    case RefKind::check:
      judge_check(move, c);
      return;
    case RefKind::envflow_other:
      if (move.ref == k_pending_ref) {
        refuse(move, Gate::record,
               "refs/envflow/pending is a clone's list of operations made offline; it never goes "
               "to the server: send them with envflow push");
        return;
      }
      if (!may(Right::admin)) {
        refuse(move, Gate::identity,
               "refs under refs/envflow/ belong to envflow; only admins (" +
                   PipelineConfig::groups_text(m_config.admins) + ") may push " + move.ref +
                   ", and " + who() + " is not one");
      }
      return;
    case RefKind::hotfix_branch:
    case RefKind::other:
      return; // feature and hotfix branches, other tags, notes: not the pipeline's business
    }
  }

  // --- content ---

  // Commits the move brings into `move.ref`: what the ref did not contain.
  std::vector<std::string> entering(const RefMove& move) const {
    if (!is_zero(move.old_id)) {
      return m_repo.commits_between(move.old_id, move.new_id);
    }
    std::vector<std::string> hidden;
    for (const auto& env : m_config.environments) {
      if (auto head = m_before.head(env)) {
        hidden.push_back(*head);
      }
    }
    return m_repo.commits_excluding(move.new_id, hidden);
  }

  static std::string diagnostics_text(const std::vector<const content::Diagnostic*>& shown,
                                      size_t total) {
    std::string text;
    for (const auto* d : shown) {
      text += "\n  " + d->to_text();
    }
    if (total > shown.size()) {
      text += "\n  ... and " + std::to_string(total - shown.size()) + " more";
    }
    return text;
  }

  // Content gate: the whole tree at the new tip validates, and so does
  // every commit entering the branch (the files it changes, and references
  // across its tree). A commit whose tree another commit shares is still
  // checked: each commit's own changes are what it is judged by.
  bool content_valid(const RefMove& move, const Environment& env,
                     const std::vector<std::string>& commits) {
    const content::ValidateOptions options =
        options_for(m_config, content::Scope::promoted);
    {
      TreeSource tip(m_repo, move.new_id);
      const content::ValidationReport report =
          content::validate(tip, options, content::SchemaSet::builtin());
      std::vector<const content::Diagnostic*> shown;
      size_t errors = 0;
      for (const auto& d : report.diagnostics) {
        if (d.severity == content::Severity::error && ++errors <= k_max_diagnostics) {
          shown.push_back(&d);
        }
      }
      if (errors > 0) {
        refuse(move, Gate::content,
               "the content of " + short_id(move.new_id) + " (" +
                   m_repo.commit(move.new_id).summary + ") does not validate (" +
                   plural(errors, "problem") + "); nothing invalid reaches " + env.name + ":" +
                   diagnostics_text(shown, errors) + "\n  (fix it on " + m_config.first().name +
                   ", check with envflow validate, and push or promote again)");
        return false;
      }
    }
    for (const auto& id : commits) {
      if (id == move.new_id) {
        continue; // its whole tree was checked above
      }
      const git::CommitInfo info = m_repo.commit(id);
      const std::string base = info.parents.empty() ? std::string() : info.parents.front();
      std::set<std::string> changed;
      for (const auto& change : m_repo.diff_trees(base, id)) {
        changed.insert(change.path);
      }
      if (changed.empty()) {
        continue; // an empty commit: its tree is its parent's, judged with that commit
      }
      TreeSource source(m_repo, id);
      const content::ValidationReport report =
          content::validate(source, options, content::SchemaSet::builtin());
      std::vector<const content::Diagnostic*> shown;
      size_t errors = 0;
      for (const auto& d : report.diagnostics) {
        // Reference findings count wherever they are: removing an agent
        // breaks the unchanged workflow that calls it.
        if (d.severity != content::Severity::error ||
            (!changed.contains(d.path) && !util::starts_with(d.rule, "ref-"))) {
          continue;
        }
        if (++errors <= k_max_diagnostics) {
          shown.push_back(&d);
        }
      }
      if (errors > 0) {
        refuse(move, Gate::content,
               "commit " + short_id(id) + " (" + info.summary + ") does not validate (" +
                   plural(errors, "problem") + "); nothing invalid reaches " + env.name + ":" +
                   diagnostics_text(shown, errors) +
                   (&env == &m_config.first()
                        ? "\n  (fix it, check with envflow validate, and push again)"
                        : "\n  (a later commit that fixes it does not hide it: every commit "
                          "entering " + env.name + " must validate; take it out of the history "
                          "that brings it, e.g. with git rebase -i, and try again)"));
        return false;
      }
    }
    return true;
  }

  // Overrides gate: the environment's overrides (as they are after this
  // change) fit the variables the new tip declares.
  bool overrides_fit(const RefMove& move, const Environment& env) {
    std::vector<std::string> problems;
    try {
      problems = override_problems(m_after, env, move.new_id);
    } catch (const util::Refused& e) {
      refuse(move, Gate::overrides, e.what());
      return false;
    }
    if (problems.empty()) {
      return true;
    }
    refuse(move, Gate::overrides,
           "the incoming content would leave the variable overrides of " + env.name +
               " invalid:\n  " + util::join(problems, "\n  ") +
               "\n  (envflow sync drops the overrides of removed variables in the same move; set "
               "or unset the others first: envflow var set/unset --env " + env.name + ")");
    return false;
  }

  // --- environment branches ---

  void judge_environment(const RefMove& move, size_t index) {
    const Environment& env = m_config.environments[index];
    if (is_zero(move.new_id)) {
      refuse(move, Gate::fast_forward,
             "deleting the branch of environment " + env.name + " is not allowed (" + move.ref +
                 ")");
      return;
    }
    if (!is_commit(move.new_id)) {
      refuse(move, Gate::fast_forward,
             short_id(move.new_id) + " is not a commit; the branch of environment " + env.name +
                 " holds commits only");
      return;
    }
    if (index == 0) {
      judge_first(move, env);
      return;
    }
    const Environment& previous = m_config.environments[index - 1];
    const auto previous_head = m_after.head(previous);
    if (contains(previous_head, move.new_id)) {
      judge_promotion(move, previous, env);
      return;
    }
    if (index + 1 < m_config.environments.size()) {
      refuse(move, Gate::fast_forward,
             short_id(move.new_id) + " is not contained in " + previous.name +
                 " (after this change): " + env.name + " moves only by promotion from " +
                 previous.name + " (envflow sync " + previous.name + ")");
      return;
    }
    judge_hotfix(move, previous, env);
  }

  void judge_first(const RefMove& move, const Environment& env) {
    if (!is_zero(move.old_id) && !m_repo.is_ancestor(move.old_id, move.new_id)) {
      fast_forward(move, "the branch of environment " + env.name);
      return;
    }
    if (!may(Right::write, env.name)) {
      refuse(move, Gate::identity,
             who() + " may not push to " + env.name + " (write groups: " +
                 PipelineConfig::groups_text(env.write) + ")");
      return;
    }
    if (authority_only()) {
      return;
    }
    const auto commits = entering(move);
    if (!content_valid(move, env, commits)) {
      return;
    }
    note(env.name + ": " + plural(commits.size(), "commit") + " validated, " +
         short_id(move.old_id) + ".." + short_id(move.new_id));
  }

  void judge_promotion(const RefMove& move, const Environment& source, const Environment& target) {
    const bool last = &target == &m_config.last();
    if (!is_zero(move.old_id) && !m_repo.is_ancestor(move.old_id, move.new_id)) {
      // A hotfix not back-ported yet is why the last environment has commits
      // its predecessor lacks: name the back-port (the remedy, and the gate
      // sync --auto waits at), not the fast-forward.
      if (last && !backports_done(move, target)) {
        return;
      }
      const auto extra = m_repo.commits_between(move.new_id, move.old_id);
      std::string message = target.name + " has " + plural(extra.size(), "commit") + " that " +
                            source.name + " lacks, so it cannot be fast-forwarded:";
      for (size_t i = 0; i < extra.size() && i < k_listed_commits; ++i) {
        message += "\n  " + short_id(extra[i]) + " " + m_repo.commit(extra[i]).summary;
      }
      if (extra.size() > k_listed_commits) {
        message += "\n  … and " + std::to_string(extra.size() - k_listed_commits) + " more";
      }
      message += describe_hotfix_commits(m_before, extra);
      message += "\nbring them into " + m_config.first().name +
                 " (merge them there) and promote through the pipeline again";
      refuse(move, Gate::fast_forward, message);
      return;
    }
    if (!may(Right::promote, target.name)) {
      refuse(move, Gate::identity,
             who() + " may not promote into " + target.name + " (promote groups: " +
                 PipelineConfig::groups_text(target.promote) +
                 "); ask an admin to add you with envflow config edit");
      return;
    }
    if (authority_only()) {
      return;
    }
    if (!content_valid(move, target, entering(move)) || !overrides_fit(move, target)) {
      return;
    }
    if (last && !hotfix_kept(move, target)) {
      return;
    }
    if (last && !backports_done(move, target)) {
      return;
    }
    if (m_automatic == Automatic::yes) {
      if (const auto hold = hold_on(m_after, target.name)) {
        refuse(move, Gate::hold,
               target.name + " is held (" + hold->describe() +
                   "): auto-promotion stops here; release the hold with envflow hold release " +
                   target.name + ", or a person promotes by hand (envflow sync " + source.name +
                   ")",
               "envflow hold release " + target.name);
        return;
      }
    }
    if (!checks_passed(move, target)) {
      return;
    }
    if (target.approvals > 0) {
      const auto approvals = without(approvals_for(m_after, target, move.new_id), m_person);
      if (static_cast<int>(approvals.size()) < target.approvals) {
        std::string reason = "promoting " + short_id(move.new_id) + " into " + target.name +
                             " needs " + plural(static_cast<size_t>(target.approvals), "approval") +
                             " from " + PipelineConfig::groups_text(target.approvers) +
                             " (not counting " + (m_person.empty() ? who() : m_person) +
                             "); it has " + approvals_text(approvals.size(), target.approvals);
        if (!approvals.empty()) {
          reason += " (" + util::join(approvals, ", ") + ")";
        }
        const std::string command =
            "envflow approve " + target.name + " --rev " + short_id(move.new_id);
        reason += "; approvers run: " + command;
        refuse(move, Gate::approvals, reason, command);
        return;
      }
    }
    note(target.name + ": promotion from " + source.name + ", " + short_id(move.old_id) + ".." +
         short_id(move.new_id));
  }

  // Checks gate: every check of the target passed for this commit and the
  // bundle it would give the target (results as they are after this change).
  bool checks_passed(const RefMove& move, const Environment& target) {
    std::vector<std::string> blockers;
    try {
      blockers = check_blockers(m_after, target, move.new_id);
    } catch (const util::Refused& e) {
      refuse(move, Gate::checks,
             "the bundle promoting " + short_id(move.new_id) + " into " + target.name +
                 " would give cannot be rendered, so its checks cannot pass: " + e.what());
      return false;
    }
    if (blockers.empty()) {
      return true;
    }
    refuse(move, Gate::checks,
           "promoting " + short_id(move.new_id) + " into " + target.name +
               " needs a passing result of each of its checks for that commit and bundle:\n  " +
               util::join(blockers, "\n  ") + "\nrun them with envflow check " + target.name +
               " --rev " + short_id(move.new_id) + " (sync --auto runs them itself)",
           "envflow check " + target.name + " --rev " + short_id(move.new_id));
    return false;
  }

  // Back-port gate: nothing is promoted into the last environment while a
  // hotfix is not back in the first.
  bool backports_done(const RefMove& move, const Environment& target) {
    const std::vector<BackportIssue> open = open_backports(m_after);
    if (open.empty()) {
      return true;
    }
    std::string message = target.name + " has " + std::to_string(open.size()) + " hotfix" +
                          (open.size() == 1 ? " that is" : "es that are") + " not back in " +
                          m_config.first().name + " yet; promoting into " + target.name +
                          " is refused until " + (open.size() == 1 ? "it is" : "they are") +
                          " back-ported:";
    for (const auto& issue : open) {
      message += "\n  back-port issue " + std::to_string(issue.id) + ": hotfix " +
                 issue.hotfix_tag + (issue.hotfix.empty() ? "" : " (" + issue.hotfix + ")") +
                 ": run envflow backport apply " + std::to_string(issue.id);
    }
    message += "\nthen promote " + m_config.first().name + " through the pipeline (" +
               sync_chain(m_config) + ")";
    refuse(move, Gate::backport, message,
           "envflow backport apply " + std::to_string(open.front().id));
    return false;
  }

  // Hotfix-undo gate: a promotion into the last environment must not quietly
  // put back a field a hotfix changed.
  bool hotfix_kept(const RefMove& move, const Environment& target) {
    if (is_zero(move.old_id)) {
      return true;
    }
    const SemanticDiff diff = semantic_diff(m_repo, move.old_id, move.new_id);
    const auto problems = hotfix_undo_problems(m_before, move.old_id, move.new_id, diff);
    if (problems.empty()) {
      return true;
    }
    std::string message = "this promotion would undo a hotfix on " + target.name + ":";
    for (const auto& p : problems) {
      message += "\n  " + p;
    }
    message += "\nno commit in " + m_config.first().name +
               " changed it after the hotfix came back; keep the hotfix's value there (or "
               "change the field on purpose in a new commit) and promote again";
    refuse(move, Gate::hotfix_undo, message);
    return false;
  }

  // The last environment also takes hotfix commits: ones the previous
  // environment does not contain, by a hotfixer. Production normally
  // fast-forwards; after a rollback (its head ahead of live) a hotfix starts
  // from live, and production moves to it, dropping only commits the
  // previous environment still holds (they come back by promotion).
  void judge_hotfix(const RefMove& move, const Environment& previous, const Environment& env) {
    const auto previous_head = m_after.head(previous);
    if (!may(Right::hotfix)) {
      refuse(move, Gate::identity,
             short_id(move.new_id) + " is not contained in " + previous.name +
                 " (after this change): " + env.name + " moves by promotion from " +
                 previous.name + " (envflow sync " + previous.name +
                 "), or by a hotfix from a hotfixer (" +
                 PipelineConfig::groups_text(m_config.hotfixers) + "), and " + who() +
                 " is not one");
      return;
    }
    std::vector<std::string> commits;
    if (!is_zero(move.old_id) && !m_repo.is_ancestor(move.old_id, move.new_id)) {
      const auto live_commit = live_release_commit(m_before);
      const auto dropped = m_repo.commits_between(move.new_id, move.old_id);
      const bool from_live = live_commit && *live_commit != move.old_id &&
                             m_repo.is_ancestor(*live_commit, move.old_id) &&
                             m_repo.is_ancestor(*live_commit, move.new_id);
      const bool nothing_lost =
          std::all_of(dropped.begin(), dropped.end(),
                      [&](const std::string& id) { return contains(previous_head, id); });
      if (!from_live || !nothing_lost) {
        refuse(move, Gate::fast_forward,
               "not a fast-forward: " + env.name + " is at " + short_id(move.old_id) +
                   ", which " + short_id(move.new_id) +
                   " does not contain; a hotfix builds on " + env.name +
                   "'s head, or, after a rollback, on the live release (envflow hotfix start "
                   "does that), and never drops a commit " + previous.name + " lacks");
        return;
      }
      commits = m_repo.commits_between(*live_commit, move.new_id);
    } else {
      commits = entering(move);
    }
    for (const auto& id : commits) {
      if (contains(previous_head, id)) {
        refuse(move, Gate::fast_forward,
               "this change mixes a promotion from " + previous.name + " (" + short_id(id) +
                   ") with hotfix commits; promote first, then push the hotfix");
        return;
      }
    }
    if (authority_only() || !content_valid(move, env, commits) || !overrides_fit(move, env)) {
      return;
    }
    if (m_config.hotfix_approvals > 0) {
      const auto approvals = without(hotfix_approvals_for(m_after, move.new_id), m_person);
      if (static_cast<int>(approvals.size()) < m_config.hotfix_approvals) {
        std::string reason =
            "the hotfix " + short_id(move.new_id) + " needs " +
            plural(static_cast<size_t>(m_config.hotfix_approvals), "approval") + " from " +
            PipelineConfig::groups_text(m_config.hotfix_approvers) + " (not counting " +
            (m_person.empty() ? who() : m_person) + ") before it goes onto " + env.name +
            "; it has " + approvals_text(approvals.size(), m_config.hotfix_approvals);
        if (!approvals.empty()) {
          reason += " (" + util::join(approvals, ", ") + ")";
        }
        const std::string command =
            "envflow approve " + env.name + " --rev " + short_id(move.new_id);
        reason += "; approvers run: " + command;
        refuse(move, Gate::approvals, reason, command);
        return;
      }
    }
    note(env.name + ": hotfix of " + plural(commits.size(), "commit") + " by " +
         (m_person.empty() ? who() : m_person) + ", " + short_id(move.old_id) + ".." +
         short_id(move.new_id));
  }

  // --- releases ---

  // Publishers make every release; hotfixers the release of a hotfix: a
  // commit the previous environment does not hold (after this change), its
  // tag and live moved in the same change, as envflow hotfix finish does.
  bool is_hotfix_commit(const std::string& commit) const {
    if (m_config.environments.size() < 2) {
      return false;
    }
    const Environment& previous = m_config.environments[m_config.environments.size() - 2];
    return !contains(m_after.head(previous), commit);
  }

  // Identity refusal of a release move by someone who is neither a
  // publisher nor a hotfixer; false when refused.
  bool may_release_at_all(const RefMove& move, const std::string& what) {
    if (may(Right::publish) || may(Right::hotfix)) {
      return true;
    }
    refuse(move, Gate::identity,
           who() + " may not " + what + " (publishers: " +
               PipelineConfig::groups_text(m_config.publishers) +
               "; hotfixers, for the release of a hotfix: " +
               PipelineConfig::groups_text(m_config.hotfixers) + ")");
    return false;
  }

  // A hotfixer who is no publisher releases only a hotfix; false when refused.
  bool may_release(const RefMove& move, const std::string& tag, const std::string& commit) {
    if (may(Right::publish) || is_hotfix_commit(commit)) {
      return true;
    }
    refuse(move, Gate::identity,
           who() + " is a hotfixer but not a publisher, and " + tag + " releases " +
               short_id(commit) + ", which " +
               m_config.environments[m_config.environments.size() - 2].name +
               " holds: that is a publish (publishers: " +
               PipelineConfig::groups_text(m_config.publishers) +
               "); a hotfixer releases their hotfix with envflow hotfix finish");
    return false;
  }

  void judge_release_tag(const RefMove& move, const std::string& name) {
    if (is_zero(move.new_id)) {
      refuse(move, Gate::release, "release tags are never deleted (" + name + ")");
      return;
    }
    if (!is_zero(move.old_id)) {
      refuse(move, Gate::release,
             "release tags are never moved: " + name + " already points at " +
                 short_id(move.old_id) + " (publish a new version instead)");
      return;
    }
    if (!may_release_at_all(move, "create release tags")) {
      return;
    }
    const auto tag = m_repo.tag(move.new_id);
    if (!tag) {
      refuse(move, Gate::release,
             name + " is a lightweight tag; a release tag is annotated (envflow publish makes it)");
      return;
    }
    if (tag->name != name) {
      refuse(move, Gate::release,
             "the tag object is named " + tag->name + " but is pushed as " + name);
      return;
    }
    const Environment& last = m_config.last();
    if (tag->target_type != "commit" || !contains(m_after.head(last), tag->target)) {
      refuse(move, Gate::release,
             name + " points at " + short_id(tag->target) + ", which is not a commit of " +
                 last.name + " (after this change): releases are made from " + last.name);
      return;
    }
    if (!may_release(move, name, tag->target)) {
      return;
    }
    if (authority_only()) {
      return;
    }
    if (const auto problems = release_blockers(m_before, *tag, name); !problems.empty()) {
      refuse(move, Gate::release, name + " does not verify:\n  " + util::join(problems, "\n  "));
      return;
    }
    // What end users would get validates, even when the last environment
    // was moved where nothing judged it (by hand, in a repository used alone).
    if (!content_valid(RefMove{move.ref, std::string(git::k_zero_id), tag->target}, last, {})) {
      return;
    }
    note("release " + name + " of " + short_id(tag->target));
  }

  void judge_live(const RefMove& move) {
    if (is_zero(move.new_id)) {
      refuse(move, Gate::release,
             "deleting refs/envflow/live is not allowed (roll back with envflow rollback)");
      return;
    }
    if (!may_release_at_all(move, "move refs/envflow/live")) {
      return;
    }
    const auto to = release_by_tag_id(m_after, move.new_id);
    if (!to) {
      refuse(move, Gate::release,
             "refs/envflow/live must point at a release tag object (refs/tags/vX.Y.Z); " +
                 short_id(move.new_id) + " is none");
      return;
    }
    if (!may(Right::publish) && !move_of(tag_ref(to->tag))) {
      refuse(move, Gate::identity,
             who() + " is a hotfixer but not a publisher: live moves with the release of their "
                     "hotfix only (envflow hotfix finish); making " + to->tag +
                 " live again, or rolling back, is for publishers (" +
                 PipelineConfig::groups_text(m_config.publishers) + ")");
      return;
    }
    if (!move_of(tag_ref(to->tag)) && !authority_only()) {
      // An existing release (a rollback, or making one live again): verify it.
      const auto tag = m_repo.tag(move.new_id);
      if (const auto problems = tag ? release_blockers(m_before, *tag, to->tag)
                                    : std::vector<std::string>{"not a tag object"};
          !problems.empty()) {
        refuse(move, Gate::release,
               "live cannot point at " + to->tag + ", which does not verify:\n  " +
                   util::join(problems, "\n  "));
        return;
      }
    }
    const auto from = is_zero(move.old_id) ? std::nullopt : release_by_tag_id(m_before, move.old_id);
    if (from && is_rollback(m_repo, *from, *to) && !hold_on(m_after, m_config.last().name)) {
      refuse(move, Gate::release,
             "moving live back from " + from->tag + " to " + to->tag +
                 " is a rollback: it puts a hold on " + m_config.last().name +
                 " in the same change, so auto-promotion does not bring the release back (envflow "
                 "rollback " + to->tag + " does both)");
      return;
    }
    note("live -> " + to->tag);
  }

  // --- environment-local data ---

  void judge_local(const RefMove& move, const ClassifiedRef& c) {
    if (c.env_index < 0) {
      refuse(move, Gate::fast_forward, "there is no environment named '" + c.env + "' in the pipeline");
      return;
    }
    const Environment& env = m_config.environments[static_cast<size_t>(c.env_index)];
    if (!fast_forward(move, "the local data of " + env.name)) {
      return;
    }
    if (!may(Right::local, env.name)) {
      refuse(move, Gate::identity,
             who() + " may not change the local data of " + env.name + " (local groups: " +
                 PipelineConfig::groups_text(env.local) + ")");
      return;
    }
    if (authority_only()) {
      return;
    }
    TreeSource source(m_repo, move.new_id);
    const auto report = content::validate(source, options_for(m_config, content::Scope::local),
                                          content::SchemaSet::builtin());
    if (!report.ok()) {
      std::vector<std::string> lines;
      for (const auto& d : report.diagnostics) {
        if (d.severity == content::Severity::error && lines.size() < k_max_diagnostics) {
          lines.push_back(d.to_text());
        }
      }
      refuse(move, Gate::content,
             "the local data of " + env.name + " does not validate:\n  " +
                 util::join(lines, "\n  "));
      return;
    }
    std::vector<std::string> problems;
    try {
      problems = local_override_problems(m_after, env);
    } catch (const util::Refused& e) {
      refuse(move, Gate::overrides, e.what());
      return;
    }
    if (!problems.empty()) {
      refuse(move, Gate::overrides,
             "the overrides of " + env.name + " do not fit its variables:\n  " +
                 util::join(problems, "\n  "));
      return;
    }
    note(env.name + ": local data " + short_id(move.new_id) + " accepted");
  }

  // --- the policy ---

  void judge_config(const RefMove& move) {
    if (!fast_forward(move, "the pipeline config")) {
      return;
    }
    if (!may(Right::admin)) {
      refuse(move, Gate::identity,
             who() + " may not change the pipeline config (admins: " +
                 PipelineConfig::groups_text(m_config.admins) + ")");
      return;
    }
    if (authority_only()) {
      return;
    }
    if (const auto problem = config_commit_problem(m_repo, move.new_id)) {
      refuse(move, Gate::content, *problem);
      return;
    }
    note("config " + short_id(move.new_id) + " accepted");
  }

  // --- back-port issues ---

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
  // the changes envflow makes: a hotfixer opens an issue for hotfix commits on
  // the last environment; anyone closes an open issue once its hotfix
  // commits are all in the first environment. Admins may mend issues by hand.
  void judge_backports(const RefMove& move) {
    if (!fast_forward(move, "the back-port issues")) {
      return;
    }
    if (may(Right::admin)) {
      return;
    }
    const std::string mend = " (only envflow's own changes are accepted from " + who() +
                             "; an admin (" + PipelineConfig::groups_text(m_config.admins) +
                             ") may mend issues by hand)";
    const auto before = issue_files(move.old_id);
    const auto now = issue_files(move.new_id);
    for (const auto& [path, entry] : before) {
      if (!now.contains(path)) {
        refuse(move, Gate::record, "back-port issue " + path + " is deleted: issues are never deleted" + mend);
        return;
      }
    }
    const auto first_head = m_after.head(m_config.first());
    const auto last_head = m_after.head(m_config.last());
    for (const auto& [path, entry] : now) {
      const auto old = before.find(path);
      if (old != before.end() && old->second.id == entry.id) {
        continue;
      }
      const std::string where = std::string(k_backports_ref) + ":" + path;
      if (path.find('/') != std::string::npos || !util::ends_with(path, ".yaml") ||
          entry.mode != git::Mode::regular) {
        refuse(move, Gate::record, where + " is not a back-port issue file (<id>.yaml)" + mend);
        return;
      }
      if (m_repo.blob_size(entry.id) > m_config.max_file_size) {
        refuse(move, Gate::record,
               where + " is over the " + std::to_string(m_config.max_file_size) +
                   "-byte limit (validation.max_file_size)" + mend);
        return;
      }
      BackportIssue issue;
      try {
        issue = BackportIssue::parse(m_repo.read_blob(entry.id), where);
      } catch (const util::Refused& e) {
        refuse(move, Gate::record, e.what());
        return;
      }
      const std::string name = "back-port issue " + std::to_string(issue.id);
      if (issue.file_name() != path) {
        refuse(move, Gate::record, where + " holds issue " + std::to_string(issue.id) + " but is named " + path);
        return;
      }
      if (old == before.end()) {
        if (!may(Right::hotfix)) {
          refuse(move, Gate::identity,
                 name + " is opened by " + who() + ", who is not a hotfixer (" +
                     PipelineConfig::groups_text(m_config.hotfixers) + ")" + mend);
          return;
        }
        if (!issue.is_open() || !last_head || !contains_hotfix(m_repo, issue, *last_head)) {
          refuse(move, Gate::record,
                 name + " must be opened open, for hotfix commits on " + m_config.last().name +
                     " (after this change)" + mend);
          return;
        }
        continue;
      }
      BackportIssue was;
      try {
        was = BackportIssue::parse(m_repo.read_blob(old->second.id), where);
      } catch (const util::Refused& e) {
        refuse(move, Gate::record, std::string("the issue on the server is malformed: ") + e.what() + mend);
        return;
      }
      nlohmann::json fixed_now = issue.to_json();
      nlohmann::json fixed_was = was.to_json();
      for (const char* key : {"status", "closed_by", "closed_at", "closed_in"}) {
        fixed_now.erase(key);
        fixed_was.erase(key);
      }
      if (fixed_now != fixed_was) {
        refuse(move, Gate::record, name + " is rewritten (only its status changes, from open to closed)" + mend);
        return;
      }
      if (!was.is_open()) {
        refuse(move, Gate::record, name + " is closed; a closed issue never changes" + mend);
        return;
      }
      if (issue.is_open()) {
        refuse(move, Gate::record, name + " changes but stays open" + mend);
        return;
      }
      if (!first_head || !contains_hotfix(m_repo, issue, *first_head) ||
          (!issue.closed_in.empty() && !contains_hotfix(m_repo, issue, issue.closed_in)) ||
          (!issue.closed_in.empty() && !m_repo.is_ancestor(issue.closed_in, *first_head))) {
        refuse(move, Gate::backport,
               name + " is closed, but its hotfix commits are not all in " +
                   m_config.first().name + " (after this change): bring the hotfix back with "
                   "envflow backport apply " + std::to_string(issue.id) +
                   "; the issue then closes by itself" + mend);
        return;
      }
    }
  }

  // --- approvals ---

  void judge_approval(const RefMove& move, const ClassifiedRef& c) {
    const std::string person = m_config.person(c.name);
    if (is_zero(move.new_id)) {
      // Withdrawing an approval (also of an environment the policy no
      // longer has): its author, or an admin mending.
      if (m_person.empty() || (person != m_person && !may(Right::admin))) {
        refuse(move, Gate::identity,
               who() + " may not withdraw " + person + "'s approval (only they, or an admin, may)");
      }
      return;
    }
    if (c.env_index < 1) {
      refuse(move, Gate::record,
             c.env_index == 0 ? c.env + " is the first environment: nothing is promoted into it, "
                                       "so there is nothing to approve"
                              : "there is no environment named '" + c.env + "' to approve for");
      return;
    }
    if (!is_zero(move.old_id)) {
      refuse(move, Gate::record, "an approval never moves: " + move.ref + " already exists");
      return;
    }
    if (move.new_id != c.commit) {
      refuse(move, Gate::record,
             move.ref + " must point at the commit it names (" + short_id(c.commit) + "), not " +
                 short_id(move.new_id));
      return;
    }
    if (person != m_person) {
      refuse(move, Gate::identity,
             "an approval is given by its author only: " + move.ref + " names " + person + ", and " +
                 who() + " is " + (m_person.empty() ? std::string("nobody known") : m_person));
      return;
    }
    const Environment& env = m_config.environments[static_cast<size_t>(c.env_index)];
    const Environment& previous = m_config.environments[static_cast<size_t>(c.env_index) - 1];
    if (!is_commit(c.commit)) {
      refuse(move, Gate::record, short_id(c.commit) + " is not a commit");
      return;
    }
    const bool promotion = contains(m_after.head(previous), c.commit);
    // A hotfix candidate builds on what the last environment has or serves.
    const auto builds_on = [&](const std::optional<std::string>& base) {
      return base && m_repo.is_ancestor(*base, c.commit);
    };
    const bool hotfix = &env == &m_config.last() && !promotion && m_config.hotfix_approvals > 0 &&
                        (builds_on(m_after.head(env)) || builds_on(live_release_commit(m_after)));
    const auto& groups = hotfix ? m_config.hotfix_approvers : env.approvers;
    if (!may(hotfix ? Right::approve_hotfix : Right::approve, env.name)) {
      refuse(move, Gate::identity,
             who() + " is not an approver for " + (hotfix ? "hotfixes on " : "") + env.name +
                 " (approver groups: " + PipelineConfig::groups_text(groups) + ")");
      return;
    }
    if (!promotion && !hotfix) {
      refuse(move, Gate::record,
             short_id(c.commit) + " is not on " + previous.name +
                 ": only commits of " + previous.name + " can be approved for " + env.name);
      return;
    }
    note(person + " approves " + short_id(c.commit) + " for " + env.name);
  }

  // --- holds ---

  void judge_hold(const RefMove& move, const ClassifiedRef& c) {
    if (c.env_index < 1) {
      refuse(move, Gate::record,
             c.env_index == 0 ? c.env + " is the first environment: nothing is promoted into it, "
                                       "so there is nothing to hold"
                              : "there is no environment named '" + c.env + "' to hold");
      return;
    }
    const Environment& env = m_config.environments[static_cast<size_t>(c.env_index)];
    if (!may(Right::hold, env.name)) {
      std::vector<std::string> groups = m_config.publishers;
      groups.insert(groups.end(), env.promote.begin(), env.promote.end());
      refuse(move, Gate::identity,
             who() + " may not " + (is_zero(move.new_id) ? "release a hold on " : "hold ") +
                 env.name + " (publishers and " + env.name + "'s promote groups may: " +
                 PipelineConfig::groups_text(groups) + ")");
      return;
    }
    if (is_zero(move.new_id)) {
      return; // releasing: the ref goes, the record keeps who and when
    }
    if (!is_zero(move.old_id)) {
      refuse(move, Gate::record, "a hold never moves: release it and set a new one");
      return;
    }
    if (move.new_id != c.name) {
      refuse(move, Gate::record, move.ref + " must point at the hold commit it names");
      return;
    }
    const auto hold = read_hold(m_repo, move.new_id);
    if (!hold) {
      refuse(move, Gate::record,
             move.ref + " is not a hold envflow writes (a commit with the empty tree, no parent "
                        "and a hold message of at most " + std::to_string(k_max_hold_message) +
                        " bytes: envflow hold set makes one)");
      return;
    }
    if (hold->env != env.name || m_config.person(hold->actor) != m_person) {
      refuse(move, Gate::record,
             "the hold says it is on " + hold->env + " by " + hold->actor + ", but it is pushed to " +
                 env.name + " by " + who());
      return;
    }
    if (hold->kind == Hold::Kind::manual && util::trim(hold->reason).empty()) {
      refuse(move, Gate::record, "a hold needs a reason");
      return;
    }
    note(env.name + ": " + hold->describe());
  }

  // --- check results ---

  // refs/envflow/checks/<env>/<commit>/<check>: a result envflow check
  // writes, recorded once by someone who may promote into the environment
  // and never moved; removed (to run a check again) by them or an admin.
  void judge_check(const RefMove& move, const ClassifiedRef& c) {
    if (c.env_index < 1) {
      refuse(move, Gate::record,
             c.env_index == 0 ? c.env + " is the first environment: nothing is promoted into it, "
                                       "so it has no checks"
                              : "there is no environment named '" + c.env + "' to check");
      return;
    }
    const Environment& env = m_config.environments[static_cast<size_t>(c.env_index)];
    if (!may(Right::check, env.name)) {
      refuse(move, Gate::identity,
             who() + " may not " + (is_zero(move.new_id) ? "remove" : "record") +
                 " check results of " + env.name + " (" + env.name + "'s promote groups: " +
                 PipelineConfig::groups_text(env.promote) + "; admins: " +
                 PipelineConfig::groups_text(m_config.admins) + ")");
      return;
    }
    if (is_zero(move.new_id)) {
      return; // removing a result (to run the check again): the record keeps who and when
    }
    if (!is_zero(move.old_id)) {
      refuse(move, Gate::record,
             "a check result never moves: " + move.ref + " already exists (remove it first; "
             "envflow check does that when it runs a check again)");
      return;
    }
    const auto check = std::find_if(env.checks.begin(), env.checks.end(),
                                    [&](const Check& k) { return k.name == c.name; });
    if (check == env.checks.end()) {
      refuse(move, Gate::record,
             env.name + " has no check named '" + c.name + "' in the policy in force");
      return;
    }
    if (!is_commit(c.commit)) {
      refuse(move, Gate::record, move.ref + " names " + short_id(c.commit) + ", which is not a commit");
      return;
    }
    const auto result = read_check_result(m_repo, move.new_id);
    if (!result) {
      refuse(move, Gate::record,
             move.ref + " must point at a check result envflow writes (a commit with no parent "
                        "whose tree holds only " + std::string(k_check_result_file) +
                        ", as envflow check " + env.name + " records it)");
      return;
    }
    if (result->env != env.name || result->commit != c.commit || result->name != c.name) {
      refuse(move, Gate::record,
             "the result says it is check " + result->name + " of " + short_id(result->commit) +
                 " for " + result->env + ", but it is recorded as " + move.ref);
      return;
    }
    if (m_config.person(result->actor) != m_person) {
      refuse(move, Gate::record,
             "the result says " + result->actor + " ran it, but it is recorded by " + who());
      return;
    }
    if (check_signatures_required(m_config) && !authority_only()) {
      const auto problem =
          result->signature.empty()
              ? std::optional<std::string>("it is not signed (" +
                                           std::string(k_check_signature_file) + " missing)")
              : allowed_signer_problem(m_before, result->to_yaml(), result->signature);
      if (problem) {
        refuse(move, Gate::record,
               "the policy signs releases with allowed signers, so a check result is signed by "
               "one too (envflow check signs it with the release signer): " + move.ref + ": " +
                   *problem);
        return;
      }
    }
    note(env.name + ": check " + c.name + " of " + short_id(c.commit) + " " + result->outcome());
  }

  const Pipeline& m_before;
  MovedRefs m_after_refs;
  Pipeline m_after;
  const PipelineConfig& m_config;
  const git::Repository& m_repo;
  const std::vector<RefMove>& m_moves;
  const Actor& m_actor;
  std::string m_person;
  Automatic m_automatic;
  Depth m_depth;
  Judgement m_out;
};

} // namespace

bool may(const PipelineConfig& config, const std::string& person, Right right,
         const std::string& env) {
  if (person.empty() || config.environments.empty()) {
    return false;
  }
  const auto member = [&](const std::vector<std::string>& groups) {
    return config.member(person, groups);
  };
  switch (right) {
  case Right::publish:
    return member(config.publishers);
  case Right::hotfix:
    return member(config.hotfixers);
  case Right::admin:
    return member(config.admins);
  case Right::approve_hotfix:
    return member(config.hotfix_approvers);
  default:
    break;
  }
  const Environment* e = config.find(env);
  if (e == nullptr) {
    return false;
  }
  if (right == Right::write) {
    return member(e->write);
  }
  if (right == Right::local) {
    return member(e->local);
  }
  if (config.index_of(env) < 1) {
    return false; // nothing is promoted into the first environment
  }
  switch (right) {
  case Right::promote:
    return member(e->promote);
  case Right::approve:
    return member(e->approvers);
  case Right::hold:
    return member(config.publishers) || member(e->promote);
  case Right::check:
    return member(e->promote) || member(config.admins);
  default:
    return false;
  }
}

std::string Actor::describe() const {
  if (name.empty()) {
    return "an unknown pusher";
  }
  return source.empty() ? name : name + " (" + source + ")";
}

std::string Judgement::reasons() const {
  if (refusals.size() == 1) {
    return refusals.front().reason;
  }
  std::string text;
  for (const auto& r : refusals) {
    text += (text.empty() ? "" : "\n") + (r.ref.empty() ? std::string("change") : r.ref) + ": " +
            r.reason;
  }
  return text;
}

void Judgement::enforce() const {
  if (ok()) {
    return;
  }
  const bool forbidden = std::any_of(refusals.begin(), refusals.end(),
                                     [](const Refusal& r) { return r.gate == Gate::identity; });
  if (forbidden) {
    throw util::Forbidden(reasons());
  }
  std::string hint;
  for (const auto& r : refusals) {
    if (!r.hint.empty()) {
      hint = r.hint;
      break;
    }
  }
  throw GateRefused(reasons(), gate_name(refusals.front().gate), hint);
}

const char* gate_name(Gate gate) {
  switch (gate) {
  case Gate::identity:
    return "identity";
  case Gate::fast_forward:
    return "fast-forward";
  case Gate::approvals:
    return "approvals";
  case Gate::hold:
    return "hold";
  case Gate::backport:
    return "backport";
  case Gate::hotfix_undo:
    return "hotfix-undo";
  case Gate::content:
    return "content";
  case Gate::overrides:
    return "overrides";
  case Gate::checks:
    return "checks";
  case Gate::release:
    return "release";
  case Gate::record:
    return "record";
  }
  return "fast-forward";
}

Judgement judge(const Pipeline& before, const std::vector<RefMove>& moves, const Actor& actor,
                Automatic automatic) {
  return Judge(before, moves, actor, automatic).run();
}

Judgement judge_authority(const Pipeline& before, const std::vector<RefMove>& moves,
                          const Actor& actor) {
  return Judge(before, moves, actor, Automatic::no, Depth::authority).run();
}

} // namespace envflow::core
