#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "core/pipeline/session.h"
#include "core/policy/config.h"
#include "core/policy/context.h"
#include "core/release/hotfix.h"
#include "util/strings.h"

namespace envflow::cli {

namespace {

struct HotfixArgs {
  std::string which;
  std::string start_name;
  core::release::HotfixFinishOptions finish;
};

int run_start(const HotfixArgs& args, const Globals& globals) {
  core::pipeline::Session session = open_session(globals);
  const core::release::HotfixStartResult result =
      core::release::start_hotfix(session, args.start_name);
  const core::policy::PipelineConfig& config = session.config();
  if (globals.format == Format::json) {
    print_result({{"name", result.name},
                  {"branch", result.branch},
                  {"commit", result.commit},
                  {"checked_out", result.checked_out},
                  {"from_live", !result.from_note.empty()}},
                 session, globals);
    return 0;
  }
  if (result.resumed) {
    std::printf("%s %s, at %s's head %s (created by an earlier run that stopped before "
                "switching to it)\n",
                paint(stdout, Color::green, "checked out").c_str(), result.branch.c_str(),
                config.last().name.c_str(), result.commit.substr(0, 7).c_str());
    std::printf("commit the fix on it, then run: envflow hotfix finish\n");
    return 0;
  }
  if (result.from_note.empty()) {
    std::printf("%s %s at %s's head %s%s\n", paint(stdout, Color::green, "created").c_str(),
                result.branch.c_str(), config.last().name.c_str(),
                result.commit.substr(0, 7).c_str(), result.checked_out ? " (checked out)" : "");
  } else {
    std::printf("%s %s at %s%s\n", paint(stdout, Color::green, "created").c_str(),
                result.branch.c_str(), result.commit.substr(0, 7).c_str(),
                result.checked_out ? " (checked out)" : "");
    std::printf("%s\n", util::printable(result.from_note).c_str());
  }
  // Hints quote what they print, so a pasted line runs as shown.
  std::printf("commit the fix on it, then run: envflow hotfix finish%s\n",
              result.checked_out ? "" : (" --name " + util::shell_quoted(result.name)).c_str());
  print_result(nullptr, session, globals);
  return 0;
}

int run_finish(HotfixArgs& args, const Globals& globals) {
  core::pipeline::Session session = open_session(globals);
  const core::release::HotfixFinishResult result =
      core::release::finish_hotfix(session, args.finish);
  if (result.notify.ran && !result.notify.ok) {
    std::fprintf(stderr,
                 "envflow: warning: backport.notify (%s) failed: %s; back-port issue %d is "
                 "recorded on %s all the same (envflow backport show %d)\n",
                 result.notify.command.c_str(), result.notify.detail.c_str(), result.issue.id,
                 core::model::k_backports_ref, result.issue.id);
  }
  if (!result.worktree_note.empty()) {
    std::fprintf(stderr, "envflow: warning: %s\n", result.worktree_note.c_str());
  }
  if (globals.format == Format::json) {
    print_result({{"name", result.name},
                {"branch", result.branch},
                {"environment", result.environment},
                {"from", result.previous_head},
                {"to", result.commit},
                {"commits", result.commits},
                {"tag", result.tag},
                {"previous_live", result.previous_live.empty()
                                      ? nlohmann::json(nullptr)
                                      : nlohmann::json(result.previous_live)},
                {"notes", result.notes},
                {"issue", result.issue.to_json()},
                {"notify", result.notify.ran ? nlohmann::json({{"command", result.notify.command},
                                                                {"ok", result.notify.ok},
                                                                {"detail", result.notify.detail}})
                                             : nlohmann::json(nullptr)},
                {"from_live", !result.from_note.empty()}},
                 session, globals);
    return 0;
  }
  std::printf("%s %s: %s %s -> %s (%zu commit%s)\n", paint(stdout, Color::green, "hotfix").c_str(),
              result.branch.c_str(), result.environment.c_str(),
              result.previous_head.substr(0, 7).c_str(), result.commit.substr(0, 7).c_str(),
              result.commits.size(), result.commits.size() == 1 ? "" : "s");
  std::printf("released %s (hotfix); live: %s -> %s\n", result.tag.c_str(),
              result.previous_live.empty() ? "(none)" : result.previous_live.c_str(),
              result.tag.c_str());
  std::printf("%s back-port issue %d: bring the fix into %s with envflow backport apply %d\n",
              paint(stdout, Color::yellow, "opened").c_str(), result.issue.id,
              result.issue.target.c_str(), result.issue.id);
  if (result.notify.ran && result.notify.ok) {
    std::printf("notified: %s\n", result.notify.command.c_str());
  }
  if (!result.from_note.empty()) {
    std::printf("%s\n", util::printable(result.from_note).c_str());
  }
  std::printf("(%s is kept; delete it when you like: git branch -d %s)\n", result.branch.c_str(),
              util::shell_quoted(result.branch).c_str());
  print_result(nullptr, session, globals);
  return 0;
}

} // namespace

Runner setup_hotfix(CommandLine& app, Globals& globals) {
  auto args = std::make_shared<HotfixArgs>();
  CommandLine start = app.add_choice(args, "start",
                                     "Create hotfix/NAME from the live release (the last "
                                     "environment's head unless rolled back)");
  start.add_option("name", args->start_name, "Hotfix name (one branch-name component)")
      .required()
      .option_text("NAME");
  CommandLine finish = app.add_choice(
      args, "finish",
      "Validate, fast-forward the last environment, release, open the back-port issue");
  finish.add_option("-m,--message", args->finish.message, "Text for the release tag and issue")
      .option_text("MESSAGE");
  finish
      .add_option("--name", args->finish.name,
                  "Hotfix to finish (default: the current branch hotfix/NAME)")
      .option_text("NAME");
  finish.add_flag("--no-sign", args->finish.no_sign,
                  "Unsigned release (only when the policy allows)");
  return [args, &globals] {
    if (args->which == "start") {
      return run_start(*args, globals);
    }
    return run_finish(*args, globals);
  };
}

} // namespace envflow::cli
