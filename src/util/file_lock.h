#pragma once

#include <chrono>
#include <string>

namespace envflow::util {

// An exclusive advisory lock (flock(2)) on the file at `path`, created when
// missing, held until the object is destroyed. The kernel drops it when the
// process dies, however it dies, so no stale lock is ever left behind and
// nothing needs cleaning up. It excludes only processes that take the same
// lock; plain git does not.
class FileLock {
public:
  // Wait up to `wait` while another process holds the lock, then throw
  // util::Refused with `busy` (the reason to try again later). Throws
  // util::IoError when the file cannot be opened.
  FileLock(const std::string& path, std::chrono::milliseconds wait, const std::string& busy);
  FileLock(FileLock&& other) noexcept : m_fd(other.m_fd) { other.m_fd = -1; }
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

private:
  int m_fd = -1;
};

} // namespace envflow::util
