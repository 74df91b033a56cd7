#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

// The git adapter: the rest of envflow sees this small C++ API; libgit2
// types never leave src/git/. Object ids are 40-character hex strings.
namespace envflow::git {

inline constexpr std::string_view k_zero_id = "0000000000000000000000000000000000000000";

enum class Mode { regular, executable, symlink, submodule, tree };

struct TreeEntry {
  std::string path; // '/'-separated, relative to the tree root
  Mode mode = Mode::regular;
  std::string id;   // blob id
  std::uint64_t size = 0;
};

// A file time as git's index records it.
struct FileTime {
  std::int64_t seconds = 0;
  std::uint32_t nanoseconds = 0;
};

// A stage-0 index entry with the stat data git recorded for the file when it
// last hashed it or wrote it (git's `struct stat_data`). The index keeps 32
// bits of each number: `seconds` of the times hold the low 32 bits of the
// file's, `size` the low 32 bits of its size.
struct IndexStatEntry {
  std::string path; // '/'-separated, relative to the working tree
  std::string id;   // blob id
  Mode mode = Mode::regular;
  FileTime ctime;
  FileTime mtime;
  std::uint32_t dev = 0;
  std::uint32_t ino = 0;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint32_t size = 0;
};

// An index read from disk, with the time its file was written.
struct IndexStat {
  std::vector<IndexStatEntry> entries; // sorted by path
  // The index file's modification time, taken before reading it; nullopt
  // when there is no index file. A file modified at or after it may have
  // changed after its entry was recorded without its stat data showing it
  // (git's "racy git"): only reading the file tells.
  std::optional<FileTime> written;
};

// A file to put into a new tree.
struct NewFile {
  std::string id; // blob id (see Repository::write_blob)
  Mode mode = Mode::regular;
};

struct Person {
  std::string name;
  std::string email;
};

// One reference to set in an atomic, compare-and-swap update.
struct RefUpdate {
  std::string name;                     // full name, e.g. "refs/heads/test"
  std::optional<std::string> expected;  // current id it must have; nullopt: must not exist
  std::optional<std::string> target;    // new id; nullopt: delete
};

// One changed path between two trees.
struct Change {
  enum class Status { added, removed, modified };
  Status status = Status::modified;
  std::string path;
  std::string old_id; // "" when added
  std::string new_id; // "" when removed
  Mode mode = Mode::regular;
};

struct CommitInfo {
  std::string id;
  std::string tree;
  std::vector<std::string> parents;
  std::string summary;
  std::string message;
  Person author;
  std::int64_t time = 0; // committer time, seconds since the epoch
};

// An annotated tag object.
struct TagInfo {
  std::string id;      // the tag object's id
  std::string name;    // `tag` header
  std::string target;  // `object` header
  std::string target_type;
  Person tagger;
  std::int64_t time = 0;
  std::string message; // everything after the headers, signature included
  std::string raw;     // the whole object, as signed
};

// What a three-way merge gave: the merged tree, or the conflicted paths.
struct MergeResult {
  std::optional<std::string> tree;    // written tree id when the merge is clean
  std::vector<std::string> conflicts; // conflicted paths, sorted; empty when clean
};

class Repository {
public:
  enum class Open { discover, from_env };

  // Open the repository containing `path` (like git's discovery), or, with
  // Open::from_env, the one git's environment names (GIT_DIR,
  // GIT_OBJECT_DIRECTORY, quarantine alternates) as server hooks need.
  // Throws util::IoError when there is none.
  static Repository open(const std::string& path, Open how = Open::discover);
  // Create a repository at `path` (non-bare unless `bare`), initial branch `branch`.
  static Repository init(const std::string& path, bool bare, const std::string& branch);

  Repository(Repository&&) noexcept;
  Repository& operator=(Repository&&) noexcept;
  ~Repository();

  bool is_bare() const;
  std::string git_dir() const;  // with a trailing '/'
  std::string workdir() const;  // with a trailing '/', "" when bare
  std::string common_dir() const;
  // The folder git commands run in: the working tree, or the git folder
  // when bare (with a trailing '/').
  std::string root() const;

  // Resolve a revision (branch, tag, id, `HEAD~2`, ...) to a commit id.
  std::optional<std::string> resolve_commit(const std::string& rev) const;
  // Id a reference points at (peeling nothing), or nullopt when absent.
  std::optional<std::string> ref_target(const std::string& name) const;
  // Names of references matching `glob` (e.g. "refs/heads/*").
  std::vector<std::string> list_refs(const std::string& glob) const;
  // Branch HEAD points at (short name), even when unborn; "" when detached.
  std::string head_branch() const;
  // True when HEAD points at no commit yet.
  bool head_unborn() const;

  CommitInfo commit(const std::string& id) const;
  // Tree id of a commit, or of a tree.
  std::string tree_of(const std::string& commit_or_tree) const;
  // Every file of a tree (recursive, sorted by path), with sizes.
  std::vector<TreeEntry> list_tree(const std::string& commit_or_tree) const;
  // The contents of the file at `path` in a commit's tree, or nullopt.
  std::optional<std::string> read_path(const std::string& commit, const std::string& path) const;
  std::string read_blob(const std::string& id) const;
  // Stage-0 entries of the index (or of the index file `path`), sorted by path.
  std::vector<TreeEntry> list_index(const std::string& path = "") const;
  // The stage-0 entries of the index (or of the index file `path`) with the
  // stat data git keeps for each, read from disk now: a concurrent
  // `git add` is seen. Intent-to-add entries (no blob yet) are left out.
  IndexStat read_index_stat(const std::string& path = "") const;
  // True when a path is ignored by .gitignore rules.
  bool is_ignored(const std::string& path) const;
  // For each of `paths` (files, relative to the working tree), whether git
  // may convert it between its blob and the working tree, so that the file's
  // bytes can differ from its blob's: core.autocrlf (unless the `text`
  // attribute is unset), or one of the attributes text, eol, crlf, ident,
  // filter, working-tree-encoding set. Reads no attributes when no
  // attributes file exists that could apply (the global and system ones,
  // info/attributes, a .gitattributes in a folder of one of `paths`).
  std::vector<bool> may_convert(const std::vector<std::string>& paths) const;

  // Files that differ between two trees (commits or trees; "" = empty
  // tree), sorted by path. Identical subtrees are skipped without reading them.
  std::vector<Change> diff_trees(const std::string& from, const std::string& to) const;

  // True when `ancestor` is reachable from `descendant` (or equal).
  bool is_ancestor(const std::string& ancestor, const std::string& descendant) const;
  // Commits reachable from `to` and not from `from`, newest first.
  std::vector<std::string> commits_between(const std::string& from, const std::string& to) const;
  // Commits reachable from `to` and from none of `hidden` (commit ids; ids
  // that are not commits are ignored), newest first. What a push brings in.
  std::vector<std::string> commits_excluding(const std::string& to,
                                             const std::vector<std::string>& hidden) const;

  std::string write_blob(std::string_view data);
  // A tree holding `files` (path -> blob), nested folders created as needed.
  std::string write_tree(const std::map<std::string, NewFile>& files);
  // `base` tree (may be "") with `files` added or replaced and `removed` paths dropped.
  std::string update_tree(const std::string& base, const std::map<std::string, NewFile>& files,
                          const std::vector<std::string>& removed = {});
  // Write a commit object; moves no reference.
  std::string write_commit(const std::string& tree, const std::vector<std::string>& parents,
                           const std::string& message, const Person& author,
                           std::optional<std::int64_t> time = std::nullopt);

  // Write a tag object from its raw text (headers, blank line, message and
  // any signature); moves no reference.
  std::string write_tag_object(std::string_view raw);
  // The annotated tag `id`, or nullopt when `id` is not a tag object.
  std::optional<TagInfo> tag(const std::string& id) const;

  // Apply `updates` atomically and compare-and-swap: every ref is locked,
  // checked against `expected`, then all are written. Throws util::RefConflict
  // naming the first ref whose value differs, util::RefLocked when a ref stays
  // locked by someone else (nothing is changed then).
  void update_refs(const std::vector<RefUpdate>& updates, const std::string& reflog_message);

  // Point HEAD at branch `branch` (symbolic) and check out its tree into the
  // working tree and index (safe: never overwrites local changes).
  // `baseline` is the commit the working tree matches now when HEAD's
  // branch was moved underneath it ("" = HEAD's current tree).
  void checkout_branch(const std::string& branch, const std::string& baseline = "");
  // Paths with uncommitted changes (staged or not; untracked files excluded).
  std::vector<std::string> dirty_paths() const;

  std::optional<std::string> config_string(const std::string& key) const;
  void set_config_string(const std::string& key, const std::string& value);
  // user.name / user.email from config, else a fallback identity.
  Person default_person() const;

  // Three-way merge of commit `theirs` into commit `ours` (merge base found
  // by libgit2); writes no commit and moves no reference.
  MergeResult merge_commits(const std::string& ours, const std::string& theirs);
  // Check out `commit`'s tree into the working tree and index, taking
  // `baseline` (a commit) as what they hold now: files that differ from
  // `baseline` are never overwritten (safe checkout; throws util::IoError
  // naming the conflict and changes nothing). Moves no reference.
  void checkout_commit_over(const std::string& commit, const std::string& baseline);

  // Every file of a tree like list_tree, but without sizes (TreeEntry::size
  // is 0): only tree objects are read, never a blob's header (on 100,000
  // packed files, ~130 ms of a ~310 ms warm validation). For callers that read the
  // blobs they need anyway (a size guard can check what `read_blob` returns,
  // or ask blob_size for the few it needs).
  std::vector<TreeEntry> list_tree_ids(const std::string& commit_or_tree) const;
  // The size of blob `id` from its object header (the content is not inflated).
  std::uint64_t blob_size(const std::string& id) const;

private:
  struct Impl;
  explicit Repository(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

// The empty tree's id.
inline constexpr std::string_view k_empty_tree_id = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

} // namespace envflow::git
