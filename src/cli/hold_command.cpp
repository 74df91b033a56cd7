// envflow hold: holds on auto-promotion (issue 7). A rollback of the live
// release holds the last environment; `hold set` holds any other by hand;
// `hold release` lets `sync --auto` promote into it again.
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "core/model/refs.h"
#include "core/pipeline/session.h"
#include "core/records/hold.h"
#include "util/strings.h"
#include "util/time.h"

namespace envflow::cli {

namespace {

struct HoldArgs {
  std::string which;
  std::string env;
  std::string reason;
};

nlohmann::json hold_json(const core::records::Hold& hold,
                         const core::policy::PipelineConfig& config) {
  nlohmann::json value = hold.to_json();
  const core::policy::Environment* env = config.find(hold.env);
  value["auto"] = env != nullptr && env->auto_promote;
  return value;
}

int run_hold_list(const Globals& globals) {
  const core::pipeline::Session session = open_session(globals);
  const core::policy::PipelineConfig& config = session.config();
  const std::vector<core::records::Hold> holds = core::records::holds_in_force(session.pipeline());
  if (globals.format == Format::json) {
    nlohmann::json array = nlohmann::json::array();
    for (const auto& hold : holds) {
      array.push_back(hold_json(hold, config));
    }
    print_result({{"holds", array}}, session, globals);
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
      reason += " (" + core::model::short_id(hold.commit) + ")";
    }
    rows.push_back({hold.env, hold.kind_name(), util::iso_time(hold.time), hold.actor, reason});
  }
  print_table(rows);
  std::printf("envflow sync --auto stops at a held environment; release it with envflow hold "
              "release ENV\n");
  return 0;
}

int run_change(const HoldArgs& args, const Globals& globals) {
  core::pipeline::Session session = open_session(globals);
  const bool set = args.which == "set";
  const core::records::HoldChange change =
      set ? core::records::set_hold(session, args.env, args.reason)
          : core::records::release_hold(session, args.env, args.reason);
  if (globals.format == Format::json) {
    print_result(
        {{"env", change.env},
         {"action", args.which},
         {"changed", change.changed},
         {"hold", change.hold ? hold_json(*change.hold, session.config()) : nlohmann::json(nullptr)}},
        session, globals);
    return 0;
  }
  const std::string env = util::printable(change.env);
  const std::string hold = change.hold ? printable_lines(change.hold->describe()) : "";
  if (set && change.changed) {
    std::printf("%s %s: %s\n", paint(stdout, Color::yellow, "held").c_str(), env.c_str(),
                util::printable(change.hold->reason).c_str());
  } else if (set) {
    std::printf("%s is already held (%s): nothing written\n", env.c_str(), hold.c_str());
  } else if (change.changed) {
    std::printf("%s on %s (%s); envflow sync --auto promotes into it again\n",
                paint(stdout, Color::green, "released the hold").c_str(), env.c_str(),
                hold.c_str());
  } else {
    std::printf("%s is not held: nothing to release\n", env.c_str());
  }
  print_result(nullptr, session, globals);
  return 0;
}

} // namespace

Runner setup_hold(CommandLine& app, Globals& globals) {
  auto args = std::make_shared<HoldArgs>();
  app.add_choice(args, "list", "Environments where auto-promotion is held");
  CommandLine set = app.add_choice(args, "set", "Hold auto-promotion into an environment");
  set.add_option("env", args->env, "Environment to hold").required().option_text("ENV");
  set.add_option("--reason", args->reason, "Why (goes into the audit record)")
      .required()
      .option_text("TEXT");
  CommandLine release = app.add_choice(args, "release", "Release the hold on an environment");
  release.add_option("env", args->env, "Environment to release").required().option_text("ENV");
  release.add_option("--reason", args->reason, "Why (goes into the audit record)")
      .option_text("TEXT");
  return [args, &globals] {
    if (args->which == "list") {
      return run_hold_list(globals);
    }
    return run_change(*args, globals);
  };
}

} // namespace envflow::cli
