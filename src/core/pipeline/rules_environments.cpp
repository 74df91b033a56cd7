#include "core/pipeline/judge.h"

namespace envflow::core::pipeline::judging {

void Judge::judge_environment(const model::RefMove& move, size_t index) {
  const policy::Environment& env = m_config.environments[index];
  if (model::is_zero(move.new_id)) {
    refuse(move, Gate::fast_forward,
           "deleting the branch of environment " + env.name + " is not allowed (" + move.ref + ")");
    return;
  }
  if (!is_commit(move.new_id)) {
    refuse(move, Gate::fast_forward,
           model::short_id(move.new_id) + " is not a commit; the branch of environment " +
               env.name + " holds commits only");
    return;
  }
  if (index == 0) {
    judge_first(move, env);
    return;
  }
  const policy::Environment& previous = m_config.environments[index - 1];
  const auto previous_head = m_after.head(previous);
  if (contains(previous_head, move.new_id)) {
    judge_promotion(move, previous, env);
    return;
  }
  if (index + 1 < m_config.environments.size()) {
    refuse(move, Gate::fast_forward,
           model::short_id(move.new_id) + " is not contained in " + previous.name +
               " (after this change): " + env.name + " moves only by promotion from " +
               previous.name + " (envflow sync " + previous.name + ")");
    return;
  }
  judge_hotfix(move, previous, env);
}

void Judge::judge_first(const model::RefMove& move, const policy::Environment& env) {
  if (!model::is_zero(move.old_id) && !m_repo.is_ancestor(move.old_id, move.new_id)) {
    fast_forward(move, "the branch of environment " + env.name);
    return;
  }
  if (!permitted(move, Right::write, env.name, "push to " + env.name,
                 "write groups: " + policy::PipelineConfig::groups_text(env.write))) {
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
       model::short_id(move.old_id) + ".." + model::short_id(move.new_id));
}

void Judge::judge_promotion(const model::RefMove& move, const policy::Environment& source,
                            const policy::Environment& target) {
  const bool last = &target == &m_config.last();
  if (!model::is_zero(move.old_id) && !m_repo.is_ancestor(move.old_id, move.new_id)) {
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
      message += "\n  " + model::short_id(extra[i]) + " " + m_repo.commit(extra[i]).summary;
    }
    if (extra.size() > k_listed_commits) {
      message += "\n  … and " + std::to_string(extra.size() - k_listed_commits) + " more";
    }
    message += records::describe_hotfix_commits(m_before, extra);
    message += "\nbring them into " + m_config.first().name +
               " (merge them there) and promote through the pipeline again";
    refuse(move, Gate::fast_forward, message);
    return;
  }
  if (!permitted(move, Right::promote, target.name, "promote into " + target.name,
                 "promote groups: " + policy::PipelineConfig::groups_text(target.promote),
                 "; ask an admin to add you with envflow config edit")) {
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
    if (const auto hold = records::hold_on(m_after, target.name)) {
      refuse(move, Gate::hold,
             target.name + " is held (" + hold->describe() +
                 "): auto-promotion stops here; release the hold with envflow hold release " +
                 target.name + ", or a person promotes by hand (envflow sync " + source.name + ")",
             "envflow hold release " + target.name);
      return;
    }
  }
  if (!checks_passed(move, target)) {
    return;
  }
  if (target.approvals > 0 &&
      !approved(move, "promoting " + model::short_id(move.new_id) + " into " + target.name, "",
                records::without(records::approvals_for(m_after, target, move.new_id), m_person),
                target.approvals, target.approvers, target.name)) {
    return;
  }
  note(target.name + ": promotion from " + source.name + ", " + model::short_id(move.old_id) +
       ".." + model::short_id(move.new_id));
}

bool Judge::approved(const model::RefMove& move, const std::string& subject,
                     const std::string& until, const std::vector<std::string>& approvals,
                     int required, const std::vector<std::string>& approvers,
                     const std::string& env) {
  if (static_cast<int>(approvals.size()) >= required) {
    return true;
  }
  std::string reason = subject + " needs " + plural(static_cast<size_t>(required), "approval") +
                       " from " + policy::PipelineConfig::groups_text(approvers) +
                       " (not counting " + (m_person.empty() ? who() : m_person) + ")" + until +
                       "; it has " + records::approvals_text(approvals.size(), required);
  if (!approvals.empty()) {
    reason += " (" + util::join(approvals, ", ") + ")";
  }
  const std::string command = "envflow approve " + env + " --rev " + model::short_id(move.new_id);
  reason += "; approvers run: " + command;
  refuse(move, Gate::approvals, reason, command);
  return false;
}

bool Judge::checks_passed(const model::RefMove& move, const policy::Environment& target) {
  std::vector<std::string> blockers;
  try {
    blockers = check_blockers(m_after, target, move.new_id);
  } catch (const util::Refused& e) {
    refuse(move, Gate::checks,
           "the bundle promoting " + model::short_id(move.new_id) + " into " + target.name +
               " would give cannot be rendered, so its checks cannot pass: " + e.what());
    return false;
  }
  if (blockers.empty()) {
    return true;
  }
  refuse(move, Gate::checks,
         "promoting " + model::short_id(move.new_id) + " into " + target.name +
             " needs a passing result of each of its checks for that commit and bundle:\n  " +
             util::join(blockers, "\n  ") + "\nrun them with envflow check " + target.name +
             " --rev " + model::short_id(move.new_id) + " (sync --auto runs them itself)",
         "envflow check " + target.name + " --rev " + model::short_id(move.new_id));
  return false;
}

bool Judge::backports_done(const model::RefMove& move, const policy::Environment& target) {
  const std::vector<records::BackportIssue> open = records::open_backports(m_after);
  if (open.empty()) {
    return true;
  }
  std::string message = target.name + " has " + std::to_string(open.size()) + " hotfix" +
                        (open.size() == 1 ? " that is" : "es that are") + " not back in " +
                        m_config.first().name + " yet; promoting into " + target.name +
                        " is refused until " + (open.size() == 1 ? "it is" : "they are") +
                        " back-ported:";
  for (const auto& issue : open) {
    message += "\n  back-port issue " + std::to_string(issue.id) + ": hotfix " + issue.hotfix_tag +
               (issue.hotfix.empty() ? "" : " (" + issue.hotfix + ")") +
               ": run envflow backport apply " + std::to_string(issue.id);
  }
  message += "\nthen promote " + m_config.first().name + " through the pipeline (" +
             records::sync_chain(m_config) + ")";
  refuse(move, Gate::backport, message,
         "envflow backport apply " + std::to_string(open.front().id));
  return false;
}

bool Judge::hotfix_kept(const model::RefMove& move, const policy::Environment& target) {
  if (model::is_zero(move.old_id)) {
    return true;
  }
  const workspace::SemanticDiff diff =
      workspace::semantic_diff(m_repo, m_before.cache, move.old_id, move.new_id);
  const auto problems = records::hotfix_undo_problems(m_before, move.old_id, move.new_id, diff);
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

void Judge::judge_hotfix(const model::RefMove& move, const policy::Environment& previous,
                         const policy::Environment& env) {
  const auto previous_head = m_after.head(previous);
  if (!may(Right::hotfix)) {
    refuse(move, Gate::identity,
           model::short_id(move.new_id) + " is not contained in " + previous.name +
               " (after this change): " + env.name + " moves by promotion from " + previous.name +
               " (envflow sync " + previous.name + "), or by a hotfix from a hotfixer (" +
               policy::PipelineConfig::groups_text(m_config.hotfixers) + "), and " + who() +
               " is not one");
    return;
  }
  std::vector<std::string> commits;
  if (!model::is_zero(move.old_id) && !m_repo.is_ancestor(move.old_id, move.new_id)) {
    const auto live_commit = release::live_release_commit(m_before);
    const auto dropped = m_repo.commits_between(move.new_id, move.old_id);
    const bool from_live = live_commit && *live_commit != move.old_id &&
                           m_repo.is_ancestor(*live_commit, move.old_id) &&
                           m_repo.is_ancestor(*live_commit, move.new_id);
    const bool nothing_lost =
        std::all_of(dropped.begin(), dropped.end(),
                    [&](const std::string& id) { return contains(previous_head, id); });
    if (!from_live || !nothing_lost) {
      refuse(move, Gate::fast_forward,
             "not a fast-forward: " + env.name + " is at " + model::short_id(move.old_id) +
                 ", which " + model::short_id(move.new_id) +
                 " does not contain; a hotfix builds on " + env.name +
                 "'s head, or, after a rollback, on the live release (envflow hotfix start "
                 "does that), and never drops a commit " +
                 previous.name + " lacks");
      return;
    }
    commits = m_repo.commits_between(*live_commit, move.new_id);
  } else {
    commits = entering(move);
  }
  for (const auto& id : commits) {
    if (contains(previous_head, id)) {
      refuse(move, Gate::fast_forward,
             "this change mixes a promotion from " + previous.name + " (" + model::short_id(id) +
                 ") with hotfix commits; promote first, then push the hotfix");
      return;
    }
  }
  if (authority_only() || !content_valid(move, env, commits) || !overrides_fit(move, env)) {
    return;
  }
  if (m_config.hotfix_approvals > 0 &&
      !approved(move, "the hotfix " + model::short_id(move.new_id), " before it goes onto " + env.name,
                records::without(records::hotfix_approvals_for(m_after, move.new_id), m_person),
                m_config.hotfix_approvals, m_config.hotfix_approvers, env.name)) {
    return;
  }
  note(env.name + ": hotfix of " + plural(commits.size(), "commit") + " by " +
       (m_person.empty() ? who() : m_person) + ", " + model::short_id(move.old_id) + ".." +
       model::short_id(move.new_id));
}

bool Judge::is_hotfix_commit(const std::string& commit) const {
  if (m_config.environments.size() < 2) {
    return false;
  }
  const policy::Environment& previous = m_config.environments[m_config.environments.size() - 2];
  return !contains(m_after.head(previous), commit);
}

} // namespace envflow::core::pipeline::judging
