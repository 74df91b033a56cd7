#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "util/error.h"

namespace envflow::cli {

Runner setup_sync(CLI::App& /*app*/, Globals& /*globals*/) {
  return [] () -> int { throw util::UsageError("envflow sync is not built yet"); };
}

} // namespace envflow::cli
