#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "core/pipeline/session.h"
#include "core/policy/config.h"
#include "core/policy/context.h"
#include "core/records/backport.h"
#include "core/release/backport_apply.h"
#include "util/error.h"
#include "util/strings.h"
#include "util/time.h"

namespace envflow::cli {

namespace {

struct BackportArgs {
  std::string which;
  int id = 0;
  std::string state = "open";
  std::size_t limit = k_list_limit;
  bool all = false;
};

std::string date_of(std::int64_t time) {
  return time == 0 ? std::string("-") : util::iso_time(time).substr(0, 10);
}

int run_list(const core::model::Pipeline& pipeline, const BackportArgs& args,
             const Globals& globals) {
  const core::records::BackportState state =
      args.all || args.state == "all" ? core::records::BackportState::all
      : args.state == "closed"        ? core::records::BackportState::closed
                                      : core::records::BackportState::open;
  const std::size_t shown = args.all ? 0 : args.limit; // 0: all
  const auto [issues, more] = newest_rows(shown, [&](std::optional<std::size_t> count) {
    return core::records::list_backports(pipeline, state, count);
  });
  if (globals.format == Format::json) {
    nlohmann::json array = nlohmann::json::array();
    for (const auto& issue : issues) {
      array.push_back(issue.to_json());
    }
    print_json(array);
    return 0;
  }
  if (issues.empty()) {
    if (state == core::records::BackportState::all) {
      std::printf("no back-port issues (a hotfix opens one: envflow hotfix finish)\n");
    } else {
      std::printf("no %s back-port issues (envflow backport list --all lists every one)\n",
                  args.state.c_str());
    }
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
  if (more) {
    std::fprintf(stderr, "the newest %zu; envflow backport list --all lists every one\n", shown);
  }
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
  const core::release::BackportApplyResult result = core::release::apply_backport(session, id);
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

Runner setup_backport(CommandLine& app, Globals& globals) {
  auto args = std::make_shared<BackportArgs>();
  CommandLine list = app.add_choice(args, "list", "The open back-port issues (--all: every one)");
  list.add_option("-s,--state", args->state, "Which issues: open (the default), closed or all")
      .choices({"open", "closed", "all"})
      .option_text("STATE");
  list.add_option("-n,--limit", args->limit,
                  "Only the newest N of them (default " + std::to_string(k_list_limit) +
                      "); all when 0")
      .option_text("N");
  list.add_flag("--all", args->all, "Every issue, open or closed, however many");
  CommandLine show = app.add_choice(args, "show", "One back-port issue");
  CommandLine apply =
      app.add_choice(args, "apply", "Merge the hotfix into the first environment and close it");
  for (CommandLine sub : {show, apply}) {
    sub.add_option("id", args->id, "Issue number").required().option_text("ID");
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
    if (args->which == "show") {
      return run_show(core::records::find_backport(
                          core::records::effective_backports(session.pipeline()), args->id),
                      globals);
    }
    return run_list(session.pipeline(), *args, globals);
  };
}

} // namespace envflow::cli
