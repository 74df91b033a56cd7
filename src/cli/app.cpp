#include "cli/app.h"

#include <cstdio>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::cli {

namespace {


int fail(util::Exit exit, const std::string& message) {
  std::fprintf(stderr, "envflow: error: %s\n", message.c_str());
  return static_cast<int>(exit);
}

// "did you mean" for a first word that is no command.
std::string suggestion(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word == "-C" || word == "--format" || word == "--actor") {
      ++i;
      continue;
    }
    if (word.starts_with("-")) {
      continue;
    }
    std::string best;
    size_t best_distance = 3;
    for (const auto& command : commands()) {
      if (word == command.name) {
        return {};
      }
      const size_t d = util::edit_distance(word, command.name);
      if (d < best_distance) {
        best_distance = d;
        best = command.name;
      }
    }
    std::string text = "'" + word + "' is not an envflow command";
    if (!best.empty()) {
      text += "; did you mean '" + best + "'?";
    } else {
      text += "; see envflow --help";
    }
    return text;
  }
  return {};
}

} // namespace

const std::vector<Command>& commands() {
  static const std::vector<Command> table{
      {"init", "Create (or adopt) an envflow repository with the starter workspace",
       setup_init},
      {"validate", "Validate the workspace (working tree, or a commit with --rev)",
       setup_validate},
      {"sync", "Promote an environment to the next one by fast-forward", setup_sync},
      {"approve", "Record an approval to promote a revision into an environment", setup_approve},
      {"status", "The pipeline at a glance", setup_status},
      {"diff", "Semantic difference between two environments or revisions", setup_diff},
      {"var", "Environment-local variable overrides (set, unset, list)", setup_var},
      {"render", "The resolved bundle an environment serves, as JSON", setup_render},
      {"publish", "Tag the last environment's head as a signed release and make it live", setup_publish},
      {"releases", "Release history", setup_releases},
      {"verify", "Check a release's signature and manifest", setup_verify},
      {"rollback", "Point live at an earlier release", setup_rollback},
      {"hotfix", "Start or finish a hotfix on the last environment", setup_hotfix},
      {"backport", "Back-port issues opened by hotfixes (list, show, apply)", setup_backport},
      {"log", "The audit trail", setup_log},
      {"doctor", "Check the invariants and the installation", setup_doctor},
      {"config", "Show or edit the pipeline config", setup_config},
      {"setup", "Make a clone fetch refs/envflow/* and the environment branches", setup_setup},
      {"install-hooks", "Install envflow's git hooks into a repository", setup_install_hooks},
      {"hook", "Run a git hook (called by the scripts in hooks/)", setup_hook},
      {"cache", "Clear or inspect the cache of validation results", setup_cache},
      {"hold", "Holds on auto-promotion (list, release)", setup_hold},
  };
  return table;
}

int run(int argc, char** argv) {
  CLI::App app{"envflow: a content-as-code release pipeline on plain git", "envflow"};
  app.set_version_flag("--version", std::string("envflow ") + ENVFLOW_VERSION);
  app.require_subcommand(1);
  app.fallthrough(true);
  Globals globals;
  app.add_option("-C", globals.directory, "Run as if started in DIR (like git -C)")
      ->option_text("DIR");
  app.add_option("--format", globals.format_name, "Output format")
      ->check(CLI::IsMember({"text", "json", "github"}))
      ->option_text("text|json|github");
  app.add_option("--actor", globals.actor,
                 "Who is acting (else $ENVFLOW_ACTOR, else git config user.email)")
      ->option_text("NAME");

  Runner runner;
  for (const auto& command : commands()) {
    CLI::App* sub = app.add_subcommand(command.name, command.help);
    Runner r = command.setup(*sub, globals);
    sub->callback([&runner, r] { runner = r; });
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) { // --help, --version
      return app.exit(e);
    }
    if (const std::string hint = suggestion(argc, argv); !hint.empty()) {
      return fail(util::Exit::usage, hint);
    }
    return fail(util::Exit::usage, std::string(e.what()) + " (see envflow --help)");
  }

  try {
    globals.format = globals.format_name == "json"     ? Format::json
                     : globals.format_name == "github" ? Format::github
                                                       : Format::text;
    if (!globals.directory.empty()) {
      std::error_code ec;
      std::filesystem::current_path(globals.directory, ec);
      if (ec) {
        throw util::UsageError("cannot change to " + globals.directory + ": " + ec.message());
      }
    }
    return runner ? runner() : 0;
  } catch (const git::RefConflict& e) {
    return fail(util::Exit::refused, e.what());
  } catch (const util::Error& e) {
    return fail(e.exit(), e.what());
  } catch (const std::filesystem::filesystem_error& e) {
    return fail(util::Exit::io, e.what());
  } catch (const std::exception& e) {
    return fail(util::Exit::io, std::string("unexpected failure: ") + e.what());
  }
}

} // namespace envflow::cli
