#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "core/setup.h"
#include "git/repo.h"

namespace envflow::cli {

Runner setup_setup(CLI::App& app, Globals& /*globals*/) {
  auto remote = std::make_shared<std::string>("origin");
  app.add_option("remote", *remote, "Remote to fetch refs/envflow/* from")
      ->option_text("REMOTE")
      ->capture_default_str();
  return [remote] {
    git::Repository repo = git::Repository::open(".");
    const core::SetupResult result = core::setup_clone(repo, *remote);
    std::printf("fetch refspec %s on %s\n", result.refspec_added ? "added" : "already set",
                remote->c_str());
    for (const auto& branch : result.branches_created) {
      std::printf("created local branch %s\n", branch.c_str());
    }
    for (const auto& hook : result.hooks) {
      std::printf("installed %s\n", hook.c_str());
    }
    std::printf("push envflow's refs with: git push %s 'refs/envflow/*:refs/envflow/*'\n",
                remote->c_str());
    return 0;
  };
}

} // namespace envflow::cli
