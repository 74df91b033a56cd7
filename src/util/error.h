#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace envflow::util {

// The process exit codes (docs/commands/README.md), mapped in one place (cli/app.cpp).
enum class Exit : int { ok = 0, refused = 1, usage = 2, io = 3 };

// Base of every error envflow raises on purpose. `exit()` says how the
// process ends when it reaches the top level; `code()` a finer reason for
// scripts (the `code` of the JSON error object, docs/json.md: a short
// kebab-case word such as "unknown-environment"; "" when the exit code says
// it all); `hint()` how to mend it when that is known ("" otherwise; the
// message says it too, so the hint never has to be shown apart).
class Error : public std::runtime_error {
public:
  Error(Exit exit, const std::string& message, std::string code = {}, std::string hint = {});
  Exit exit() const { return m_exit; }
  const std::string& code() const { return m_code; }
  const std::string& hint() const { return m_hint; }

private:
  Exit m_exit;
  std::string m_code;
  std::string m_hint;
};

// An error that ends the process with `k_exit`; the three kinds below.
template <Exit k_exit> class ExitError : public Error {
public:
  explicit ExitError(const std::string& message, std::string code = {}, std::string hint = {});
};

// Generated once, in util/error.cpp: a throw site then calls them instead of
// holding their code (docs/performance.md, "Build cost").
extern template class ExitError<Exit::refused>;
extern template class ExitError<Exit::usage>;
extern template class ExitError<Exit::io>;

// A gate, policy or validation said no (exit 1).
using Refused = ExitError<Exit::refused>;

// Another operation moved a ref this one leases (only operations on the
// same thing race): nothing changed; run it again.
class LostRace : public Refused {
public:
  LostRace(std::string ref, const std::string& message)
      : Refused(message, "lost-race", "run it again"), m_ref(std::move(ref)) {}
  const std::string& ref() const { return m_ref; }

private:
  std::string m_ref;
};

// A compare-and-swap ref update found `ref` at another value than the one it
// expected: nothing was written. Not a util::Error, so no catch of those
// swallows it: whoever made the update says what it means (a lost race, a
// retry); one that reaches the top level is reported as a lost race.
class RefConflict : public std::runtime_error {
public:
  RefConflict(std::string ref, const std::string& message)
      : std::runtime_error(message), m_ref(std::move(ref)) {}
  const std::string& ref() const { return m_ref; }

private:
  std::string m_ref;
};

// A reference another process holds locked (git's `<ref>.lock` file) for
// longer than a ref update waits: refused (code "locked"), naming the lock
// file to remove once the user knows no process is using it (as git does).
class RefLocked : public Refused {
public:
  // `lock_files`: the lock of `ref` first, then any other of the update's.
  RefLocked(std::string ref, std::vector<std::string> lock_files);
  const std::string& ref() const { return m_ref; }
  const std::vector<std::string>& lock_files() const { return m_lock_files; }

private:
  std::string m_ref;
  std::vector<std::string> m_lock_files;
};

// The policy does not let this identity do it (exit 1, like every refusal;
// HTTP 403 where that matters). Code "forbidden".
class Forbidden : public Refused {
public:
  explicit Forbidden(const std::string& message, std::string hint = {})
      : Refused(message, "forbidden", std::move(hint)) {}
};

// The caller's words are off (exit 2).
using UsageError = ExitError<Exit::usage>;

// Repository or I/O failure (exit 3).
using IoError = ExitError<Exit::io>;

} // namespace envflow::util
