#pragma once

#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace envflow::cli {

// `github`: diagnostics as GitHub workflow commands (::error file=…); commands
// without diagnostics print text.
enum class Format { text, json, github };

// Options every command shares (DESIGN.md: -C, --format, --actor).
struct Globals {
  std::string directory; // -C DIR
  Format format = Format::text;
  std::string format_name = "text";
  std::string actor;     // --actor
  // --push [--remote NAME] on the commands that move refs (see Command::push).
  bool push = false;
  std::string remote = "origin";
};

// A command's runner: called after parsing, returns the exit code.
using Runner = std::function<int()>;

// In Command::push: the command itself (rather than one of its subcommands).
inline constexpr const char* k_itself = "";

// One row of the command table: name, one-line help, the function that adds
// the subcommand's options to `app` and returns its runner, and which
// invocations move refs and so take `--push [--remote NAME]` (k_itself,
// and/or names of its subcommands; none when empty). app.cpp adds those
// options and wraps the run: fetch and align first, one atomic push after.
struct Command {
  const char* name;
  const char* help;
  Runner (*setup)(CLI::App& app, Globals& globals);
  std::vector<const char*> push = {};
};

// Every command, in the order `envflow --help` lists them.
const std::vector<Command>& commands();

// Declared by each <verb>_command.cpp.
Runner setup_init(CLI::App& app, Globals& globals);
Runner setup_validate(CLI::App& app, Globals& globals);
Runner setup_hook(CLI::App& app, Globals& globals);
Runner setup_install_hooks(CLI::App& app, Globals& globals);
Runner setup_publish(CLI::App& app, Globals& globals);
Runner setup_releases(CLI::App& app, Globals& globals);
Runner setup_verify(CLI::App& app, Globals& globals);
Runner setup_rollback(CLI::App& app, Globals& globals);
Runner setup_sync(CLI::App& app, Globals& globals);
Runner setup_approve(CLI::App& app, Globals& globals);
Runner setup_status(CLI::App& app, Globals& globals);
Runner setup_diff(CLI::App& app, Globals& globals);
Runner setup_var(CLI::App& app, Globals& globals);
Runner setup_render(CLI::App& app, Globals& globals);
Runner setup_log(CLI::App& app, Globals& globals);
Runner setup_doctor(CLI::App& app, Globals& globals);
Runner setup_config(CLI::App& app, Globals& globals);
Runner setup_setup(CLI::App& app, Globals& globals);
Runner setup_hotfix(CLI::App& app, Globals& globals);
Runner setup_backport(CLI::App& app, Globals& globals);
Runner setup_cache(CLI::App& app, Globals& globals);
Runner setup_hold(CLI::App& app, Globals& globals);
Runner setup_serve(CLI::App& app, Globals& globals);

} // namespace envflow::cli
