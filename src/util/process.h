#pragma once

#include <string>
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
