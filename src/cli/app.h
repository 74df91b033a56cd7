#pragma once

namespace envflow::cli {

// Parse the command line, run the command, map every failure to an exit
// code (0 done, 1 refused, 2 usage, 3 repository or I/O error).
int run(int argc, char** argv);

} // namespace envflow::cli
