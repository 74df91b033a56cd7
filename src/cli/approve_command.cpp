#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/documents.h"
#include "cli/output.h"
#include "core/context.h"
#include "core/sync.h"
#include "git/repo.h"

namespace envflow::cli {

nlohmann::json approve_document(const core::ApproveResult& result) {
  return {{"env", result.env},
          {"commit", result.commit},
          {"already", result.already},
          {"approvals", result.approvals},
          {"required", result.required}};
}

Runner setup_approve(CLI::App& app, Globals& globals) {
  auto env = std::make_shared<std::string>();
  auto rev = std::make_shared<std::string>();
  app.add_option("env", *env, "Environment the promotion goes into")->required()->option_text("ENV");
  app.add_option("--rev", *rev, "Commit to approve (default: the previous environment's head)")
      ->option_text("REV");
  return [env, rev, &globals] {
    git::Repository repo = git::Repository::open(".");
    const core::PipelineConfig config = core::require_config(repo);
    const std::string actor = core::resolve_actor(globals.actor, &repo);
    const core::ApproveResult result = core::approve(repo, config, *env, *rev, actor);
    if (globals.format == Format::json) {
      print_json(approve_document(result));
      return 0;
    }
    std::printf("%s %s into %s by %s (%zu of %d approval%s)\n",
                result.already ? "already approved" : "approved",
                result.commit.substr(0, 7).c_str(), result.env.c_str(), actor.c_str(),
                result.approvals.size(), result.required, result.required == 1 ? "" : "s");
    return 0;
  };
}

} // namespace envflow::cli
