#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "core/admin/setup.h"
#include "util/strings.h"

namespace envflow::cli {

Runner setup_setup(CommandLine& app, Globals& globals) {
  auto remote = std::make_shared<std::string>("origin");
  app.add_option("remote", *remote, "The server this clone reads the pipeline from")
      .option_text("REMOTE")
      .capture_default_str();
  return [remote, &globals] {
    const core::admin::SetupResult result = core::admin::setup_clone(".", *remote);
    if (globals.format == Format::json) {
      print_json({{"remote", result.remote},
                  {"refspec", core::admin::envflow_refspec(result.remote)},
                  {"refspec_added", result.refspec_added},
                  {"refspecs_removed", result.refspecs_removed},
                  {"branches_created", result.branches_created},
                  {"stale_refs_removed", result.stale_refs_removed},
                  {"stale_refs_kept", result.stale_refs_kept},
                  {"unshallowed", result.unshallowed},
                  {"hooks", result.hooks}});
      return 0;
    }
    const std::string name = util::printable(result.remote);
    std::printf("this clone reads the pipeline from %s (git config envflow.remote)\n",
                name.c_str());
    std::printf("fetch refspec %s %s\n", core::admin::envflow_refspec(result.remote).c_str(),
                result.refspec_added ? "added" : "already set");
    for (const auto& spec : result.refspecs_removed) {
      std::printf("removed the old refspec %s\n", spec.c_str());
    }
    if (result.unshallowed) {
      std::printf("fetched the whole history (this clone was shallow)\n");
    }
    for (const auto& branch : result.branches_created) {
      std::printf("created local branch %s (tracking %s/%s)\n", util::printable(branch).c_str(),
                  name.c_str(), util::printable(branch).c_str());
    }
    if (!result.stale_refs_removed.empty()) {
      std::printf("removed %zu local copies of %s's envflow refs (read from %s now)\n",
                  result.stale_refs_removed.size(), name.c_str(), name.c_str());
    }
    for (const auto& ref : result.stale_refs_kept) {
      std::fprintf(stderr,
                   "envflow: warning: %s differs from %s's and was kept: push it by hand if it "
                   "is work the server lacks, or delete it (git update-ref -d %s)\n",
                   util::printable(ref).c_str(), name.c_str(), util::printable(ref).c_str());
    }
    for (const auto& hook : result.hooks) {
      std::printf("installed %s\n", util::printable(hook).c_str());
    }
    std::printf("every envflow command now reads %s first; --push sends a change at once, "
                "envflow push sends what was kept here\n",
                name.c_str());
    return 0;
  };
}

} // namespace envflow::cli
