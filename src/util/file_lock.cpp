#include "util/file_lock.h"

#include <cerrno>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "util/error.h"

namespace envflow::util {

FileLock::FileLock(const std::string& path, std::chrono::milliseconds wait,
                   const std::string& busy) {
  m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (m_fd < 0) {
    throw IoError("cannot open the lock file " + path + ": " + std::strerror(errno));
  }
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    if (error == EINTR) {
      continue;
    }
    if (error != EWOULDBLOCK || std::chrono::steady_clock::now() >= deadline) {
      ::close(m_fd);
      m_fd = -1;
      if (error != EWOULDBLOCK) {
        throw IoError("cannot lock " + path + ": " + std::strerror(error));
      }
      throw Refused(busy);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = other.m_fd;
    other.m_fd = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  if (m_fd >= 0) {
    ::close(m_fd); // closing the last descriptor releases the lock
  }
}

} // namespace envflow::util
