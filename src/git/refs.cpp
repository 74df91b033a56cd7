#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include <sys/statvfs.h>

#include "git/handle.h"
#include "git/repo.h"
#include "util/fault.h"
#include "util/strings.h"

namespace envflow::git {

using namespace detail;

std::optional<std::string> Repository::resolve_commit(const std::string& rev) const {
  ObjectPtr object;
  if (git_revparse_single(out(object), m_impl->get(), rev.c_str()) < 0) {
    return std::nullopt;
  }
  ObjectPtr commit;
  if (git_object_peel(out(commit), object.get(), GIT_OBJECT_COMMIT) < 0) {
    return std::nullopt;
  }
  return to_hex(*git_object_id(commit.get()));
}

std::optional<std::string> Repository::ref_target(const std::string& name) const {
  git_oid oid;
  const int rc = git_reference_name_to_id(&oid, m_impl->get(), name.c_str());
  if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC) {
    return std::nullopt;
  }
  check(rc, "reading " + name);
  return to_hex(oid);
}

std::vector<std::string> Repository::list_refs(const std::string& glob) const {
  ReferenceIteratorPtr iterator;
  check(git_reference_iterator_glob_new(out(iterator), m_impl->get(), glob.c_str()),
        "listing references");
  std::vector<std::string> names;
  const char* name = nullptr;
  while (git_reference_next_name(&name, iterator.get()) == 0) {
    names.emplace_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string Repository::head_branch() const {
  ReferencePtr head;
  const int rc = git_reference_lookup(out(head), m_impl->get(), "HEAD");
  if (rc < 0 || git_reference_type(head.get()) != GIT_REFERENCE_SYMBOLIC) {
    return {};
  }
  std::string target = git_reference_symbolic_target(head.get());
  const std::string prefix = "refs/heads/";
  return target.starts_with(prefix) ? target.substr(prefix.size()) : target;
}

bool Repository::head_unborn() const { return git_repository_head_unborn(m_impl->get()) == 1; }

namespace {

// The lock file libgit2 (and git) create to update `ref`.
std::string lock_file_of(const Repository& repo, const std::string& ref) {
  const bool shared = ref.starts_with("refs/");
  return (shared ? repo.common_dir() : repo.git_dir()) + ref + ".lock";
}

// True when `lock` was last written longer ago than update_refs waits.
bool older_than_wait(const std::string& lock) {
  std::error_code error;
  const auto written = std::filesystem::last_write_time(lock, error);
  return !error &&
         std::filesystem::file_time_type::clock::now() - written > std::chrono::seconds(5);
}

// A ref transaction needs a little room (a lock file and a reflog line per
// ref). libgit2 commits ref by ref, so running out of space half-way would
// leave some refs moved and others not: refuse before the first lock instead.
void require_room(const std::string& dir, std::size_t refs) {
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) {
    return; // nothing to go by: let the writes report
  }
  const std::uint64_t need = (64 + 16 * std::uint64_t{refs}) * 1024;
  const std::uint64_t free = std::uint64_t{fs.f_bavail} * fs.f_frsize;
  const bool inodes = fs.f_files == 0 || fs.f_favail >= 2 * refs + 8;
  if (free < need || !inodes) {
    throw util::IoError("cannot move refs: No space left on device (" +
                        std::to_string(free / 1024) + " KiB free on the file system of " + dir +
                        (inodes ? "" : ", no inodes left") + "; a ref update needs " +
                        std::to_string(need / 1024) + " KiB so that it cannot stop half-way); " +
                        "free some space and run the command again; no ref was changed");
  }
}

} // namespace

void Repository::update_refs(const std::vector<RefUpdate>& updates,
                             const std::string& reflog_message) {
  require_room(common_dir(), updates.size());
  TransactionPtr tx;
  check(git_transaction_new(out(tx), m_impl->get()), "starting ref transaction");
  for (auto update = updates.begin(); update != updates.end(); ++update) {
    // Another envflow (or git) holds the lock only for the moment of its own
    // transaction: wait for it, with growing pauses, for up to ~5 seconds;
    // a lock already older than that is not going away by waiting.
    const std::string lock = lock_file_of(*this, update->name);
    int rc = 0;
    for (int attempt = 0;; ++attempt) {
      rc = git_transaction_lock_ref(tx.get(), update->name.c_str());
      if (rc != GIT_ELOCKED || attempt >= 60 || (attempt == 0 && older_than_wait(lock))) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(5 + attempt * 5, 150)));
    }
    if (rc == GIT_ELOCKED) {
      // Name every lock in the way, not one per run (the earlier ones are ours).
      std::vector<std::string> locks{lock};
      for (auto later = update + 1; later != updates.end(); ++later) {
        std::string other = lock_file_of(*this, later->name);
        if (std::filesystem::exists(other)) {
          locks.push_back(std::move(other));
        }
      }
      throw util::RefLocked(update->name, std::move(locks));
    }
    check(rc, "locking " + update->name);
  }
  // Every ref is locked: what we read now cannot change before we commit.
  for (const auto& update : updates) {
    const std::optional<std::string> current = ref_target(update.name);
    if (current != update.expected) {
      throw util::RefConflict(update.name, update.name + " moved: expected " +
                                               update.expected.value_or("(absent)") + ", found " +
                                               current.value_or("(absent)"));
    }
  }
  const SignaturePtr sig = m_impl->signature(default_person(), std::nullopt);
  for (const auto& update : updates) {
    if (update.target) {
      const git_oid oid = from_hex(*update.target);
      check(git_transaction_set_target(tx.get(), update.name.c_str(), &oid, sig.get(),
                                       reflog_message.c_str()),
            "updating " + update.name);
    } else {
      check(git_transaction_remove(tx.get(), update.name.c_str()), "deleting " + update.name);
    }
  }
  util::fault_point("refs-locked"); // lock files written, no ref moved yet
  if (git_transaction_commit(tx.get()) < 0) {
    // libgit2 commits ref by ref: say which moved if it stopped half-way.
    const std::string cause = "committing ref transaction: " + last_error();
    std::vector<std::string> moved;
    std::vector<std::string> kept;
    for (const auto& update : updates) {
      (ref_target(update.name) == update.target ? moved : kept).push_back(update.name);
    }
    if (moved.empty()) {
      throw util::IoError(cause);
    }
    throw util::IoError(cause + "; it stopped half-way: " + util::join(moved, ", ") + " moved, " +
                        util::join(kept, ", ") + " did not; envflow doctor says " +
                        "how to mend it");
  }
  util::fault_point("refs-committed");
}

} // namespace envflow::git
