#include "core/release/worktree.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "core/model/refs.h"
#include "util/error.h"

namespace envflow::core::release {

util::FileLock lock_worktree(const git::Repository& repo) {
  return util::FileLock(repo.git_dir() + "envflow-worktree.flock", std::chrono::seconds(30),
                        "another envflow operation has been updating the working tree of " +
                            repo.workdir() + " for 30 s; nothing was changed; run this again "
                            "when it is done");
}

std::string update_checked_out(git::Repository& repo, const std::string& branch,
                               const std::string& old_head, const std::string& new_head,
                               bool* updated) {
  if (updated != nullptr) {
    *updated = false;
  }
  if (repo.is_bare() || repo.head_branch() != branch || old_head == new_head) {
    return {};
  }
  try {
    repo.checkout_commit_over(new_head, old_head);
  } catch (const util::Error& e) {
    return "the working tree and index still hold " + branch + "'s previous head " +
           model::short_id(old_head) + " (" + e.what() +
           "); bring them up to date with: git read-tree " + "-m -u " + model::short_id(old_head) +
           " " + model::short_id(new_head);
  }
  if (updated != nullptr) {
    *updated = true;
  }
  return {};
}

bool index_holds(const git::Repository& repo, const std::string& commit) {
  const std::vector<git::TreeEntry> index = repo.list_index();
  const std::vector<git::TreeEntry> tree = repo.list_tree_ids(commit);
  return std::equal(index.begin(), index.end(), tree.begin(), tree.end(),
                    [](const git::TreeEntry& a, const git::TreeEntry& b) {
                      return a.path == b.path && a.mode == b.mode && a.id == b.id;
                    });
}

} // namespace envflow::core::release
