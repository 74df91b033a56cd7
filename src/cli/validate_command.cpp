#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "core/workspace/workspace.h"

namespace envflow::cli {

namespace {

struct ValidateArgs {
  std::vector<std::string> paths;
  std::string rev;
  bool no_cache = false;
};

// Print a report in the chosen format (github: the diagnostics as workflow
// commands, then the summary line); exit 0 when valid, 1 otherwise.
int report(const content::ValidationReport& result, Format format) {
  if (format == Format::json) {
    nlohmann::json array = nlohmann::json::array();
    for (const auto& d : result.diagnostics) {
      array.push_back(d.to_json());
    }
    print_json(array);
    return result.ok() ? 0 : 1;
  }
  print_diagnostics(stdout, result.diagnostics, format);
  if (result.ok()) {
    std::printf("%s %zu file%s valid\n", paint(stdout, Color::green, "ok:").c_str(), result.files,
                result.files == 1 ? "" : "s");
    return 0;
  }
  std::set<std::string> files;
  for (const auto& d : result.diagnostics) {
    files.insert(d.path);
  }
  std::printf("%s %zu problem%s in %zu file%s (%zu checked)\n",
              paint(stdout, Color::red, "invalid:").c_str(), result.diagnostics.size(),
              result.diagnostics.size() == 1 ? "" : "s", files.size(),
              files.size() == 1 ? "" : "s", result.files);
  return 1;
}

} // namespace

Runner setup_validate(CommandLine& app, Globals& globals) {
  auto args = std::make_shared<ValidateArgs>();
  app.add_option("paths", args->paths, "Files or folders to report on (default: all)")
      .option_text("PATH...");
  app.add_option("--rev", args->rev,
                 "Validate this commit's tree from the object database (works in bare "
                 "repositories)")
      .option_text("REV");
  app.add_flag("--no-cache", args->no_cache,
               "Check every file afresh: neither read nor write the cache of results");
  return [args, &globals] {
    content::ResultCache* const cache = args->no_cache ? nullptr : globals.cache;
    content::ValidationReport result;
    {
      ProgressLine line("validating", "files", globals.format); // cleared before the report
      const content::Progress progress = [&line](std::size_t done, std::size_t total) {
        line.update(done, total);
      };
      result = args->rev.empty()
                   ? core::workspace::validate_worktree(".", cache, args->paths,
                                                        content::Scope::promoted, progress)
                   : core::workspace::validate_revision(".", cache, args->rev, args->paths,
                                                        content::Scope::promoted, progress);
    }
    return report(result, globals.format);
  };
}

} // namespace envflow::cli
