#pragma once

#include <stdexcept>
#include <string>

namespace envflow::util {

// The process exit codes (docs/commands/README.md), mapped in one place (cli/app.cpp).
enum class Exit : int { ok = 0, refused = 1, usage = 2, io = 3 };

// Base of every error envflow raises on purpose. `exit()` says how the
// process ends when it reaches the top level.
class Error : public std::runtime_error {
public:
  Error(Exit exit, const std::string& message)
      : std::runtime_error(message), m_exit(exit) {}
  Exit exit() const { return m_exit; }

private:
  Exit m_exit;
};

// A gate, policy or validation said no (exit 1).
class Refused : public Error {
public:
  explicit Refused(const std::string& message) : Error(Exit::refused, message) {}
};

// The policy does not let this identity do it (exit 1, like every refusal;
// HTTP 403 where that matters).
class Forbidden : public Refused {
public:
  explicit Forbidden(const std::string& message) : Refused(message) {}
};

// The caller's words are off (exit 2).
class UsageError : public Error {
public:
  explicit UsageError(const std::string& message) : Error(Exit::usage, message) {}
};

// Repository or I/O failure (exit 3).
class IoError : public Error {
public:
  explicit IoError(const std::string& message) : Error(Exit::io, message) {}
};

} // namespace envflow::util
