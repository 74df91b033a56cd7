#pragma once

#include <string>

#include "git/repo.h"
#include "util/file_lock.h"

// The checked-out working tree, for the operations that move a branch it may
// hold: back-port apply and hotfix start and finish.
namespace envflow::core::release {

// Hold the working tree of `repo` for one envflow operation that checks it
// is clean and then updates it (back-port apply, hotfix start and finish):
// a second one waits for the first, up to 30 s, instead of reading files the
// first is rewriting; then it is refused, to be run again. An flock(2) on
// envflow-worktree.flock in the git directory: the file stays (it is not a
// lock file in git's sense, whose presence means "held"), and the kernel
// releases the lock when the process ends, however it ends.
util::FileLock lock_worktree(const git::Repository& repo);

// If `branch` is checked out in the (non-bare) working tree, bring the
// working tree and index from `old_head` to `new_head` safely. Returns "" when
// done or not needed, else what the user should run.
std::string update_checked_out(git::Repository& repo, const std::string& branch,
                               const std::string& old_head, const std::string& new_head,
                               bool* updated = nullptr);

// True when the index holds exactly `commit`'s tree (every stage-0 entry's
// path, mode and blob, and nothing else): a checkout of it got as far as the
// index, or never began when `commit` is the old head.
bool index_holds(const git::Repository& repo, const std::string& commit);

} // namespace envflow::core::release
