#include "core/release/hotfix.h"

#include <algorithm>
#include <optional>

#include "content/schema.h"
#include "content/validator.h"
#include "core/model/audit.h"
#include "core/model/view.h"
#include "core/pipeline/session.h"
#include "core/records/overrides.h"
#include "core/release/release.h"
#include "core/release/worktree.h"
#include "core/workspace/diff.h"
#include "core/workspace/sources.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::core::release {

namespace {

// Where a hotfix starts: what end users get (the live release), which is the
// last environment's head unless a rollback took live back.
struct StartPoint {
  std::string commit;
  std::string note; // "" when it is the head
};

StartPoint start_point(const model::Pipeline& pipeline) {
  const policy::Environment& last = pipeline.config.last();
  const std::string head = pipeline.require_head(last);
  const auto live = live_release_commit(pipeline);
  if (!live || *live == head) {
    return {head, ""};
  }
  std::string tag;
  for (const auto& r : list_releases(pipeline)) {
    if (r.commit == *live && pipeline.live() == r.tag_id) {
      tag = r.tag;
    }
  }
  return {*live, "started from the live release " + (tag.empty() ? model::short_id(*live) : tag) +
                     ", not from " + last.name + "'s head " + model::short_id(head) +
                     " (live was rolled back from it): the hotfix fixes what end users get"};
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

HotfixStartResult start_hotfix(pipeline::Session& session, const std::string& name) {
  git::Repository& repo = session.repo();
  const policy::PipelineConfig& config = session.config();
  const model::Pipeline pipeline = session.pipeline();
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
  const StartPoint from = start_point(pipeline);
  if (config.by_branch(result.branch) != nullptr) {
    throw util::UsageError(result.branch + " is an environment's branch; pick another name");
  }
  const bool worktree = !repo.is_bare();
  std::optional<util::FileLock> lock;
  if (worktree) {
    lock = lock_worktree(repo); // from the clean check to the switch
  }
  if (const auto existing = repo.ref_target(ref)) {
    // A run stopped (killed) after creating the branch but before switching
    // to it: the branch is still at the last environment's head, HEAD
    // elsewhere. Finish the switch; the index tells whether the files were
    // already checked out.
    if (worktree && repo.head_branch() != result.branch &&
        *existing == from.commit) {
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
  if (session.is_clone()) {
    // Someone else's hotfix of that name, on the server: never take it over.
    if (const auto theirs = session.refs().target(ref)) {
      throw util::Refused(ref + " already exists on " + session.remote() + " (at " +
                          model::short_id(*theirs) +
                          "), someone else's hotfix; pick another name, or "
                          "work on that one: git switch " +
                          result.branch);
    }
  }
  result.commit = from.commit;
  result.from_note = from.note;
  if (worktree) {
    const auto dirty = repo.dirty_paths();
    if (!dirty.empty()) {
      throw util::Refused("the working tree has uncommitted changes (" + util::join(dirty, ", ") +
                          "); commit or stash them before starting a hotfix");
    }
  }
  pipeline::Operation operation;
  operation.updates.push_back(git::RefUpdate{ref, std::nullopt, result.commit});
  try {
    session.apply(operation);
  } catch (const util::LostRace&) {
    throw util::Refused(result.branch + " was created by someone else meanwhile; pick another "
                        "name");
  }
  if (!repo.ref_target(ref)) {
    // Pushed to the server: this clone works on its own branch of that name.
    repo.update_refs({git::RefUpdate{ref, std::nullopt, result.commit}},
                     "envflow: hotfix start " + name);
  }
  if (worktree) {
    try {
      repo.checkout_branch(result.branch);
      result.checked_out = true;
    } catch (const util::Error& e) {
      throw util::IoError(result.branch + " was created at " + model::short_id(result.commit) +
                          " but could not be checked out (" + e.what() + "); run git switch " +
                          result.branch);
    }
  }
  return result;
}

namespace {

// Phase of finish_hotfix: the hotfix's name, from `--name` or the branch
// checked out, checked as start_hotfix checks it.
std::string finishing_name(const git::Repository& repo, const HotfixFinishOptions& options) {
  std::string name = options.name;
  if (name.empty()) {
    const std::string current = repo.head_branch();
    if (!util::starts_with(current, k_hotfix_prefix)) {
      throw util::UsageError("not on a hotfix branch (HEAD is " +
                             (current.empty() ? std::string("detached") : current) +
                             "): switch to hotfix/NAME or pass --name NAME");
    }
    name = current.substr(std::string(k_hotfix_prefix).size());
  }
  if (!valid_hotfix_name(name)) {
    throw util::UsageError(util::shell_quoted(util::printable(name), util::Quote::always) +
                           " is not a hotfix name (see envflow hotfix start)");
  }
  return name;
}

// Phase of finish_hotfix: refuse a hotfix that cannot finish: uncommitted
// changes on it, nothing committed (or finished already), not built on
// `from`.
void refuse_unfinished_branch(const git::Repository& repo, const policy::Environment& last,
                              const StartPoint& from, const HotfixFinishResult& result,
                              const std::vector<records::BackportIssue>& issues) {
  if (!repo.is_bare() && repo.head_branch() == result.branch) {
    const auto dirty = repo.dirty_paths();
    if (!dirty.empty()) {
      throw util::Refused("uncommitted changes on " + result.branch + " (" +
                          util::join(dirty, ", ") +
                          ") would not be part of the hotfix: commit them (or stash them) first");
    }
  }
  if (result.commit == result.previous_head || result.commit == from.commit) {
    for (const auto& issue : issues) {
      if (issue.hotfix == result.name && !issue.commits.empty() &&
          issue.commits.back() == result.commit) {
        // Run again after it completed (or after a kill once its refs moved).
        throw util::Refused(result.branch + " is already finished: " + last.name + " is at its " +
                            "head " + model::short_id(result.commit) + ", released as " +
                            issue.hotfix_tag + " with back-port issue " + std::to_string(issue.id) +
                            "; nothing to do");
      }
    }
    throw util::Refused(result.branch + " has no commits beyond " + model::short_id(from.commit) +
                        ": commit the fix on it first");
  }
  if (!repo.is_ancestor(from.commit, result.commit)) {
    throw util::Refused(last.name + " moved since " + result.branch + " was started (or the " +
                        "branch does not come from " + last.name + "): a hotfix must build on " +
                        model::short_id(from.commit) + ", which " + result.branch +
                        " does not contain; rebase it: git rebase " + model::short_id(from.commit) +
                        " " + result.branch);
  }
}

// Phase of finish_hotfix: the back-port issue it opens (all but its tag),
// with what changed, field by field, since `from`.
records::BackportIssue hotfix_issue(pipeline::Session& session, const StartPoint& from,
                                    const HotfixFinishResult& result,
                                    const HotfixFinishOptions& options,
                                    const std::vector<records::BackportIssue>& issues) {
  git::Repository& repo = session.repo();
  records::BackportIssue issue;
  for (const auto& existing : issues) {
    issue.id = std::max(issue.id, existing.id);
  }
  issue.id += 1;
  issue.status = records::BackportIssue::Status::open;
  issue.hotfix = result.name;
  issue.commits = result.commits;
  for (const auto& item :
       workspace::semantic_diff(repo, session.cache(), from.commit, result.commit).items) {
    issue.changes.push_back(
        records::BackportChange{item.path, item.kind, item.name,
                                std::string(workspace::change_name(item.change)), item.fields});
  }
  issue.summary = std::string(util::trim(options.message));
  if (issue.summary.empty()) {
    issue.summary = repo.commit(result.commit).summary;
  }
  issue.environment = session.config().last().name;
  issue.target = session.config().first().name;
  issue.opened_by = session.actor();
  issue.opened_at = model::now();
  return issue;
}

// Phase of finish_hotfix: every ref update of the one operation: the last
// environment to the hotfix, the release (tag, live), the issue (given its
// tag here), and the server's copy of the branch.
std::vector<git::RefUpdate> finishing_updates(pipeline::Session& session,
                                              const model::Pipeline& pipeline,
                                              const HotfixFinishOptions& options,
                                              HotfixFinishResult& result,
                                              records::BackportIssue& issue) {
  git::Repository& repo = session.repo();
  // The last environment moves to the hotfix: a fast-forward, or after a
  // rollback from live (the rulebook accepts dropping the rolled-back
  // commits only while the previous environment still has them).
  const std::string env_ref = model::branch_ref(session.config().last());
  std::vector<git::RefUpdate> updates;
  updates.push_back(git::RefUpdate{env_ref, result.previous_head, result.commit});
  const model::MovedRefs moved(session.refs(),
                               {model::RefMove{env_ref, result.previous_head, result.commit}});
  ReleaseRequest request;
  request.commit = result.commit;
  request.bump = Bump::patch;
  request.message = options.message.empty() ? "Hotfix " + result.name : options.message;
  request.sign = !options.no_sign;
  request.hotfix = true;
  request.actor = session.actor();
  request.expected_live = pipeline.live();
  for (const auto& r : list_releases(pipeline)) {
    if (r.live) {
      result.previous_live = r.tag;
    }
  }
  const PreparedRelease prepared = prepare_release(repo, pipeline.through(moved), request);
  result.tag = prepared.tag;
  result.notes = prepared.notes;
  issue.hotfix_tag = prepared.tag;
  updates.insert(updates.end(), prepared.updates.begin(), prepared.updates.end());
  updates.push_back(
      records::stage_backports(repo, session.refs().target(model::k_backports_ref), {issue},
                               "open back-port issue " + std::to_string(issue.id) + " for hotfix " +
                                   prepared.tag + " (" + result.branch + ")\n",
                               session.actor()));
  // The server's copy of the branch follows (a clone pushed it at start).
  const std::string branch_ref_name = "refs/heads/" + result.branch;
  if (session.is_clone()) {
    if (const auto theirs = session.refs().target(branch_ref_name); theirs && *theirs != result.commit) {
      updates.push_back(git::RefUpdate{branch_ref_name, theirs, result.commit});
    }
  }
  return updates;
}

} // namespace

HotfixFinishResult finish_hotfix(pipeline::Session& session, const HotfixFinishOptions& options) {
  git::Repository& repo = session.repo();
  const policy::PipelineConfig& config = session.config();
  const model::Pipeline pipeline = session.pipeline();
  std::optional<util::FileLock> lock;
  if (!repo.is_bare()) {
    lock = lock_worktree(
        repo); // from the clean check to the update of the last environment's files
  }
  HotfixFinishResult result;
  result.name = finishing_name(repo, options);
  result.branch = std::string(k_hotfix_prefix) + result.name;
  const std::string branch_ref_name = "refs/heads/" + result.branch;

  const policy::Environment& last = config.last();
  result.environment = last.name;
  result.previous_head = pipeline.require_head(last);
  const StartPoint from = start_point(pipeline);
  // The branch as this clone has it: the hotfix is what was committed here.
  const auto hotfix = repo.ref_target(branch_ref_name);
  if (!hotfix) {
    throw util::UsageError("no branch " + result.branch + " (start one with envflow hotfix start " +
                           result.name + ")");
  }
  result.commit = *hotfix;
  const std::vector<records::BackportIssue> issues = records::read_backports(pipeline);
  refuse_unfinished_branch(repo, last, from, result, issues);
  result.from_note = from.note;
  const std::vector<std::string> newest_first = repo.commits_between(from.commit, result.commit);
  result.commits.assign(newest_first.rbegin(), newest_first.rend());
  if (options.no_sign && config.release_sign) {
    throw util::Refused("the policy requires signed releases (release.sign: true in "
                        "envflow.yaml); drop --no-sign and set up a signing key");
  }

  records::BackportIssue issue = hotfix_issue(session, from, result, options, issues);
  pipeline::Operation operation;
  operation.updates = finishing_updates(session, pipeline, options, result, issue);
  operation.reason = options.message;
  try {
    session.apply(operation);
  } catch (const util::LostRace& lost) {
    throw util::Refused(lost.ref() + " moved since this hotfix finish began; nothing " +
                        "changed; run it again");
  }
  result.issue = issue;
  if (!session.is_clone()) {
    result.worktree_note =
        update_checked_out(repo, last.branch, result.previous_head, result.commit);
  }
  result.notify = notify_backport(repo, config, issue);
  return result;
}

} // namespace envflow::core::release
