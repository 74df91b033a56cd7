#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace CLI {
class App;
class Option;
} // namespace CLI

namespace envflow::content {
class ResultCache;
}

namespace envflow::core::pipeline {
class Session;
}

namespace envflow::cli {

// `github`: diagnostics as GitHub workflow commands (::error file=…); commands
// without diagnostics print text.
enum class Format { text, json, github };

// Options every command shares (-C, --format, --actor, --remote, --offline).
struct Globals {
  std::string directory; // -C DIR
  Format format = Format::text;
  std::string format_name = "text";
  std::string actor;     // --actor
  std::string remote;    // --remote ("" = git config envflow.remote, else origin)
  bool offline = false;  // --offline: read the view the last fetch left
  // --push on the commands that move refs (see Command::push).
  bool push = false;
  // The cache of the repository this run keeps, nullptr for none: set once
  // by cli::run (core::workspace::repository_cache: none under
  // ENVFLOW_NO_CACHE), given to the session (open_session) and to what runs
  // without one (the hooks, init); `validate --no-cache` uses none.
  content::ResultCache* cache = nullptr;
};

// Open the session a command reads and writes the pipeline through, as the
// global options say, in the current directory (-C applied). In text mode
// its notes ("fetched origin", "offline: view 3 minutes old") go to stderr
// now; under --format json print_result adds them to the command's object.
core::pipeline::Session open_session(const Globals& globals);

// The session's notes on stderr, whatever the format: for commands whose
// output is not theirs to extend (render's bundle, a JSON array).
void print_notes(const core::pipeline::Session& session);

// Under --format json: `value` on stdout with member "session" (route,
// remote, notes) and, when the session applied operations in a clone,
// "pushed" (sent at once) or "pending" (kept in this clone); a value that is
// not an object (an array) is printed as it is: call print_notes first. In text
// mode: where the session's operations went, after the command's own lines
// (nothing for a repository that holds the pipeline itself), and what the
// server's hooks said, on stderr.
void print_result(const nlohmann::json& value, const core::pipeline::Session& session,
                  const Globals& globals);

// A command's runner: called after parsing, returns the exit code.
using Runner = std::function<int()>;

// A promotion candidate named on the command line: the environment it goes
// into and `--rev` (default: the previous environment's head).
struct Candidate {
  std::string env;
  std::string rev;
};

// The command line of one command (or subcommand), as the command files
// register their options and arguments on it: a handle on CLI11's CLI::App,
// so that only the few files that parse or walk the tree (app.cpp,
// options.cpp, complete_command.cpp, help_command.cpp) include CLI11 and
// compile its code (CMakeLists.txt, "Build cost"). Each function does what
// CLI11's function of that name does. Copies refer to the same command.
class CommandLine {
public:
  // An option or argument just added: its settings, chained.
  class Option {
  public:
    explicit Option(CLI::Option* option) : m_option(option) {}
    Option& required();
    // What --help (and the completion, cli/complete.h) shows for its value.
    Option& option_text(const std::string& text);
    // Its value as it is now is its default.
    Option& capture_default_str();
    // Accept only one of `names` (CLI::IsMember).
    Option& choices(const std::vector<std::string>& names);
    // After parsing: how many times the command line gave it.
    std::size_t count() const;

  private:
    CLI::Option* m_option;
  };

  explicit CommandLine(CLI::App& app) : m_app(&app) {}

  // `name`: "--long", "-s,--long" or a positional's name; the value parsed
  // goes into `value`.
  Option add_option(const std::string& name, std::string& value, const std::string& help);
  Option add_option(const std::string& name, std::vector<std::string>& value,
                    const std::string& help);
  Option add_option(const std::string& name, int& value, const std::string& help);
  Option add_option(const std::string& name, std::size_t& value, const std::string& help);
  Option add_flag(const std::string& name, bool& value, const std::string& help);
  CommandLine add_subcommand(const std::string& name, const std::string& help);
  void require_subcommand(int count);
  // Text --help prints after the options.
  void footer(const std::string& text);

  // Add `ENV` and `--rev REV`, read into the candidate returned; `verb` says
  // what the command does with it ("approve", "check").
  std::shared_ptr<Candidate> add_candidate(const std::string& verb);

  // Add subcommand `name` (one-line `help`) to a command made of such
  // choices: the command line must choose one of them. When it chooses this
  // one, `*which` becomes `name`, for the runner to dispatch on.
  CommandLine add_choice(const std::shared_ptr<std::string>& which, const std::string& name,
                         const std::string& help);
  // The same for the runner's arguments `args`: sets `args->which`.
  template <typename Args>
  CommandLine add_choice(const std::shared_ptr<Args>& args, const std::string& name,
                         const std::string& help) {
    return add_choice(std::shared_ptr<std::string>(args, &args->which), name, help);
  }

  // For the files that include CLI11.
  CLI::App& app() const { return *m_app; }

private:
  CLI::App* m_app;
};

// How many rows a listing that grows with history (releases, back-port
// issues) shows unless told otherwise, as gh's lists do.
inline constexpr std::size_t k_list_limit = 30;

// The newest `shown` rows of such a listing (every row when 0), oldest first,
// and whether rows were left out: `read(limit)` returns the newest `limit`
// rows (all for nullopt), oldest first, and is asked for one more than shown.
template <typename Read> auto newest_rows(std::size_t shown, const Read& read) {
  auto rows = read(shown == 0 ? std::nullopt : std::optional<std::size_t>(shown + 1));
  const bool more = shown != 0 && rows.size() > shown;
  if (more) {
    rows.erase(rows.begin());
  }
  return std::pair(std::move(rows), more);
}

// In Command::push: the command itself (rather than one of its subcommands).
inline constexpr const char* k_itself = "";

// One row of the command table: name, one-line help, the function that adds
// the subcommand's options to `app` and returns its runner, and which
// invocations move refs and so take `--push` (k_itself, and/or names of its
// subcommands; none when empty). app.cpp adds the option; the session
// (open_session) sends each operation at once when it is given.
struct Command {
  const char* name;
  const char* help;
  Runner (*setup)(CommandLine& app, Globals& globals);
  std::vector<const char*> push = {};
};

// Every command, in the order `envflow --help` lists them.
const std::vector<Command>& commands();

// Declared by each <verb>_command.cpp.
Runner setup_init(CommandLine& app, Globals& globals);
Runner setup_validate(CommandLine& app, Globals& globals);
Runner setup_hook(CommandLine& app, Globals& globals);
Runner setup_install_hooks(CommandLine& app, Globals& globals);
Runner setup_publish(CommandLine& app, Globals& globals);
Runner setup_releases(CommandLine& app, Globals& globals);
Runner setup_verify(CommandLine& app, Globals& globals);
Runner setup_rollback(CommandLine& app, Globals& globals);
Runner setup_sync(CommandLine& app, Globals& globals);
Runner setup_approve(CommandLine& app, Globals& globals);
Runner setup_check(CommandLine& app, Globals& globals);
Runner setup_status(CommandLine& app, Globals& globals);
Runner setup_diff(CommandLine& app, Globals& globals);
Runner setup_var(CommandLine& app, Globals& globals);
Runner setup_render(CommandLine& app, Globals& globals);
Runner setup_log(CommandLine& app, Globals& globals);
Runner setup_doctor(CommandLine& app, Globals& globals);
Runner setup_config(CommandLine& app, Globals& globals);
Runner setup_setup(CommandLine& app, Globals& globals);
Runner setup_hotfix(CommandLine& app, Globals& globals);
Runner setup_backport(CommandLine& app, Globals& globals);
Runner setup_cache(CommandLine& app, Globals& globals);
Runner setup_hold(CommandLine& app, Globals& globals);
Runner setup_serve(CommandLine& app, Globals& globals);
Runner setup_push(CommandLine& app, Globals& globals);
Runner setup_help(CommandLine& app, Globals& globals);

} // namespace envflow::cli
