#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "core/model/refs.h"
#include "core/pipeline/session.h"
#include "core/pipeline/sync.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::cli {

namespace {

struct SyncArgs {
  core::pipeline::SyncRequest request;
  bool dry_run = false;
  bool auto_walk = false;
};

using core::model::short_id;

std::string shown(const std::string& text) { return util::printable(text); }

nlohmann::json plan_json(const core::pipeline::SyncPlan& plan, bool dry_run, bool done) {
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
          {"approvals_required", plan.approvals_required},
          {"hold", plan.hold ? plan.hold->to_json() : nlohmann::json(nullptr)},
          {"dropped_overrides", plan.dropped_overrides}};
}

nlohmann::json auto_json(const core::pipeline::AutoResult& result) {
  nlohmann::json promoted = nlohmann::json::array();
  nlohmann::json in_sync = nlohmann::json::array();
  for (const auto& step : result.steps) {
    if (step.result == core::pipeline::AutoStep::Result::in_sync) {
      in_sync.push_back(step.plan.target->name);
      continue;
    }
    nlohmann::json commits = nlohmann::json::array();
    for (const auto& c : step.plan.commits) {
      commits.push_back({{"id", c.id}, {"summary", c.summary}, {"author", c.author}});
    }
    promoted.push_back({{"source", step.plan.source->name},
                        {"target", step.plan.target->name},
                        {"from", step.plan.from},
                        {"to", step.plan.to},
                        {"moved", !result.dry_run},
                        {"commits", commits},
                        {"approvals", step.plan.approvals}});
  }
  nlohmann::json stopped = nullptr;
  if (result.stop) {
    const core::pipeline::AutoStop& stop = *result.stop;
    nlohmann::json waiting_for = nullptr;
    if (stop.waiting()) {
      waiting_for = {{"groups", stop.groups},
                     {"command", stop.command},
                     {"approvals_required", stop.approvals_required},
                     {"approvals", stop.approvals}};
    }
    stopped = {{"env", stop.env},
               {"source", stop.source},
               {"reason", stop.reason_name()},
               {"message", stop.message},
               {"commit",
                stop.commit.empty() ? nlohmann::json(nullptr) : nlohmann::json(stop.commit)},
               {"waiting_commits", stop.waiting_commits},
               {"waiting_for", waiting_for},
               {"hold", stop.hold ? stop.hold->to_json() : nlohmann::json(nullptr)}};
  }
  return {{"auto", true},
          {"dry_run", result.dry_run},
          {"promoted", promoted},
          {"in_sync", in_sync},
          {"stopped_at", stopped}};
}

void print_auto(const core::pipeline::AutoResult& result) {
  for (const auto& step : result.steps) {
    const core::pipeline::SyncPlan& plan = step.plan;
    if (step.result == core::pipeline::AutoStep::Result::in_sync) {
      std::printf("%s is in sync with %s (%s)\n", shown(plan.target->name).c_str(),
                  shown(plan.source->name).c_str(), short_id(plan.to).c_str());
      continue;
    }
    const size_t n = plan.commits.size();
    std::printf("%s %s from %s %s..%s (%zu commit%s)\n", shown(plan.target->name).c_str(),
                result.dry_run ? "would be synced"
                               : paint(stdout, Color::green, "synced").c_str(),
                shown(plan.source->name).c_str(), short_id(plan.from).c_str(),
                short_id(plan.to).c_str(), n, n == 1 ? "" : "s");
  }
  if (result.stop && result.stop->waiting()) {
    std::printf("%s\n",
                paint(stdout, Color::yellow, printable_lines(result.stop->message)).c_str());
  } else if (result.stop) {
    const std::string env = shown(result.stop->env);
    std::printf("%s %s: a gate refused (see below); nothing moved into %s\n", env.c_str(),
                paint(stdout, Color::red, "not synced").c_str(), env.c_str());
  }
  if (result.dry_run) {
    std::printf("dry run: nothing changed\n");
  }
}

int run_auto(const SyncArgs& args, const Globals& globals) {
  if (!args.request.env.empty() || !args.request.rev.empty()) {
    throw util::UsageError("--auto walks the whole pipeline: drop ENV and --rev, or drop --auto "
                           "to sync one environment");
  }
  core::pipeline::Session session = open_session(globals);
  const core::pipeline::AutoResult result = core::pipeline::auto_sync(
      session, args.dry_run ? core::pipeline::DryRun::yes : core::pipeline::DryRun::no);
  if (globals.format == Format::json) {
    print_result(auto_json(result), session, globals);
  } else {
    print_auto(result);
    print_result(nullptr, session, globals);
  }
  if (result.stop && !result.stop->waiting()) {
    // Returned, not thrown: the JSON document above is the result and stays
    // on stdout; the promotions made before the refusal stand (each was its
    // own operation).
    std::fflush(stdout);
    std::fprintf(stderr, "envflow: error: sync --auto stopped at %s: %s\n",
                 shown(result.stop->env).c_str(), printable_lines(result.stop->message).c_str());
    return static_cast<int>(util::Exit::refused);
  }
  return 0;
}

void print_plan(const core::pipeline::SyncPlan& plan) {
  std::printf("%zu commit%s from %s to %s:\n", plan.commits.size(),
              plan.commits.size() == 1 ? "" : "s", shown(plan.source->name).c_str(),
              shown(plan.target->name).c_str());
  for (const auto& c : plan.commits) {
    std::printf("  %s %s\n", paint(stdout, Color::yellow, short_id(c.id)).c_str(),
                shown(c.summary).c_str());
  }
  if (plan.diff.empty()) {
    std::printf("no semantic changes\n");
    return;
  }
  std::printf("changes: %s\n", plan.diff.counts().text().c_str());
  for (const auto& item : plan.diff.items) {
    if (!item.listed()) {
      continue; // a rename: one line, on its removed side
    }
    std::string line = "  " + std::string(item.mark()) + " " + shown(item.title());
    if (!item.fields.empty()) {
      line += ": ";
      for (size_t i = 0; i < item.fields.size(); ++i) {
        line += (i > 0 ? ", " : "") + shown(item.fields[i]);
      }
    }
    if (item.breaking) {
      line += "  " + paint(stdout, Color::red, "BREAKING: " + shown(item.reason));
    }
    std::printf("%s\n", line.c_str());
  }
}

} // namespace

Runner setup_sync(CommandLine& app, Globals& globals) {
  auto args = std::make_shared<SyncArgs>();
  app.add_option("env", args->request.env, "Environment whose head is promoted to the next one")
      .option_text("ENV");
  app.add_option("--rev", args->request.rev, "Promote this commit of ENV instead of its head")
      .option_text("REV");
  app.add_flag("--dry-run", args->dry_run, "Run every gate and print the plan; move nothing");
  app.add_flag("--auto", args->auto_walk,
               "Promote every auto: true environment whose gates pass, in pipeline order "
               "(what CI runs after every push)");
  return [args, &globals] {
    if (args->auto_walk) {
      return run_auto(*args, globals);
    }
    if (args->request.env.empty()) {
      throw util::UsageError("sync needs ENV, the environment to promote from (envflow sync "
                             "dev), or --auto to walk the pipeline");
    }
    core::pipeline::Session session = open_session(globals);
    const core::pipeline::SyncPlan plan =
        core::pipeline::plan_sync(session, session.pipeline(), args->request);
    if (!plan.noop) {
      plan.judgement.enforce(); // a dry run fails as the sync would
    }
    const bool move = !plan.noop && !args->dry_run;
    if (move) {
      core::pipeline::apply_sync(session, plan);
    }
    if (globals.format == Format::json) {
      print_result(plan_json(plan, args->dry_run, move), session, globals);
      return 0;
    }
    const std::string target = shown(plan.target->name);
    if (plan.noop) {
      std::printf("%s is already in sync with %s (%s): nothing to do\n", target.c_str(),
                  shown(plan.source->name).c_str(), short_id(plan.to).c_str());
      return 0;
    }
    print_plan(plan);
    for (const auto& name : plan.dropped_overrides) {
      std::printf("%s the override of %s on %s goes with it: the variable is removed\n",
                  paint(stdout, Color::yellow, "note:").c_str(), util::printable(name).c_str(),
                  plan.target->name.c_str());
    }
    if (plan.hold) {
      std::printf("%s %s is held for auto-promotion (%s); this sync by hand goes ahead, "
                  "auto-promotion stays held until envflow hold release %s\n",
                  paint(stdout, Color::yellow, "note:").c_str(), target.c_str(),
                  printable_lines(plan.hold->describe()).c_str(), target.c_str());
    }
    if (args->dry_run) {
      std::printf("dry run: %s would move %s..%s; nothing changed\n", target.c_str(),
                  short_id(plan.from).c_str(), short_id(plan.to).c_str());
    } else {
      std::printf("%s %s %s..%s\n", paint(stdout, Color::green, "synced").c_str(),
                  target.c_str(), short_id(plan.from).c_str(), short_id(plan.to).c_str());
    }
    print_result(nullptr, session, globals);
    return 0;
  };
}

} // namespace envflow::cli
