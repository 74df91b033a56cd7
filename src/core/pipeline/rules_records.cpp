#include "core/pipeline/judge.h"

namespace envflow::core::pipeline::judging {

void Judge::judge_local(const model::RefMove& move, const model::ClassifiedRef& c) {
  if (c.env_index < 0) {
    refuse(move, Gate::fast_forward,
           "there is no environment named '" + c.env + "' in the pipeline");
    return;
  }
  const policy::Environment& env = m_config.environments[static_cast<size_t>(c.env_index)];
  if (!fast_forward(move, "the local data of " + env.name)) {
    return;
  }
  if (!permitted(move, Right::local, env.name, "change the local data of " + env.name,
                 "local groups: " + policy::PipelineConfig::groups_text(env.local))) {
    return;
  }
  if (authority_only()) {
    return;
  }
  workspace::TreeSource source(m_repo, move.new_id);
  const auto report = content::validate(
      source, workspace::options_for(m_config, m_before.cache, content::Scope::local),
      content::SchemaSet::builtin());
  if (!report.ok()) {
    std::vector<std::string> lines;
    for (const auto& d : report.diagnostics) {
      if (d.severity == content::Severity::error && lines.size() < k_max_diagnostics) {
        lines.push_back(d.to_text());
      }
    }
    refuse(move, Gate::content,
           "the local data of " + env.name + " does not validate:\n  " + util::join(lines, "\n  "));
    return;
  }
  std::vector<std::string> problems;
  try {
    problems = records::local_override_problems(m_after, env);
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
  note(env.name + ": local data " + model::short_id(move.new_id) + " accepted");
}

void Judge::judge_config(const model::RefMove& move) {
  if (!fast_forward(move, "the pipeline config")) {
    return;
  }
  if (!permitted(move, Right::admin, "", "change the pipeline config",
                 "admins: " + policy::PipelineConfig::groups_text(m_config.admins))) {
    return;
  }
  if (authority_only()) {
    return;
  }
  if (const auto problem = policy::config_commit_problem(m_repo, move.new_id)) {
    refuse(move, Gate::content, *problem);
    return;
  }
  note("config " + model::short_id(move.new_id) + " accepted");
}

std::map<std::string, git::TreeEntry> Judge::issue_files(const std::string& id) const {
  std::map<std::string, git::TreeEntry> files;
  if (!model::is_zero(id)) {
    for (auto& entry : m_repo.list_tree(id)) {
      files.emplace(entry.path, std::move(entry));
    }
  }
  return files;
}

void Judge::judge_backports(const model::RefMove& move) {
  if (!fast_forward(move, "the back-port issues")) {
    return;
  }
  if (may(Right::admin)) {
    return;
  }
  const std::string mend = " (only envflow's own changes are accepted from " + who() +
                           "; an admin (" + policy::PipelineConfig::groups_text(m_config.admins) +
                           ") may mend issues by hand)";
  const auto before = issue_files(move.old_id);
  const auto now = issue_files(move.new_id);
  for (const auto& [path, entry] : before) {
    if (!now.contains(path)) {
      refuse(move, Gate::record,
             "back-port issue " + path + " is deleted: issues are never deleted" + mend);
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
    const std::string where = std::string(model::k_backports_ref) + ":" + path;
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
    records::BackportIssue issue;
    try {
      issue = records::BackportIssue::parse(m_repo.read_blob(entry.id), where);
    } catch (const util::Refused& e) {
      refuse(move, Gate::record, e.what());
      return;
    }
    const std::string name = "back-port issue " + std::to_string(issue.id);
    if (issue.file_name() != path) {
      refuse(move, Gate::record,
             where + " holds issue " + std::to_string(issue.id) + " but is named " + path);
      return;
    }
    if (old == before.end()) {
      if (!may(Right::hotfix)) {
        refuse(move, Gate::identity,
               name + " is opened by " + who() + ", who is not a hotfixer (" +
                   policy::PipelineConfig::groups_text(m_config.hotfixers) + ")" + mend);
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
    records::BackportIssue was;
    try {
      was = records::BackportIssue::parse(m_repo.read_blob(old->second.id), where);
    } catch (const util::Refused& e) {
      refuse(move, Gate::record,
             std::string("the issue on the server is malformed: ") + e.what() + mend);
      return;
    }
    nlohmann::json fixed_now = issue.to_json();
    nlohmann::json fixed_was = was.to_json();
    for (const char* key : {"status", "closed_by", "closed_at", "closed_in"}) {
      fixed_now.erase(key);
      fixed_was.erase(key);
    }
    if (fixed_now != fixed_was) {
      refuse(move, Gate::record,
             name + " is rewritten (only its status changes, from open to closed)" + mend);
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
             name + " is closed, but its hotfix commits are not all in " + m_config.first().name +
                 " (after this change): bring the hotfix back with "
                 "envflow backport apply " +
                 std::to_string(issue.id) + "; the issue then closes by itself" + mend);
      return;
    }
  }
}

const policy::Environment* Judge::promoted_env(const model::RefMove& move,
                                               const model::ClassifiedRef& c,
                                               const std::string& so, const std::string& to) {
  if (c.env_index < 1) {
    refuse(move, Gate::record,
           c.env_index == 0
               ? c.env + " is the first environment: nothing is promoted into it, so " + so
               : "there is no environment named '" + c.env + "' " + to);
    return nullptr;
  }
  return &m_config.environments[static_cast<size_t>(c.env_index)];
}

void Judge::judge_approval(const model::RefMove& move, const model::ClassifiedRef& c) {
  const std::string person = m_config.person(c.name);
  if (model::is_zero(move.new_id)) {
    // Withdrawing an approval (also of an environment the policy no
    // longer has): its author, or an admin mending.
    if (m_person.empty() || (person != m_person && !may(Right::admin))) {
      refuse(move, Gate::identity,
             who() + " may not withdraw " + person + "'s approval (only they, or an admin, may)");
    }
    return;
  }
  const policy::Environment* approved_env =
      promoted_env(move, c, "there is nothing to approve", "to approve for");
  if (approved_env == nullptr) {
    return;
  }
  if (!model::is_zero(move.old_id)) {
    refuse(move, Gate::record, "an approval never moves: " + move.ref + " already exists");
    return;
  }
  if (move.new_id != c.commit) {
    refuse(move, Gate::record,
           move.ref + " must point at the commit it names (" + model::short_id(c.commit) +
               "), not " + model::short_id(move.new_id));
    return;
  }
  if (person != m_person) {
    refuse(move, Gate::identity,
           "an approval is given by its author only: " + move.ref + " names " + person + ", and " +
               who() + " is " + (m_person.empty() ? std::string("nobody known") : m_person));
    return;
  }
  const policy::Environment& env = *approved_env;
  const policy::Environment& previous = m_config.environments[static_cast<size_t>(c.env_index) - 1];
  if (!is_commit(c.commit)) {
    refuse(move, Gate::record, model::short_id(c.commit) + " is not a commit");
    return;
  }
  const bool promotion = contains(m_after.head(previous), c.commit);
  // A hotfix candidate builds on what the last environment has or serves.
  const auto builds_on = [&](const std::optional<std::string>& base) {
    return base && m_repo.is_ancestor(*base, c.commit);
  };
  const bool hotfix =
      &env == &m_config.last() && !promotion && m_config.hotfix_approvals > 0 &&
      (builds_on(m_after.head(env)) || builds_on(release::live_release_commit(m_after)));
  const auto& groups = hotfix ? m_config.hotfix_approvers : env.approvers;
  if (!may(hotfix ? Right::approve_hotfix : Right::approve, env.name)) {
    refuse(move, Gate::identity,
           who() + " is not an approver for " + (hotfix ? "hotfixes on " : "") + env.name +
               " (approver groups: " + policy::PipelineConfig::groups_text(groups) + ")");
    return;
  }
  if (!promotion && !hotfix) {
    refuse(move, Gate::record,
           model::short_id(c.commit) + " is not on " + previous.name + ": only commits of " +
               previous.name + " can be approved for " + env.name);
    return;
  }
  note(person + " approves " + model::short_id(c.commit) + " for " + env.name);
}

void Judge::judge_hold(const model::RefMove& move, const model::ClassifiedRef& c) {
  const policy::Environment* held = promoted_env(move, c, "there is nothing to hold", "to hold");
  if (held == nullptr) {
    return;
  }
  const policy::Environment& env = *held;
  std::vector<std::string> groups = m_config.publishers;
  groups.insert(groups.end(), env.promote.begin(), env.promote.end());
  if (!permitted(move, Right::hold, env.name,
                 (model::is_zero(move.new_id) ? "release a hold on " : "hold ") + env.name,
                 "publishers and " + env.name +
                     "'s promote groups may: " + policy::PipelineConfig::groups_text(groups))) {
    return;
  }
  if (model::is_zero(move.new_id)) {
    return; // releasing: the ref goes, the record keeps who and when
  }
  if (!model::is_zero(move.old_id)) {
    refuse(move, Gate::record, "a hold never moves: release it and set a new one");
    return;
  }
  if (move.new_id != c.name) {
    refuse(move, Gate::record, move.ref + " must point at the hold commit it names");
    return;
  }
  const auto hold = records::read_hold(m_repo, move.new_id);
  if (!hold) {
    refuse(move, Gate::record,
           move.ref +
               " is not a hold envflow writes (a commit with the empty tree, no parent "
               "and a hold message of at most " +
               std::to_string(records::k_max_hold_message) + " bytes: envflow hold set makes one)");
    return;
  }
  if (hold->env != env.name || m_config.person(hold->actor) != m_person) {
    refuse(move, Gate::record,
           "the hold says it is on " + hold->env + " by " + hold->actor + ", but it is pushed to " +
               env.name + " by " + who());
    return;
  }
  if (hold->kind == records::Hold::Kind::manual && util::trim(hold->reason).empty()) {
    refuse(move, Gate::record, "a hold needs a reason");
    return;
  }
  note(env.name + ": " + hold->describe());
}

void Judge::judge_check(const model::RefMove& move, const model::ClassifiedRef& c) {
  const policy::Environment* checked = promoted_env(move, c, "it has no checks", "to check");
  if (checked == nullptr) {
    return;
  }
  const policy::Environment& env = *checked;
  if (!permitted(move, Right::check, env.name,
                 std::string(model::is_zero(move.new_id) ? "remove" : "record") +
                     " check results of " + env.name,
                 env.name + "'s promote groups: " +
                     policy::PipelineConfig::groups_text(env.promote) +
                     "; admins: " + policy::PipelineConfig::groups_text(m_config.admins))) {
    return;
  }
  if (model::is_zero(move.new_id)) {
    return; // removing a result (to run the check again): the record keeps who and when
  }
  if (!model::is_zero(move.old_id)) {
    refuse(move, Gate::record,
           "a check result never moves: " + move.ref +
               " already exists (remove it first; "
               "envflow check does that when it runs a check again)");
    return;
  }
  const auto check = std::find_if(env.checks.begin(), env.checks.end(),
                                  [&](const policy::Check& k) { return k.name == c.name; });
  if (check == env.checks.end()) {
    refuse(move, Gate::record,
           env.name + " has no check named '" + c.name + "' in the policy in force");
    return;
  }
  if (!is_commit(c.commit)) {
    refuse(move, Gate::record,
           move.ref + " names " + model::short_id(c.commit) + ", which is not a commit");
    return;
  }
  const auto result = read_check_result(m_repo, move.new_id);
  if (!result) {
    refuse(move, Gate::record,
           move.ref +
               " must point at a check result envflow writes (a commit with no parent "
               "whose tree holds only " +
               std::string(k_check_result_file) + ", as envflow check " + env.name +
               " records it)");
    return;
  }
  if (result->env != env.name || result->commit != c.commit || result->name != c.name) {
    refuse(move, Gate::record,
           "the result says it is check " + result->name + " of " +
               model::short_id(result->commit) + " for " + result->env +
               ", but it is recorded as " + move.ref);
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
            : release::allowed_signer_problem(m_before, result->to_yaml(), result->signature);
    if (problem) {
      refuse(move, Gate::record,
             "the policy signs releases with allowed signers, so a check result is signed by "
             "one too (envflow check signs it with the release signer): " +
                 move.ref + ": " + *problem);
      return;
    }
  }
  note(env.name + ": check " + c.name + " of " + model::short_id(c.commit) + " " +
       result->outcome());
}

} // namespace envflow::core::pipeline::judging
