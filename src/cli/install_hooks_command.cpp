#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "core/hooks.h"
#include "git/repo.h"

namespace envflow::cli {

Runner setup_install_hooks(CLI::App& app, Globals& /*globals*/) {
  auto repo_path = std::make_shared<std::string>(".");
  app.add_option("repo", *repo_path, "Repository (default: the current one)")
      ->option_text("REPO");
  return [repo_path] {
    const git::Repository repo = git::Repository::open(*repo_path);
    for (const auto& path : core::install_client_hooks(repo)) {
      std::printf("installed %s\n", path.c_str());
    }
    return 0;
  };
}

} // namespace envflow::cli
