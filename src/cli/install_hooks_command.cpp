
#include "cli/command.h"
#include "core/admin/hooks.h"

namespace envflow::cli {

Runner setup_install_hooks(CommandLine& app, Globals& /*globals*/) {
  auto repo_path = std::make_shared<std::string>(".");
  auto server = std::make_shared<bool>(false);
  app.add_option("repo", *repo_path, "Repository (default: the current one)").option_text("REPO");
  app.add_flag("--server", *server,
               "Install the server hooks (pre-receive, post-receive) into the repository people "
               "push to, usually bare, and turn on git's checks of received objects");
  return [repo_path, server] {
    if (!*server) {
      for (const auto& path : core::admin::install_client_hooks(*repo_path)) {
        std::printf("installed %s\n", path.c_str());
      }
      return 0;
    }
    const core::admin::ServerHooksResult result = core::admin::install_server_hooks(*repo_path);
    for (const auto& path : result.hooks) {
      std::printf("installed %s\n", path.c_str());
    }
    for (const auto& setting : result.settings) {
      std::printf("configured %s\n", setting.c_str());
    }
    return 0;
  };
}

} // namespace envflow::cli
