#include "git/repo.h"

#include <algorithm>

#include "git/handle.h"
#include "util/fault.h"

namespace envflow::git {

using namespace detail;

namespace {

// One side of a file-level change, from a tree entry.
void side_of(const git_tree_entry* entry, std::string& id, Mode& mode) {
  id = to_hex(*git_tree_entry_id(entry));
  mode = mode_of(git_tree_entry_filemode(entry));
}

bool is_tree(const git_tree_entry* entry) {
  return git_tree_entry_type(entry) == GIT_OBJECT_TREE;
}

// Every file of two trees that differs, as `git diff-tree -r` finds them:
// a merge walk of both entry lists in git's order, descending only into
// subtrees whose ids differ. (libgit2's tree diff builds an iterator entry
// with a full path for every file of every changed folder: 10 times slower
// on folders of tens of thousands of files.)
class TreeDiff {
public:
  TreeDiff(git_repository* repo, std::vector<Change>& out) : m_repo(repo), m_out(out) {}

  void walk(const git_tree* a, const git_tree* b, const std::string& prefix) {
    const size_t na = a != nullptr ? git_tree_entrycount(a) : 0;
    const size_t nb = b != nullptr ? git_tree_entrycount(b) : 0;
    size_t i = 0;
    size_t j = 0;
    while (i < na || j < nb) {
      const git_tree_entry* x = i < na ? git_tree_entry_byindex(a, i) : nullptr;
      const git_tree_entry* y = j < nb ? git_tree_entry_byindex(b, j) : nullptr;
      int order = 0;
      if (x == nullptr) {
        order = 1;
      } else if (y == nullptr) {
        order = -1;
      } else {
        order = git_tree_entry_cmp(x, y); // git's order: a folder sorts as "name/"
      }
      if (order < 0) {
        one_side(x, nullptr, prefix);
        ++i;
      } else if (order > 0) {
        one_side(nullptr, y, prefix);
        ++j;
      } else {
        both(x, y, prefix);
        ++i;
        ++j;
      }
    }
  }

private:
  TreePtr lookup(const git_tree_entry* entry) {
    TreePtr tree;
    check(git_tree_lookup(out(tree), m_repo, git_tree_entry_id(entry)), "reading tree");
    return tree;
  }

  // An entry only one side has (the other is nullptr): every file under it.
  void one_side(const git_tree_entry* x, const git_tree_entry* y, const std::string& prefix) {
    const git_tree_entry* entry = x != nullptr ? x : y;
    const std::string path = prefix + git_tree_entry_name(entry);
    if (is_tree(entry)) {
      const TreePtr tree = lookup(entry);
      walk(x != nullptr ? tree.get() : nullptr, y != nullptr ? tree.get() : nullptr, path + "/");
      return;
    }
    Change change;
    change.path = path;
    if (x != nullptr) {
      change.status = Change::Status::removed;
      side_of(x, change.old_id, change.mode);
    } else {
      change.status = Change::Status::added;
      side_of(y, change.new_id, change.mode);
    }
    m_out.push_back(std::move(change));
  }

  // The same name on both sides.
  void both(const git_tree_entry* x, const git_tree_entry* y, const std::string& prefix) {
    if (git_oid_equal(git_tree_entry_id(x), git_tree_entry_id(y)) &&
        git_tree_entry_filemode(x) == git_tree_entry_filemode(y)) {
      return;
    }
    if (is_tree(x) != is_tree(y)) { // a file became a folder or back: both sides in full
      one_side(x, nullptr, prefix);
      one_side(nullptr, y, prefix);
      return;
    }
    const std::string path = prefix + git_tree_entry_name(x);
    if (is_tree(x)) {
      const TreePtr ta = lookup(x);
      const TreePtr tb = lookup(y);
      walk(ta.get(), tb.get(), path + "/");
      return;
    }
    Change change;
    change.status = Change::Status::modified;
    change.path = path;
    Mode old_mode = Mode::regular;
    side_of(x, change.old_id, old_mode);
    side_of(y, change.new_id, change.mode);
    m_out.push_back(std::move(change));
  }

  git_repository* m_repo;
  std::vector<Change>& m_out;
};

} // namespace

std::vector<Change> Repository::diff_trees(const std::string& from, const std::string& to) const {
  TreePtr a;
  TreePtr b;
  if (!from.empty()) {
    a = m_impl->tree(from);
  }
  if (!to.empty()) {
    b = m_impl->tree(to);
  }
  std::vector<Change> changes;
  if (a != nullptr && b != nullptr && git_oid_equal(git_tree_id(a.get()), git_tree_id(b.get()))) {
    return changes;
  }
  TreeDiff(m_impl->get(), changes).walk(a.get(), b.get(), "");
  std::sort(changes.begin(), changes.end(),
            [](const Change& x, const Change& y) { return x.path < y.path; });
  return changes;
}

bool Repository::is_ancestor(const std::string& ancestor, const std::string& descendant) const {
  if (ancestor == descendant) {
    return true; // libgit2 does not count a commit as its own descendant
  }
  const git_oid a = from_hex(ancestor);
  const git_oid d = from_hex(descendant);
  const int rc = git_graph_descendant_of(m_impl->get(), &d, &a);
  check(rc, "comparing " + descendant + " with " + ancestor);
  return rc == 1;
}

namespace {

// A walk of the history of commit `to`, newest first, parents after children.
RevwalkPtr walk_from(git_repository* repo, const std::string& to) {
  RevwalkPtr walk;
  check(git_revwalk_new(out(walk), repo), "walking history");
  git_revwalk_sorting(walk.get(), GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME);
  const git_oid to_oid = from_hex(to);
  check(git_revwalk_push(walk.get(), &to_oid), "walking from " + to);
  return walk;
}

// The ids `walk` yields, in its order.
std::vector<std::string> walked_ids(git_revwalk* walk) {
  std::vector<std::string> ids;
  git_oid oid;
  while (git_revwalk_next(&oid, walk) == 0) {
    ids.push_back(to_hex(oid));
  }
  return ids;
}

} // namespace

std::vector<std::string> Repository::commits_between(const std::string& from,
                                                     const std::string& to) const {
  const RevwalkPtr walk = walk_from(m_impl->get(), to);
  if (!from.empty()) {
    const git_oid from_oid = from_hex(from);
    check(git_revwalk_hide(walk.get(), &from_oid), "walking to " + from);
  }
  return walked_ids(walk.get());
}

std::vector<std::string> Repository::commits_excluding(const std::string& to,
                                                       const std::vector<std::string>& hidden) const {
  const RevwalkPtr walk = walk_from(m_impl->get(), to);
  for (const auto& id : hidden) {
    const git_oid oid = from_hex(id);
    ObjectPtr object;
    if (git_object_lookup(out(object), m_impl->get(), &oid, GIT_OBJECT_COMMIT) < 0) {
      continue; // a ref may point at a tag, tree or blob: nothing to hide
    }
    check(git_revwalk_hide(walk.get(), &oid), "walking to " + id);
  }
  return walked_ids(walk.get());
}

MergeResult Repository::merge_commits(const std::string& ours, const std::string& theirs) {
  CommitPtr our_commit;
  CommitPtr their_commit;
  const git_oid our_oid = from_hex(ours);
  const git_oid their_oid = from_hex(theirs);
  check(git_commit_lookup(out(our_commit), m_impl->get(), &our_oid), "reading commit " + ours);
  check(git_commit_lookup(out(their_commit), m_impl->get(), &their_oid),
        "reading commit " + theirs);
  git_merge_options options = GIT_MERGE_OPTIONS_INIT;
  IndexPtr index;
  check(git_merge_commits(out(index), m_impl->get(), our_commit.get(), their_commit.get(),
                          &options),
        "merging " + theirs + " into " + ours);
  MergeResult result;
  if (git_index_has_conflicts(index.get()) != 0) {
    std::unique_ptr<git_index_conflict_iterator, Deleter<git_index_conflict_iterator_free>>
        iterator;
    check(git_index_conflict_iterator_new(out(iterator), index.get()), "listing conflicts");
    const git_index_entry* ancestor = nullptr;
    const git_index_entry* our = nullptr;
    const git_index_entry* their = nullptr;
    while (git_index_conflict_next(&ancestor, &our, &their, iterator.get()) == 0) {
      const git_index_entry* any = our != nullptr ? our : their != nullptr ? their : ancestor;
      if (any != nullptr && any->path != nullptr) {
        result.conflicts.emplace_back(any->path);
      }
    }
    std::sort(result.conflicts.begin(), result.conflicts.end());
    result.conflicts.erase(std::unique(result.conflicts.begin(), result.conflicts.end()),
                           result.conflicts.end());
    return result;
  }
  git_oid tree;
  check(git_index_write_tree_to(&tree, index.get(), m_impl->get()), "writing the merged tree");
  util::fault_point("tree-written");
  result.tree = to_hex(tree);
  return result;
}

} // namespace envflow::git
