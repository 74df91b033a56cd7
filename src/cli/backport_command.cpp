#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "core/pipeline/session.h"
#include "core/policy/config.h"
#include "core/policy/context.h"
#include "core/records/backport.h"
#include "util/error.h"
#include "util/strings.h"
#include "util/time.h"

namespace envflow::cli {

namespace {

struct BackportArgs {
  std::string which;
  int id = 0;
};

std::string date_of(std::int64_t time) {
  return time == 0 ? std::string("-") : util::iso_time(time).substr(0, 10);
}

int run_list(const std::vector<core::records::BackportIssue>& issues, const Globals& globals) {
  if (globals.format == Format::json) {
    nlohmann::json array = nlohmann::json::array();
    for (const auto& issue : issues) {
      array.push_back(issue.to_json());
    }
    print_json(array);
    return 0;
  }
  if (issues.empty()) {
    std::printf("no back-port issues (a hotfix opens one: envflow hotfix finish)\n");
    return 0;
  }
  std::vector<std::vector<std::string>> rows{{"ID", "STATUS", "HOTFIX", "OPENED", "BY", "CLOSED",
                                              "SUMMARY"}};
  for (const auto& issue : issues) {
    rows.push_back({std::to_string(issue.id), core::records::status_name(issue.status),
                    issue.hotfix_tag, date_of(issue.opened_at), issue.opened_by,
                    issue.is_open() ? std::string("-")
                                    : date_of(issue.closed_at) + " (" + issue.closed_by + ")",
                    issue.summary});
  }
  print_table(rows);
  return 0;
}

int run_show(const core::records::BackportIssue& issue, const Globals& globals) {
  if (globals.format == Format::json) {
    print_json(issue.to_json());
    return 0;
  }
  std::printf("back-port issue %d: %s\n", issue.id,
              paint(stdout, issue.is_open() ? Color::yellow : Color::green,
                    core::records::status_name(issue.status))
                  .c_str());
  std::printf("hotfix:      %s%s\n", issue.hotfix_tag.c_str(),
              issue.hotfix.empty() ? "" : (" (hotfix/" + issue.hotfix + ")").c_str());
  if (!issue.summary.empty()) {
    std::printf("summary:     %s\n", issue.summary.c_str());
  }
  std::printf("from:        %s, back into %s\n", issue.environment.c_str(), issue.target.c_str());
  std::printf("opened:      %s by %s\n", util::iso_time(issue.opened_at).c_str(),
              issue.opened_by.c_str());
  if (!issue.is_open()) {
    std::printf("closed:      %s by %s%s\n", util::iso_time(issue.closed_at).c_str(),
                issue.closed_by.c_str(),
                issue.closed_in.empty() ? "" : (" in " + issue.closed_in.substr(0, 7)).c_str());
  }
  std::printf("commits:\n");
  for (const auto& commit : issue.commits) {
    std::printf("  %s\n", commit.c_str());
  }
  std::printf("changes:\n");
  for (const auto& change : issue.changes) {
    std::printf("  %s %s %s (%s)", change.change.c_str(), change.kind.c_str(), change.name.c_str(),
                change.path.c_str());
    if (!change.fields.empty()) {
      std::string fields;
      for (const auto& f : change.fields) {
        fields += (fields.empty() ? "" : ", ") + f;
      }
      std::printf(": %s", fields.c_str());
    }
    std::printf("\n");
  }
  if (issue.is_open()) {
    std::printf("\nbring it into %s: envflow backport apply %d\n", issue.target.c_str(), issue.id);
  }
  return 0;
}

int run_apply(int id, const Globals& globals) {
  core::pipeline::Session session = open_session(globals);
  const core::records::BackportApplyResult result = core::records::apply_backport(session, id);
  const core::policy::PipelineConfig& config = session.config();
  if (!result.worktree_note.empty()) {
    std::fprintf(stderr, "envflow: warning: %s\n", result.worktree_note.c_str());
  }
  if (globals.format == Format::json) {
    print_result({{"issue", result.issue.to_json()},
                {"already", result.already},
                {"branch", result.branch},
                {"from", result.previous_head.empty() ? nlohmann::json(nullptr)
                                                      : nlohmann::json(result.previous_head)},
                {"merge_commit", result.merge_commit.empty()
                                     ? nlohmann::json(nullptr)
                                     : nlohmann::json(result.merge_commit)},
                {"worktree_updated", result.worktree_updated}},
                 session, globals);
    return 0;
  }
  if (result.already) {
    std::printf("back-port issue %d is already closed (%s by %s): nothing to do\n", id,
                util::iso_time(result.issue.closed_at).c_str(), result.issue.closed_by.c_str());
    if (result.worktree_updated) {
      std::printf("working tree updated to %s (the run that closed it stopped before)\n",
                  result.issue.closed_in.substr(0, 7).c_str());
    }
    return 0;
  }
  std::printf("%s hotfix %s into %s: %s -> %s (merge commit)\n",
              paint(stdout, Color::green, "back-ported").c_str(),
              result.issue.hotfix_tag.c_str(), result.branch.c_str(),
              result.previous_head.substr(0, 7).c_str(), result.merge_commit.substr(0, 7).c_str());
  std::printf("closed back-port issue %d; promote it: envflow sync %s\n", id,
              config.first().name.c_str());
  if (result.worktree_updated) {
    std::printf("working tree updated to %s\n", result.merge_commit.substr(0, 7).c_str());
  }
  print_result(nullptr, session, globals);
  return 0;
}

} // namespace

Runner setup_backport(CLI::App& app, Globals& globals) {
  app.require_subcommand(1);
  auto args = std::make_shared<BackportArgs>();
  const std::shared_ptr<std::string> which(args, &args->which);
  add_choice(app, which, "list", "Every back-port issue, with its status");
  CLI::App* show = add_choice(app, which, "show", "One back-port issue");
  CLI::App* apply =
      add_choice(app, which, "apply", "Merge the hotfix into the first environment and close it");
  for (CLI::App* sub : {show, apply}) {
    sub->add_option("id", args->id, "Issue number")->required()->option_text("ID");
  }
  return [args, &globals] {
    if (args->which == "apply") {
      return run_apply(args->id, globals);
    }
    // Read only: an issue whose hotfix is back shows as closed; the server
    // (or the next operation here) stores that.
    core::pipeline::Session session = open_session(globals);
    if (globals.format == Format::json) {
      print_notes(session);
    }
    const std::vector<core::records::BackportIssue> issues =
        core::records::effective_backports(session.pipeline());
    if (args->which == "show") {
      return run_show(core::records::find_backport(issues, args->id), globals);
    }
    return run_list(issues, globals);
  };
}

} // namespace envflow::cli
