// envflow hold: holds on auto-promotion (issue 7). Being built; see the
// sync --auto work.
#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "util/error.h"

namespace envflow::cli {

Runner setup_hold(CLI::App& app, Globals& /*globals*/) {
  app.require_subcommand(1);
  app.add_subcommand("list", "Environments where auto-promotion is held");
  app.add_subcommand("release", "Release the hold on an environment");
  return [] () -> int { throw util::UsageError("envflow hold is not built yet"); };
}

} // namespace envflow::cli
