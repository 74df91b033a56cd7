#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "content/validator.h"

namespace envflow::git {
class Repository;
}

namespace envflow::core::workspace {

struct CacheLimits {
  // Size of the cache folder's files above which it is pruned (to half of
  // this, keeping the results the last run used and then the newest).
  std::uint64_t max_bytes = std::uint64_t{256} << 20;
  // Files above which they are merged into one.
  std::size_t max_files = 16;

  // The defaults, with $ENVFLOW_CACHE_MAX_MB overriding max_bytes.
  static CacheLimits from_env();
};

// Per-file validation results on disk, in a folder of its own (normally
// <common git dir>/envflow/cache/).
//
// The folder holds immutable files ("segments"), each written to a temporary
// name and renamed into place, so a reader never sees half a file. A run
// reads every segment of its context once, and writes at most one new
// segment with what it computed; when there are too many segments or they
// take too much space, the run that notices merges them into one and removes
// the rest. Readers skip missing, truncated or corrupt segments (a checksum
// covers each); concurrent runs at worst compute a result twice. Nothing
// outside the folder is ever written, so it is safe in a server hook's
// quarantine; when the folder cannot be written the run goes on without it.
class DiskCache : public content::ResultCache {
public:
  explicit DiskCache(std::string dir, CacheLimits limits = {});
  ~DiskCache() override;
  DiskCache(const DiskCache&) = delete;
  DiskCache& operator=(const DiskCache&) = delete;

  void open(const std::string& context) override;
  std::optional<std::string_view> find(std::string_view id, std::string_view path) override;
  void insert(std::string_view id, std::string_view path, std::string_view result) override;
  // Snapshot reports live apart, one file each under snapshots/ (the 32
  // newest kept): a run they answer reads one small file, no segment.
  std::optional<std::string_view> find_snapshot(std::string_view id) override;
  void insert_snapshot(std::string_view id, std::string_view result) override;
  void close() noexcept override;

  struct Stats {
    std::size_t hits = 0;
    std::size_t misses = 0;
    std::size_t entries = 0;  // results readable at open
    std::size_t segments = 0; // segment files of this context at open
    bool wrote = false;       // close() wrote a segment
    bool snapshot = false;    // the run was answered by a snapshot report
  };
  // Counts of the last run (open to close).
  Stats stats() const;
  const std::string& dir() const;

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// <common git dir>/envflow/cache/ of `repo` (with a trailing '/').
std::string cache_dir(const git::Repository& repo);

// What the cache folder of the repository containing `folder` holds.
struct CacheUsage {
  std::string dir;
  std::size_t files = 0;
  std::uint64_t bytes = 0;
};
CacheUsage cache_usage(const std::string& folder);

// Remove every cached result of the repository containing `folder` (the
// whole cache folder). Throws util::IoError when the folder cannot be removed.
struct ClearedCache {
  std::string dir;
  std::size_t removed = 0; // files removed
};
ClearedCache clear_cache(const std::string& folder);

// The cache of results of the repository the current directory belongs to,
// found when the first validation starts (so after `-C`); nullptr when
// ENVFLOW_NO_CACHE is set to anything but "" or "0". With
// ENVFLOW_CACHE_TRACE set, each validation prints its cache hits and misses
// on stderr. There is no process-wide cache: whoever opens the repository
// (the CLI, once per run) owns this one and hands it on
// (pipeline::SessionOptions::cache, model::Pipeline::cache), and everything
// that validates or remembers facts by object id (options_for, ObjectMemo,
// semantic_diff) uses the cache it is given, none when given nullptr.
std::unique_ptr<content::ResultCache> repository_cache();

} // namespace envflow::core::workspace
