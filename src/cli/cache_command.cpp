#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "core/workspace/cache.h"

namespace envflow::cli {

namespace {

struct CacheArgs {
  std::string which;
};

} // namespace

Runner setup_cache(CommandLine& app, Globals& globals) {
  auto args = std::make_shared<CacheArgs>();
  app.require_subcommand(1);
  const std::shared_ptr<std::string> which(args, &args->which);
  app.add_choice(which, "clear", "Remove every cached validation result");
  app.add_choice(which, "info", "Where the cache is and how big it is");

  return [args, &globals]() -> int {
    if (args->which == "clear") {
      const core::workspace::ClearedCache cleared = core::workspace::clear_cache(".");
      if (globals.format == Format::json) {
        print_json({{"dir", cleared.dir}, {"removed", cleared.removed}});
      } else {
        std::printf("cleared %s (%zu file%s removed)\n", cleared.dir.c_str(), cleared.removed,
                    cleared.removed == 1 ? "" : "s");
      }
      return 0;
    }
    const core::workspace::CacheUsage usage = core::workspace::cache_usage(".");
    if (globals.format == Format::json) {
      print_json({{"dir", usage.dir}, {"files", usage.files}, {"bytes", usage.bytes}});
    } else {
      std::printf("%s: %zu file%s, %.1f MiB\n", usage.dir.c_str(), usage.files,
                  usage.files == 1 ? "" : "s",
                  static_cast<double>(usage.bytes) / (1024.0 * 1024.0));
    }
    return 0;
  };
}

} // namespace envflow::cli
