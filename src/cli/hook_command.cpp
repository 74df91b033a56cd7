#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "core/hooks.h"
#include "git/repo.h"
#include "util/error.h"

namespace envflow::cli {

Runner setup_hook(CLI::App& app, Globals& /*globals*/) {
  auto name = std::make_shared<std::string>();
  auto rest = std::make_shared<std::vector<std::string>>();
  app.add_option("name", *name, "The hook git runs")
      ->required()
      ->check(CLI::IsMember({"pre-commit"}))
      ->option_text("pre-commit");
  app.add_option("args", *rest, "Arguments git passes to the hook");
  return [name] {
    const git::Repository repo = git::Repository::open(".");
    const content::ValidationReport report = core::run_pre_commit(repo);
    if (!report.ok()) {
      print_diagnostics(stderr, report.diagnostics);
      throw util::Refused("commit refused: " + std::to_string(report.diagnostics.size()) +
                          " problem(s) in the staged content; fix them, git add, and commit "
                          "again");
    }
    return 0;
  };
}

} // namespace envflow::cli
