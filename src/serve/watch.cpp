#include "serve/watch.h"

#include "git/repo.h"
#include "util/error.h"

namespace envflow::serve {

std::string ref_fingerprint(const git::Repository& repo) {
  std::string text;
  for (const std::string& name : repo.list_refs("refs/*")) {
    text += name;
    text += ' ';
    text += repo.ref_target(name).value_or("-");
    text += '\n';
  }
  return text;
}

RefWatch::RefWatch(std::string repo_path, std::chrono::milliseconds interval)
    : m_repo_path(std::move(repo_path)), m_interval(interval), m_thread([this] { run(); }) {}

RefWatch::~RefWatch() { stop(); }

std::uint64_t RefWatch::version() const {
  const std::lock_guard<std::mutex> lock(m_mutex);
  return m_stopping ? 0 : m_version;
}

std::uint64_t RefWatch::wait(std::uint64_t seen, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(m_mutex);
  m_changed.wait_for(lock, timeout, [&] { return m_stopping || m_version != seen; });
  return m_stopping ? 0 : m_version;
}

void RefWatch::poke() {
  const std::lock_guard<std::mutex> lock(m_mutex);
  m_poked = true;
  m_tick.notify_one();
}

void RefWatch::stop() {
  {
    const std::lock_guard<std::mutex> lock(m_mutex);
    m_stopping = true;
  }
  m_tick.notify_all();
  m_changed.notify_all();
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

void RefWatch::run() {
  std::string last;
  bool first = true;
  while (true) {
    std::string now;
    try {
      // Opened anew each time: cheap next to a page, and a repository
      // replaced on disk (a re-clone, a restore) is seen as it is.
      now = ref_fingerprint(git::Repository::open(m_repo_path));
    } catch (const std::exception&) {
      now = last; // unreadable for a moment (a ref being written): look again later
    }
    std::unique_lock<std::mutex> lock(m_mutex);
    if (!first && now != last) {
      ++m_version;
      m_changed.notify_all();
    }
    first = false;
    last = std::move(now);
    m_tick.wait_for(lock, m_interval, [&] { return m_stopping || m_poked; });
    m_poked = false;
    if (m_stopping) {
      return;
    }
  }
}

} // namespace envflow::serve
