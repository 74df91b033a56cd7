#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Fault injection, a testing facility (docs/reliability.md): never set its
// variables in production.
//
//   ENVFLOW_FAULT=NAME:N        the N-th hit of point NAME kills the process
//   ENVFLOW_FAULT=*:N           the N-th hit of any point kills the process
//   ENVFLOW_FAULT_TRACE=FILE    every hit appends its name and a newline to FILE
//
// The kill is raise(SIGKILL): no destructor, atexit handler or buffered
// write runs, as when the machine loses power or the OOM killer strikes.
namespace envflow::util {

// Mark a point where a crash must leave the repository consistent. Costs one
// cached check when neither variable is set. `name` is a short static name
// such as "commit-written".
void fault_point(const char* name);

// Read both variables now and remove them from the environment, so no child
// process inherits them: a `git push` to a local path runs the server's hooks,
// which run envflow, which must not count hits of its own. Called first thing
// by the program.
void claim_fault_config();

// What ENVFLOW_FAULT asks for: kill at hit `hit` (1-based) of point `name`
// ("*" = any point).
struct FaultSpec {
  std::string name;
  std::uint64_t hit = 0;
};

// Parse an ENVFLOW_FAULT value; nullopt when it is malformed (then no fault
// is injected, and the first point hit says so on stderr).
std::optional<FaultSpec> parse_fault_spec(std::string_view text);

namespace detail {
// Read the environment again and reset the hit counts (tests only).
void reload_fault_config();
} // namespace detail

} // namespace envflow::util
