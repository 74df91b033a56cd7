#include "core/release/backport_apply.h"

#include <optional>
#include <vector>

#include "core/model/refs.h"
#include "core/model/view.h"
#include "core/pipeline/rules.h"
#include "core/pipeline/session.h"
#include "core/release/worktree.h"
#include "util/error.h"
#include "util/file_lock.h"
#include "util/strings.h"
#include "util/time.h"

namespace envflow::core::release {

namespace {

using records::BackportIssue;

// Phase: an issue already closed. A run stopped (killed) between moving the
// branch and updating the checked-out working tree left index and files at
// the merge's first parent: finish that update, safely, as that run would have.
void finish_stopped_update(git::Repository& repo, const policy::Environment& first,
                           const std::string& first_head, BackportApplyResult& result) {
  const std::string& merge = result.issue.closed_in;
  if (merge.empty() || first_head != merge) {
    return;
  }
  const std::vector<std::string> parents = repo.commit(merge).parents;
  if (parents.size() == 2 && index_holds(repo, parents.front())) {
    result.worktree_note = update_checked_out(repo, first.branch, parents.front(), merge,
                                              &result.worktree_updated);
  }
}

// Phase: the checks made before merging. Said before merging (the rulebook
// judges the merge's push to the first environment the same way): a person
// who may not write there learns that, not whether the merge would conflict.
void refuse_unless_writer(const pipeline::Session& session, const policy::Environment& first) {
  if (!may(session.config(), session.actor(), pipeline::Right::write, first.name)) {
    throw util::Forbidden(session.actor() + " may not push to " + first.name +
                          " (write groups: " + policy::PipelineConfig::groups_text(first.write) +
                          "), and back-port apply merges into it: ask one of them");
  }
}

// Phase: a checked-out first branch must be clean.
void refuse_if_dirty(const git::Repository& repo, const policy::Environment& first, int id) {
  const auto dirty = repo.dirty_paths();
  if (!dirty.empty()) {
    throw util::Refused(first.branch + " is checked out with uncommitted changes (" +
                        util::join(dirty, ", ") + "); commit or stash them, then run " +
                        "envflow backport apply " + std::to_string(id) + " again");
  }
}

// Phase: the merge commit of `hotfix` into `first_head`, written but on no
// branch; a conflict is refused, listing each file.
std::string write_merge(git::Repository& repo, const policy::Environment& first,
                        const std::string& first_head, const std::string& hotfix,
                        const BackportIssue& issue, const std::string& label,
                        const std::string& actor) {
  const git::MergeResult merge = repo.merge_commits(first_head, hotfix);
  if (!merge.tree) {
    std::string message = "merging " + label + " into " + first.name + " conflicts in " +
                          std::to_string(merge.conflicts.size()) + " file" +
                          (merge.conflicts.size() == 1 ? "" : "s") + ":";
    for (const auto& path : merge.conflicts) {
      message += "\n  CONFLICT " + path;
    }
    message += "\nnothing was written. Resolve it by hand: git switch " + first.branch +
               " && git merge " + issue.hotfix_tag + ", fix the files, git commit and push; the "
               "issue closes itself once " + first.name + " contains the hotfix";
    throw util::Refused(message);
  }
  std::string commit_message = "Back-port hotfix " + issue.hotfix_tag + " into " + first.name +
                               " (back-port issue " + std::to_string(issue.id) + ")\n";
  if (!issue.summary.empty()) {
    commit_message += "\n" + issue.summary + "\n";
  }
  git::Person author = repo.default_person();
  if (actor.find('@') != std::string::npos) {
    author.email = actor;
  }
  return repo.write_commit(*merge.tree, {first_head, hotfix}, commit_message, author,
                           util::now());
}

} // namespace

BackportApplyResult apply_backport(pipeline::Session& session, int id) {
  const policy::PipelineConfig& config = session.config();
  const model::Pipeline pipeline = session.pipeline();
  git::Repository& repo = session.repo();
  const policy::Environment& first = config.first();
  // The working tree follows the first environment's branch when it is
  // checked out here and this clone's branch moves (not when the operation
  // goes straight to the server: git pull brings it then).
  const bool worktree = session.route() != pipeline::Route::push && !repo.is_bare() &&
                        repo.head_branch() == first.branch;
  // Held from the clean check to the update: a concurrent run must not
  // hash files this one is rewriting.
  std::optional<util::FileLock> lock;
  if (worktree) {
    lock = lock_worktree(repo);
  }
  BackportApplyResult result;
  result.branch = first.branch;
  result.issue = records::find_backport(records::effective_backports(pipeline), id);
  const std::string first_head = pipeline.require_head(first);
  result.previous_head = first_head;
  if (!result.issue.is_open()) {
    result.already = true;
    if (worktree) {
      finish_stopped_update(repo, first, first_head, result);
    }
    return result;
  }
  refuse_unless_writer(session, first);
  // Read every ref once: the change compares and swaps against these.
  const auto backports_head = pipeline.refs.target(model::k_backports_ref);
  BackportIssue issue =
      records::find_backport(records::read_backports_at(repo, pipeline.cache, backports_head), id);
  if (worktree) {
    refuse_if_dirty(repo, first, id);
  }
  const std::string hotfix = records::hotfix_head(repo, issue);
  const std::string label = "back-port issue " + std::to_string(id) + " (hotfix " +
                            issue.hotfix_tag + ")";
  const std::string actor = session.actor();
  result.merge_commit = write_merge(repo, first, first_head, hotfix, issue, label, actor);
  // Phase: move the branch and close the issue in one operation.
  issue.status = BackportIssue::Status::closed;
  issue.closed_by = actor;
  issue.closed_at = util::now();
  issue.closed_in = result.merge_commit;
  pipeline::Operation operation;
  operation.updates.push_back(
      git::RefUpdate{model::branch_ref(first), first_head, result.merge_commit});
  operation.updates.push_back(records::stage_backports(
      repo, backports_head, {issue},
      "applied " + label + " to " + first.name + " as " + model::short_id(result.merge_commit) +
          "\n",
      actor));
  session.apply(operation);
  result.issue = issue;
  if (worktree) {
    result.worktree_note = update_checked_out(repo, first.branch, first_head, result.merge_commit,
                                              &result.worktree_updated);
  }
  return result;
}

} // namespace envflow::core::release
