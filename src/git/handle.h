#pragma once

// libgit2 handle ownership, private to src/git/, and what the files of
// Repository share: its Impl, ids and modes in libgit2's terms.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <git2.h>

#include "git/repo.h"
#include "util/error.h"

namespace envflow::git::detail {

template <auto F> struct Deleter {
  template <typename T> void operator()(T* p) const { F(p); }
};

using RepositoryPtr = std::unique_ptr<git_repository, Deleter<git_repository_free>>;
using ReferencePtr = std::unique_ptr<git_reference, Deleter<git_reference_free>>;
using ObjectPtr = std::unique_ptr<git_object, Deleter<git_object_free>>;
using CommitPtr = std::unique_ptr<git_commit, Deleter<git_commit_free>>;
using TreePtr = std::unique_ptr<git_tree, Deleter<git_tree_free>>;
using TreeEntryPtr = std::unique_ptr<git_tree_entry, Deleter<git_tree_entry_free>>;
using BlobPtr = std::unique_ptr<git_blob, Deleter<git_blob_free>>;
using IndexPtr = std::unique_ptr<git_index, Deleter<git_index_free>>;
using OdbPtr = std::unique_ptr<git_odb, Deleter<git_odb_free>>;
using RevwalkPtr = std::unique_ptr<git_revwalk, Deleter<git_revwalk_free>>;
using SignaturePtr = std::unique_ptr<git_signature, Deleter<git_signature_free>>;
using ConfigPtr = std::unique_ptr<git_config, Deleter<git_config_free>>;
using TransactionPtr = std::unique_ptr<git_transaction, Deleter<git_transaction_free>>;
using TreeBuilderPtr = std::unique_ptr<git_treebuilder, Deleter<git_treebuilder_free>>;
using DiffPtr = std::unique_ptr<git_diff, Deleter<git_diff_free>>;
using StatusListPtr = std::unique_ptr<git_status_list, Deleter<git_status_list_free>>;
using ReferenceIteratorPtr =
    std::unique_ptr<git_reference_iterator, Deleter<git_reference_iterator_free>>;

// Adapter for libgit2's `T**` out parameters: `git_x_lookup(out(ptr), …)`.
// `ptr` is set when the full expression ends: never use it in the same statement.
template <typename T, typename D> class Setter {
public:
  explicit Setter(std::unique_ptr<T, D>& target) : m_target(target) {}
  ~Setter() { m_target.reset(m_raw); }
  operator T**() { return &m_raw; }

private:
  std::unique_ptr<T, D>& m_target;
  T* m_raw = nullptr;
};

template <typename T, typename D> Setter<T, D> out(std::unique_ptr<T, D>& target) {
  return Setter<T, D>(target);
}

// libgit2's last error message (1.5 can have none).
inline std::string last_error() {
  const git_error* error = git_error_last();
  return error != nullptr && error->message != nullptr ? error->message : "unknown libgit2 error";
}

// Throw util::IoError "`context`: <libgit2 message>" when `rc` < 0.
inline void check(int rc, const std::string& context) {
  if (rc < 0) {
    throw util::IoError(context + ": " + last_error());
  }
}

std::string to_hex(const git_oid& oid);
git_oid from_hex(const std::string& hex);

// Each Mode and the filemode git stores it as.
inline constexpr std::pair<Mode, git_filemode_t> k_filemodes[] = {
    {Mode::regular, GIT_FILEMODE_BLOB},  {Mode::executable, GIT_FILEMODE_BLOB_EXECUTABLE},
    {Mode::symlink, GIT_FILEMODE_LINK},  {Mode::submodule, GIT_FILEMODE_COMMIT},
    {Mode::tree, GIT_FILEMODE_TREE}};

// Any other filemode (group-writable, unreadable) reads as a regular file.
Mode mode_of(git_filemode_t mode);
git_filemode_t filemode_of(Mode mode);

} // namespace envflow::git::detail

namespace envflow::git {

// What a Repository holds; its functions are defined in repo.cpp.
struct Repository::Impl {
  detail::RepositoryPtr repo;

  git_repository* get() const { return repo.get(); }

  // The tree of commit `commit_or_tree`, or that tree itself.
  detail::TreePtr tree(const std::string& commit_or_tree) const;
  // A signature of `person` at `time` (seconds since the epoch), or now.
  detail::SignaturePtr signature(const Person& person, std::optional<std::int64_t> time) const;
};

} // namespace envflow::git
