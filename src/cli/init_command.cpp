#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "core/admin/ci.h"
#include "core/admin/init.h"
#include "util/strings.h"

namespace envflow::cli {

Runner setup_init(CommandLine& app, Globals& globals) {
  auto options = std::make_shared<core::admin::InitOptions>();
  auto envs = std::make_shared<std::string>(util::join(core::admin::k_default_envs, ","));
  app.add_option("dir", options->dir, "Where the repository is or goes (default: here)")
      .option_text("DIR");
  app.add_option("--envs", *envs, "Environments in promotion order, comma-separated")
      .option_text("LIST")
      .capture_default_str();
  app.add_flag("--bare", options->bare, "Create a bare repository (a server's copy)");
  CommandLine::Option ci =
      app.add_option("--ci", options->ci,
                     "Also commit CI jobs (validate, promote) for github (Actions) or gitlab (CI)");
  ci.option_text("github|gitlab");
  return [options, envs, ci, &globals] {
    if (ci.count() > 0) {
      core::admin::check_ci_system(options->ci); // an explicit empty value too
    }
    options->envs = util::split(*envs, ',');
    options->actor = globals.actor;
    options->cache = globals.cache;
    const core::admin::InitResult result = core::admin::init_repository(*options);
    if (globals.format == Format::json) {
      print_json({{"root", result.root},
                  {"commit", result.commit},
                  {"adopted", result.adopted},
                  {"environments", options->envs},
                  {"actor", result.actor},
                  {"hooks", result.hooks},
                  {"ci_files", result.ci_files},
                  {"warnings", result.warnings}});
      return 0;
    }
    std::printf("%s envflow repository in %s\n",
                paint(stdout, Color::green, result.adopted ? "Adopted" : "Initialized").c_str(),
                result.root.c_str());
    std::printf("  environments  %s (all at %s)\n", util::join(options->envs, " -> ").c_str(),
                result.commit.substr(0, 12).c_str());
    std::printf("  pipeline      refs/envflow/config (%s in every group, no approvals)\n",
                result.actor.c_str());
    if (!result.hooks.empty()) {
      std::printf("  hooks         %s\n", util::join(result.hooks, ", ").c_str());
    }
    if (!result.ci_files.empty()) {
      std::printf("  ci            %s\n", util::join(result.ci_files, ", ").c_str());
    }
    for (const auto& warning : result.warnings) {
      std::fprintf(stderr, "envflow: warning: %s\n", warning.c_str());
    }
    std::printf("\nNext:\n");
    std::printf("  edit content on %s, then   envflow validate && git commit\n",
                options->envs.front().c_str());
    std::printf("  promote                   envflow sync %s\n", options->envs.front().c_str());
    std::printf("  see the pipeline          envflow status\n");
    return 0;
  };
}

} // namespace envflow::cli
