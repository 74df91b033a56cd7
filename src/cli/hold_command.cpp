// envflow hold: holds on auto-promotion (issue 7). A rollback of the live
// release holds the last environment; `hold set` holds any other by hand;
// `hold release` lets `sync --auto` promote into it again.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/documents.h"
#include "cli/output.h"
#include "core/audit.h"
#include "core/context.h"
#include "core/hold.h"
#include "git/repo.h"

namespace envflow::cli {

namespace {

struct HoldArgs {
  std::string which;
  std::string env;
  std::string reason;
};

nlohmann::json hold_json(const core::Hold& hold, const core::PipelineConfig& config) {
  nlohmann::json value = hold.to_json();
  const core::Environment* env = config.find(hold.env);
  value["auto"] = env != nullptr && env->auto_promote;
  return value;
}

int run_list(const Globals& globals) {
  const git::Repository repo = git::Repository::open(".");
  const core::PipelineConfig config = core::require_config(repo);
  const std::vector<core::Hold> holds = core::holds_in_force(core::read_audit(repo), config);
  if (globals.format == Format::json) {
    print_json(holds_document(holds, config));
    return 0;
  }
  if (holds.empty()) {
    std::printf("no holds on auto-promotion\n");
    return 0;
  }
  std::vector<std::vector<std::string>> rows{{"ENV", "KIND", "SINCE", "BY", "REASON"}};
  for (const auto& hold : holds) {
    std::string reason = hold.reason;
    if (!hold.commit.empty()) {
      reason += " (" + hold.commit.substr(0, 7) + ")";
    }
    rows.push_back({hold.env, hold.kind_name(), core::hold_time_text(hold.time), hold.actor,
                    reason});
  }
  print_table(rows);
  std::printf("envflow sync --auto stops at a held environment; release it with envflow hold "
              "release ENV\n");
  return 0;
}

int run_change(const HoldArgs& args, const Globals& globals) {
  git::Repository repo = git::Repository::open(".");
  const core::PipelineConfig config = core::require_config(repo);
  const std::string actor = core::resolve_actor(globals.actor, &repo);
  const bool set = args.which == "set";
  const core::HoldChange change =
      set ? core::set_hold(repo, config, args.env, args.reason, actor)
          : core::release_hold(repo, config, args.env, args.reason, actor);
  if (globals.format == Format::json) {
    print_json(hold_change_document(change, args.which, config));
    return 0;
  }
  if (set && change.changed) {
    std::printf("%s %s: %s\n", paint(stdout, Color::yellow, "held").c_str(), change.env.c_str(),
                change.hold->reason.c_str());
  } else if (set) {
    std::printf("%s is already held (%s): nothing written\n", change.env.c_str(),
                change.hold->describe().c_str());
  } else if (change.changed) {
    std::printf("%s on %s (%s); envflow sync --auto promotes into it again\n",
                paint(stdout, Color::green, "released the hold").c_str(), change.env.c_str(),
                change.hold->describe().c_str());
  } else {
    std::printf("%s is not held: nothing to release\n", change.env.c_str());
  }
  return 0;
}

} // namespace

nlohmann::json holds_document(const std::vector<core::Hold>& holds,
                              const core::PipelineConfig& config) {
  nlohmann::json array = nlohmann::json::array();
  for (const auto& hold : holds) {
    array.push_back(hold_json(hold, config));
  }
  return {{"holds", array}};
}

nlohmann::json hold_change_document(const core::HoldChange& change, const std::string& action,
                                    const core::PipelineConfig& config) {
  return {{"env", change.env},
          {"action", action},
          {"changed", change.changed},
          {"hold", change.hold ? hold_json(*change.hold, config) : nlohmann::json(nullptr)}};
}

Runner setup_hold(CLI::App& app, Globals& globals) {
  app.require_subcommand(1);
  auto args = std::make_shared<HoldArgs>();
  CLI::App* list = app.add_subcommand("list", "Environments where auto-promotion is held");
  list->callback([args] { args->which = "list"; });
  CLI::App* set = app.add_subcommand("set", "Hold auto-promotion into an environment");
  set->add_option("env", args->env, "Environment to hold")->required()->option_text("ENV");
  set->add_option("--reason", args->reason, "Why (goes into the audit record)")
      ->required()
      ->option_text("TEXT");
  set->callback([args] { args->which = "set"; });
  CLI::App* release = app.add_subcommand("release", "Release the hold on an environment");
  release->add_option("env", args->env, "Environment to release")->required()->option_text("ENV");
  release->add_option("--reason", args->reason, "Why (goes into the audit record)")
      ->option_text("TEXT");
  release->callback([args] { args->which = "release"; });
  return [args, &globals] {
    if (args->which == "list") {
      return run_list(globals);
    }
    return run_change(*args, globals);
  };
}

} // namespace envflow::cli
