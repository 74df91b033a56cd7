#include "core/hotfix.h"

#include <algorithm>

#include "content/schema.h"
#include "content/validator.h"
#include "core/audit.h"
#include "core/diff.h"
#include "core/overrides.h"
#include "core/release.h"
#include "core/sources.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::core {

namespace {

std::string short_id(const std::string& id) { return id.substr(0, 7); }

std::string head_or_refuse(const git::Repository& repo, const Environment& env) {
  const auto head = repo.ref_target("refs/heads/" + env.branch);
  if (!head) {
    throw util::Refused("branch '" + env.branch + "' of " + env.name +
                        " does not exist; run envflow doctor");
  }
  return *head;
}

void require_hotfixer(const PipelineConfig& config, const std::string& actor) {
  if (!config.member(actor, config.hotfixers)) {
    throw util::Refused(actor + " may not finish a hotfix (hotfixer groups: " +
                        (config.hotfixers.empty() ? std::string("(none)")
                                                  : util::join(config.hotfixers, ", ")) +
                        "); ask an admin to add you with envflow config edit");
  }
}

std::string describe_diagnostics(const content::ValidationReport& report) {
  std::string text;
  for (const auto& d : report.diagnostics) {
    text += "\n  " + d.to_text();
  }
  return text;
}

} // namespace

bool valid_hotfix_name(const std::string& name) {
  // A letter or digit, then letters, digits, '.', '_' and '-': no character
  // a shell, a URL or git's revision syntax reads specially, so the name can
  // be printed in hints and passed to any tool as it is. git's own rules
  // (check-ref-format) on top: no "..", no trailing '.' or ".lock".
  const auto plain = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (name.empty() || name.size() > 100 || !plain(name.front()) || name.back() == '.' ||
      util::ends_with(name, ".lock") || name.find("..") != std::string::npos) {
    return false;
  }
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return plain(c) || c == '.' || c == '_' || c == '-'; });
}

HotfixStartResult start_hotfix(git::Repository& repo, const PipelineConfig& config,
                               const std::string& name, const std::string& actor) {
  if (!valid_hotfix_name(name)) {
    throw util::UsageError(util::shell_quoted(util::printable(name), util::Quote::always) +
                           " cannot name a hotfix branch: use a letter or digit, then letters, "
                           "digits, '.', '_' and '-' (like fix-tone or 2026.01_tone; at most 100 "
                           "characters, no '..', not ending in '.' or '.lock')");
  }
  HotfixStartResult result;
  result.name = name;
  result.branch = std::string(k_hotfix_prefix) + name;
  const std::string ref = "refs/heads/" + result.branch;
  if (config.by_branch(result.branch) != nullptr) {
    throw util::UsageError(result.branch + " is an environment's branch; pick another name");
  }
  const Environment& last = config.last();
  const bool worktree = !repo.is_bare();
  if (const auto existing = repo.ref_target(ref)) {
    // A run stopped (killed) after creating the branch but before switching
    // to it: the branch is still at the last environment's head, HEAD
    // elsewhere. Finish the switch; the index tells whether the files were
    // already checked out.
    if (worktree && repo.head_branch() != result.branch &&
        existing == repo.ref_target("refs/heads/" + last.branch)) {
      result.commit = *existing;
      const bool files_done = index_holds(repo, *existing);
      if (!files_done) {
        const auto dirty = repo.dirty_paths();
        if (!dirty.empty()) {
          throw util::Refused(result.branch + " exists but is not checked out, and the working " +
                              "tree has uncommitted changes (" + util::join(dirty, ", ") +
                              "); commit or stash them, then run: git switch " + result.branch);
        }
      }
      repo.checkout_branch(result.branch, files_done ? *existing : "");
      result.checked_out = true;
      result.resumed = true;
      return result;
    }
    throw util::Refused(result.branch + " already exists; finish it (envflow hotfix finish --name " +
                        name + "), or pick another name");
  }
  result.commit = head_or_refuse(repo, last);
  if (worktree) {
    const auto dirty = repo.dirty_paths();
    if (!dirty.empty()) {
      throw util::Refused("the working tree has uncommitted changes (" + util::join(dirty, ", ") +
                          "); commit or stash them before starting a hotfix");
    }
  }
  AuditRecord record;
  record.op = "hotfix-start";
  record.env = last.name;
  record.actor = actor;
  record.commit = result.commit;
  record.note = result.branch + " from " + last.name + " " + short_id(result.commit);
  try {
    commit_with_audit(repo, {git::RefUpdate{ref, std::nullopt, result.commit}}, record);
  } catch (const git::RefConflict&) {
    throw util::Refused(result.branch + " was created by someone else meanwhile; pick another "
                        "name");
  }
  if (worktree) {
    try {
      repo.checkout_branch(result.branch);
      result.checked_out = true;
    } catch (const util::Error& e) {
      throw util::IoError(result.branch + " was created at " + short_id(result.commit) +
                          " but could not be checked out (" + e.what() + "); run git switch " +
                          result.branch);
    }
  }
  return result;
}

HotfixFinishResult finish_hotfix(git::Repository& repo, const PipelineConfig& config,
                                 const HotfixFinishOptions& options) {
  HotfixFinishResult result;
  result.name = options.name;
  if (result.name.empty()) {
    const std::string current = repo.head_branch();
    if (!util::starts_with(current, k_hotfix_prefix)) {
      throw util::UsageError("not on a hotfix branch (HEAD is " +
                             (current.empty() ? std::string("detached") : current) +
                             "): switch to hotfix/NAME or pass --name NAME");
    }
    result.name = current.substr(std::string(k_hotfix_prefix).size());
  }
  if (!valid_hotfix_name(result.name)) {
    throw util::UsageError(util::shell_quoted(util::printable(result.name), util::Quote::always) +
                           " is not a hotfix name (see envflow hotfix start)");
  }
  result.branch = std::string(k_hotfix_prefix) + result.name;
  require_hotfixer(config, options.actor);

  const Environment& last = config.last();
  const Environment& first = config.first();
  result.environment = last.name;
  // Read every ref once: the transaction compares and swaps against these.
  result.previous_head = head_or_refuse(repo, last);
  const auto hotfix = repo.ref_target("refs/heads/" + result.branch);
  if (!hotfix) {
    throw util::UsageError("no branch " + result.branch + " (start one with envflow hotfix start " +
                           result.name + ")");
  }
  result.commit = *hotfix;
  const auto backports_head = repo.ref_target(k_backports_ref);
  const auto live_at_start = repo.ref_target(k_live_ref);
  const std::vector<BackportIssue> issues = read_backports(repo);

  if (!repo.is_bare() && repo.head_branch() == result.branch) {
    const auto dirty = repo.dirty_paths();
    if (!dirty.empty()) {
      throw util::Refused("uncommitted changes on " + result.branch + " (" +
                          util::join(dirty, ", ") +
                          ") would not be part of the hotfix: commit them (or stash them) first");
    }
  }
  if (result.commit == result.previous_head) {
    for (const auto& issue : issues) {
      if (issue.hotfix == result.name && !issue.commits.empty() &&
          issue.commits.back() == result.commit) {
        // Run again after it completed (or after a kill once its refs moved).
        throw util::Refused(result.branch + " is already finished: " + last.name + " is at its " +
                            "head " + short_id(result.commit) + ", released as " +
                            issue.hotfix_tag + " with back-port issue " +
                            std::to_string(issue.id) + "; nothing to do");
      }
    }
    throw util::Refused(result.branch + " has no commits beyond " + last.name + "'s head " +
                        short_id(result.previous_head) + ": commit the fix on it first");
  }
  if (!repo.is_ancestor(result.previous_head, result.commit)) {
    throw util::Refused(last.name + " moved since " + result.branch + " was started (or the " +
                        "branch does not come from " + last.name + "): " + last.name +
                        " is at " + short_id(result.previous_head) + ", which " + result.branch +
                        " does not contain; rebase it: git rebase " + last.branch + " " +
                        result.branch);
  }
  const std::vector<std::string> newest_first =
      repo.commits_between(result.previous_head, result.commit);
  result.commits.assign(newest_first.rbegin(), newest_first.rend());
  // A hotfix holds only its own commits: content from the other environments
  // reaches the last one through sync.
  for (size_t i = 0; i + 1 < config.environments.size(); ++i) {
    const Environment& env = config.environments[i];
    const auto head = repo.ref_target("refs/heads/" + env.branch);
    if (!head) {
      continue;
    }
    for (const auto& id : result.commits) {
      if (repo.is_ancestor(id, *head)) {
        throw util::Refused(result.branch + " contains " + short_id(id) + " \"" +
                            repo.commit(id).summary + "\", which is already on " + env.name +
                            ": a hotfix holds only new commits; promote that content with " +
                            "envflow sync instead");
      }
    }
  }

  content::ValidateOptions validate_options;
  validate_options.max_file_size = config.max_file_size;
  TreeSource tree(repo, result.commit);
  const auto report = content::validate(tree, validate_options, content::SchemaSet::builtin());
  if (!report.ok()) {
    throw util::Refused("the hotfix head " + short_id(result.commit) + " does not validate:" +
                        describe_diagnostics(report) + "\nfix it on " + result.branch +
                        " and run envflow hotfix finish again");
  }
  const auto incompatible = incompatible_overrides(repo, config, last.name, result.commit);
  if (!incompatible.empty()) {
    throw util::Refused("the hotfix would break variable overrides of " + last.name + ":\n  " +
                        util::join(incompatible, "\n  ") +
                        "\nchange or unset them first (envflow var set/unset --env " + last.name +
                        ")");
  }
  if (options.no_sign && config.release_sign) {
    throw util::Refused("the policy requires signed releases (release.sign: true in "
                        "envflow.yaml); drop --no-sign and set up a signing key");
  }

  // The issue: what changed, field by field.
  BackportIssue issue;
  for (const auto& existing : issues) {
    issue.id = std::max(issue.id, existing.id);
  }
  issue.id += 1;
  issue.status = BackportIssue::Status::open;
  issue.hotfix = result.name;
  issue.commits = result.commits;
  for (const auto& item : semantic_diff(repo, result.previous_head, result.commit).items) {
    issue.changes.push_back(BackportChange{item.path, item.kind, item.name,
                                           std::string(change_name(item.change)), item.fields});
  }
  issue.summary = std::string(util::trim(options.message));
  if (issue.summary.empty()) {
    issue.summary = repo.commit(result.commit).summary;
  }
  issue.environment = last.name;
  issue.target = first.name;
  issue.opened_by = options.actor;
  issue.opened_at = now();

  ReleaseRequest request;
  request.commit = result.commit;
  request.bump = Bump::patch;
  request.message = options.message.empty() ? "Hotfix " + result.name : options.message;
  request.sign = !options.no_sign;
  request.hotfix = true;
  request.actor = options.actor;
  request.expected_live = live_at_start;
  for (const auto& r : list_releases(repo)) {
    if (r.live) {
      result.previous_live = r.tag;
    }
  }
  const PreparedRelease prepared = prepare_release(repo, config, request);
  result.tag = prepared.tag;
  result.notes = prepared.notes;
  issue.hotfix_tag = prepared.tag;

  std::vector<git::RefUpdate> updates;
  updates.push_back(
      git::RefUpdate{"refs/heads/" + last.branch, result.previous_head, result.commit});
  updates.insert(updates.end(), prepared.updates.begin(), prepared.updates.end());
  updates.push_back(stage_backports(repo, backports_head, {issue},
                                    "open back-port issue " + std::to_string(issue.id) +
                                        " for hotfix " + prepared.tag + " (" + result.branch +
                                        ")\n",
                                    options.actor));
  AuditRecord record;
  record.op = "hotfix";
  record.env = last.name;
  record.actor = options.actor;
  record.commit = result.commit;
  record.note = prepared.tag + " from " + result.branch + "; back-port issue " +
                std::to_string(issue.id) + " opened";
  try {
    commit_with_audit(repo, updates, record);
  } catch (const git::RefConflict& conflict) {
    throw util::Refused(conflict.ref() + " moved since this hotfix finish began; nothing " +
                        "changed; run it again");
  }
  result.issue = issue;
  result.worktree_note =
      update_checked_out(repo, last.branch, result.previous_head, result.commit);
  result.notify = notify_backport(repo, config, issue);
  return result;
}

} // namespace envflow::core
