#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "core/context.h"
#include "core/sync.h"
#include "git/repo.h"

namespace envflow::cli {

namespace {

struct SyncArgs {
  core::SyncRequest request;
  bool dry_run = false;
};

nlohmann::json plan_json(const core::SyncPlan& plan, bool dry_run, bool done) {
  nlohmann::json commits = nlohmann::json::array();
  for (const auto& c : plan.commits) {
    commits.push_back({{"id", c.id}, {"summary", c.summary}, {"author", c.author}});
  }
  return {{"source", plan.source->name},
          {"target", plan.target->name},
          {"from", plan.from},
          {"to", plan.to},
          {"noop", plan.noop},
          {"dry_run", dry_run},
          {"moved", done},
          {"commits", commits},
          {"diff", plan.noop ? nlohmann::json(nullptr) : plan.diff.to_json()},
          {"approvals", plan.approvals},
          {"approvals_required", plan.approvals_required}};
}

void print_plan(const core::SyncPlan& plan) {
  std::printf("%zu commit%s from %s to %s:\n", plan.commits.size(),
              plan.commits.size() == 1 ? "" : "s", plan.source->name.c_str(),
              plan.target->name.c_str());
  for (const auto& c : plan.commits) {
    std::printf("  %s %s\n", paint(stdout, Color::yellow, c.id.substr(0, 7)).c_str(),
                c.summary.c_str());
  }
  if (plan.diff.empty()) {
    std::printf("no semantic changes\n");
    return;
  }
  std::printf("changes:\n");
  for (const auto& item : plan.diff.items) {
    const char* sign = item.change == core::ItemChange::Change::added     ? "+"
                       : item.change == core::ItemChange::Change::removed ? "-"
                                                                          : "~";
    std::string line = std::string("  ") + sign + " " + item.kind + " " + item.name;
    if (!item.fields.empty()) {
      line += ": ";
      for (size_t i = 0; i < item.fields.size(); ++i) {
        line += (i > 0 ? ", " : "") + item.fields[i];
      }
    }
    if (item.breaking) {
      line += "  " + paint(stdout, Color::red, "BREAKING: " + item.reason);
    }
    std::printf("%s\n", line.c_str());
  }
}

} // namespace

Runner setup_sync(CLI::App& app, Globals& globals) {
  auto args = std::make_shared<SyncArgs>();
  app.add_option("env", args->request.env, "Environment whose head is promoted to the next one")
      ->required()
      ->option_text("ENV");
  app.add_option("--rev", args->request.rev, "Promote this commit of ENV instead of its head")
      ->option_text("REV");
  app.add_flag("--dry-run", args->dry_run, "Run every gate and print the plan; move nothing");
  return [args, &globals] {
    git::Repository repo = git::Repository::open(".");
    const core::PipelineConfig config = core::require_config(repo);
    args->request.actor = core::resolve_actor(globals.actor, &repo);
    const core::SyncPlan plan = core::plan_sync(repo, config, args->request);
    const bool move = !plan.noop && !args->dry_run;
    if (move) {
      core::apply_sync(repo, plan, args->request.actor);
    }
    if (globals.format == Format::json) {
      print_json(plan_json(plan, args->dry_run, move));
      return 0;
    }
    if (plan.noop) {
      std::printf("%s is already in sync with %s (%s): nothing to do\n",
                  plan.target->name.c_str(), plan.source->name.c_str(),
                  plan.to.substr(0, 7).c_str());
      return 0;
    }
    print_plan(plan);
    if (args->dry_run) {
      std::printf("dry run: %s would move %s..%s; nothing changed\n", plan.target->name.c_str(),
                  plan.from.substr(0, 7).c_str(), plan.to.substr(0, 7).c_str());
    } else {
      std::printf("%s %s %s..%s\n", paint(stdout, Color::green, "synced").c_str(),
                  plan.target->name.c_str(), plan.from.substr(0, 7).c_str(),
                  plan.to.substr(0, 7).c_str());
    }
    return 0;
  };
}

} // namespace envflow::cli
