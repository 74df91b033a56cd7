#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace envflow::util {

struct ProcessResult {
  int exit_code = -1; // -1 when it could not start or was killed by a signal
  std::string out;
  std::string err;
};

// Run `argv` (no shell: arguments pass through untouched) with `input` on
// its stdin, in `cwd` when given; capture stdout and stderr.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input = "",
                          const std::string& cwd = "");

// Run `argv` with the terminal's stdin/stdout/stderr (for $EDITOR). Returns the exit code.
int run_interactive(const std::vector<std::string>& argv);

} // namespace envflow::util

namespace envflow::util {

// Limits for run_bounded.
struct BoundedRun {
  std::vector<std::pair<std::string, std::string>> env; // set in the child's environment
  std::string cwd;                                       // "" = this process's
  int timeout_seconds = 0;                               // 0 = none
  size_t max_output = 16 * 1024; // bytes of output kept: the last ones
};

struct BoundedResult {
  int exit_code = -1;    // -1 when it could not start, was killed or timed out
  bool timed_out = false;
  std::string output;    // stdout and stderr as they came, the last `max_output` bytes
  bool truncated = false; // earlier output was dropped
  std::int64_t duration_ms = 0;
};

// Run `argv` (no shell) with stdin from /dev/null, stdout and stderr into
// one bounded buffer, in a process group of its own that is killed when
// `limits.timeout_seconds` pass. Throws IoError only when no process can be
// made; a command that cannot start exits 127.
BoundedResult run_bounded(const std::vector<std::string>& argv, const BoundedRun& limits);

// Split `command` into argv words at runs of spaces and tabs. No shell: no
// quoting, no variables, no globbing (wrap anything fancier in a script).
std::vector<std::string> split_command(const std::string& command);

} // namespace envflow::util
