#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace envflow::git {
class Repository;
}

namespace envflow::serve {

// Every reference of `repo` with its target, one "name id" line each: what
// changes when anything envflow shows changes (branches, tags, refs/envflow/*).
std::string ref_fingerprint(const git::Repository& repo);

// Watches a repository's references from a thread of its own and counts
// their changes, so the page's live updates (server-sent events) learn that
// refs moved, whoever moved them: the page, the CLI, a push.
class RefWatch {
public:
  // Start polling the repository at `repo_path` every `interval`.
  RefWatch(std::string repo_path, std::chrono::milliseconds interval);
  ~RefWatch();
  RefWatch(const RefWatch&) = delete;
  RefWatch& operator=(const RefWatch&) = delete;

  // How many times the references were seen to change (starts at 1).
  std::uint64_t version() const;
  // Block until version() differs from `seen`, stop() is called or
  // `timeout` passes; returns version() (0 once stopped).
  std::uint64_t wait(std::uint64_t seen, std::chrono::milliseconds timeout);
  // Look now instead of at the next tick (after an action of the page).
  void poke();
  // End the thread and wake every waiter. Idempotent.
  void stop();

private:
  void run();

  std::string m_repo_path;
  std::chrono::milliseconds m_interval;
  mutable std::mutex m_mutex;
  std::condition_variable m_changed; // waiters: the version moved or stopping
  std::condition_variable m_tick;    // the thread: poke or stop
  std::uint64_t m_version = 1;
  bool m_poked = false;
  bool m_stopping = false;
  std::thread m_thread;
};

} // namespace envflow::serve
