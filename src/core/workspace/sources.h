#pragma once

#include <string>
#include <vector>

#include "content/source.h"

namespace envflow::git {
class Repository;
}

namespace envflow::core::workspace {

// A commit's (or tree's) files, read straight from the object database:
// works in bare repositories and on quarantined objects in server hooks.
class TreeSource : public content::FileSource {
public:
  TreeSource(const git::Repository& repo, std::string commit_or_tree);
  // Sizes are left 0 (unknown); size() reads one blob header.
  std::vector<content::FileEntry> list() override;
  std::string read(const content::FileEntry& entry) override;
  std::uint64_t size(const content::FileEntry& entry) override;
  // The tree's id.
  std::string snapshot_id() override;

private:
  const git::Repository& m_repo;
  std::string m_tree;
};

// What is staged: the index (honouring GIT_INDEX_FILE, as git sets it for
// `git commit -a` and `git commit PATH` in hooks).
class IndexSource : public content::FileSource {
public:
  explicit IndexSource(const git::Repository& repo);
  std::vector<content::FileEntry> list() override;
  std::string read(const content::FileEntry& entry) override;

private:
  const git::Repository& m_repo;
};

// The files of a working tree rooted at `root` (with a trailing '/'): the
// workspace file and the content folders. Symbolic links are listed, never
// followed. When `repo` is given (its working tree is `root`), untracked
// files .gitignore ignores are skipped, and, with Ids::from_index, a file
// whose stat data matches its index entry (honouring GIT_INDEX_FILE) is
// listed with the index's blob id, unread, as `git status` trusts it: same
// size, mtime, ctime, inode, owner, type and executable bit; not modified
// in the second the index was written or later (racy); not converted by git
// (line endings, filters). Other files are listed without an id.
class WorktreeSource : public content::FileSource {
public:
  // Ids::none when every file is read anyway (no cache of results): the
  // index would save nothing.
  enum class Ids { none, from_index };
  WorktreeSource(std::string root, const git::Repository* repo, Ids ids = Ids::from_index);
  std::vector<content::FileEntry> list() override;
  // A file listed with an id is checked against it: when it changed since it
  // was listed, the blob it had then is returned, so the contents always
  // match the listing (and a result cached under that id is that blob's).
  std::string read(const content::FileEntry& entry) override;

private:
  std::string m_root;
  const git::Repository* m_repo;
  Ids m_ids;
};

} // namespace envflow::core::workspace
