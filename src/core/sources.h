#pragma once

#include <string>
#include <vector>

#include "content/source.h"

namespace envflow::git {
class Repository;
}

namespace envflow::core {

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
// workspace file and the content folders, skipping what .gitignore ignores
// when `repo` is given. Symbolic links are listed, never followed.
class WorktreeSource : public content::FileSource {
public:
  WorktreeSource(std::string root, const git::Repository* repo);
  std::vector<content::FileEntry> list() override;
  std::string read(const content::FileEntry& entry) override;

private:
  std::string m_root;
  const git::Repository* m_repo;
};

} // namespace envflow::core
