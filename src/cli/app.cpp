#include "cli/app.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>
#include <string_view>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "core/audit.h"
#include "core/cache.h"
#include "core/events.h"
#include "core/remote.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/fault.h"
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

// --push and --remote on `app`, a command or one of its subcommands.
void add_push_options(CLI::App& app, Globals& globals) {
  CLI::Option* push = app.add_flag(
      "--push", globals.push,
      "Fetch the remote first, run on its refs, then push every ref this moves in one "
      "atomic push (see docs/ci.md)");
  app.add_option("--remote", globals.remote, "Remote for --push (default: origin)")
      ->option_text("NAME")
      ->needs(push);
}

// While alive, what goes to std::cout (print_json) is kept instead of
// printed, so that the push's outcome can join the command's JSON object.
class CapturedCout {
public:
  CapturedCout() : m_previous(std::cout.rdbuf(m_buffer.rdbuf())) {}
  ~CapturedCout() { std::cout.rdbuf(m_previous); }
  CapturedCout(const CapturedCout&) = delete;
  CapturedCout& operator=(const CapturedCout&) = delete;
  std::string text() const { return m_buffer.str(); }

private:
  std::ostringstream m_buffer;
  std::streambuf* m_previous;
};

nlohmann::json id_or_null(const std::string& id) {
  return id.empty() ? nlohmann::json(nullptr) : nlohmann::json(id);
}

nlohmann::json pushed_json(const core::PushOutcome& outcome) {
  nlohmann::json refs = nlohmann::json::array();
  for (const auto& move : outcome.pushed) {
    refs.push_back(
        {{"ref", move.ref}, {"old", id_or_null(move.old_id)}, {"new", id_or_null(move.new_id)}});
  }
  return {{"remote", outcome.remote}, {"refs", refs}};
}

void print_pushed(const core::PushOutcome& outcome) {
  if (outcome.pushed.empty()) {
    std::printf("nothing moved: nothing to push to %s\n", outcome.remote.c_str());
    return;
  }
  std::printf("%s to %s (one atomic push):\n", paint(stdout, Color::green, "pushed").c_str(),
              outcome.remote.c_str());
  size_t width = 0;
  for (const auto& move : outcome.pushed) {
    width = std::max(width, move.ref.size());
  }
  for (const auto& move : outcome.pushed) {
    const std::string what = move.old_id.empty()   ? "new at " + move.new_id.substr(0, 7)
                             : move.new_id.empty() ? "deleted (was " + move.old_id.substr(0, 7) + ")"
                                                   : move.old_id.substr(0, 7) + ".." +
                                                         move.new_id.substr(0, 7);
    std::printf("  %-*s %s\n", static_cast<int>(width), move.ref.c_str(), what.c_str());
  }
}

// Run `runner` as with --push: align with the remote, run, push what moved
// (or undo it when the command throws). Returns the command's exit code.
// Sets `audit_before` to the audit ref once aligned with the remote (before
// the command runs, so also when it throws).
int run_pushing(const Runner& runner, const Globals& globals,
                std::optional<std::string>& audit_before) {
  git::Repository repo = git::Repository::open(".");
  const core::PushSession session = core::begin_push(repo, globals.remote);
  // Records begin_push fetched are other people's: events only for this run's.
  const auto aligned_audit = session.before.find(core::k_audit_ref);
  audit_before = aligned_audit != session.before.end() ? aligned_audit->second : "";
  std::optional<CapturedCout> captured;
  if (globals.format == Format::json) {
    captured.emplace();
  }
  auto abandon = [&] {
    try {
      if (const auto reset = core::abandon_push(repo, session); !reset.empty()) {
        std::fprintf(stderr, "envflow: note: nothing was pushed; undid this run's local moves (%s)\n",
                     util::join(reset, ", ").c_str());
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "envflow: warning: undoing this run's local moves failed: %s\n",
                   e.what());
    }
  };
  int code = 0;
  try {
    code = runner ? runner() : 0;
  } catch (...) {
    captured.reset();
    abandon();
    throw;
  }
  // A command that returns, even with a non-zero code, stands by what it
  // moved: sync --auto that stops at a refused gate keeps the promotions made
  // before it, so they are pushed as well.
  core::PushOutcome outcome;
  try {
    outcome = core::finish_push(repo, session);
  } catch (...) {
    // Refused or failed: this run's records were undone, and what the reset
    // brought from the remote is other people's (their hooks announce it).
    audit_before.reset();
    throw;
  }
  for (const auto& line : outcome.remote_said) {
    std::fprintf(stderr, "%s\n", line.c_str()); // what the server's hooks said, as git shows it
  }
  if (!captured) {
    print_pushed(outcome);
    return code;
  }
  const std::string text = captured->text();
  captured.reset();
  nlohmann::json value = nlohmann::json::parse(text, nullptr, false);
  if (!value.is_object()) {
    std::cout << text;
    return code;
  }
  value["pushed"] = pushed_json(outcome);
  print_json(value);
  return code;
}

// The audit ref in the current directory's repository ("" when it has no
// record yet), or nullopt outside a repository.
std::optional<std::string> audit_head() {
  try {
    return git::Repository::open(".").ref_target(core::k_audit_ref).value_or("");
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Send the events of the audit records written since `before`. Never throws.
void send_events_since(const std::string& before) {
  try {
    core::emit_events_since(git::Repository::open("."), before);
  } catch (const std::exception&) {
    // No repository any more: nothing was recorded in it to announce.
  }
}

} // namespace

const std::vector<Command>& commands() {
  static const std::vector<Command> table{
      {"init", "Create (or adopt) an envflow repository with the starter workspace",
       setup_init},
      {"validate", "Validate the workspace (working tree, or a commit with --rev)",
       setup_validate},
      {"sync", "Promote an environment to the next one by fast-forward", setup_sync,
       {k_itself}},
      {"approve", "Record an approval to promote a revision into an environment", setup_approve,
       {k_itself}},
      {"status", "The pipeline at a glance", setup_status},
      {"diff", "Semantic difference between two environments or revisions", setup_diff},
      {"var", "Environment-local variable overrides (set, unset, list)", setup_var,
       {"set", "unset"}},
      {"render", "The resolved bundle an environment serves, as JSON", setup_render},
      {"publish", "Tag the last environment's head as a signed release and make it live", setup_publish,
       {k_itself}},
      {"releases", "Release history", setup_releases},
      {"verify", "Check a release's signature and manifest", setup_verify},
      {"rollback", "Point live at an earlier release", setup_rollback, {k_itself}},
      {"hotfix", "Start or finish a hotfix on the last environment", setup_hotfix,
       {"start", "finish"}},
      {"backport", "Back-port issues opened by hotfixes (list, show, apply)", setup_backport,
       {"apply"}},
      {"log", "The audit trail", setup_log},
      {"doctor", "Check the invariants and the installation", setup_doctor},
      {"config", "Show or edit the pipeline config", setup_config},
      {"setup", "Make a clone fetch refs/envflow/* and the environment branches", setup_setup},
      {"install-hooks", "Install envflow's git hooks into a repository", setup_install_hooks},
      {"hook", "Run a git hook (called by the scripts in hooks/)", setup_hook},
      {"cache", "Clear or inspect the cache of validation results", setup_cache},
      {"hold", "Holds on auto-promotion (list, set, release)", setup_hold, {"set", "release"}},
  };
  return table;
}

int run(int argc, char** argv) {
  util::claim_fault_config();
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

  // Every validation this process makes (validate, sync, the hooks) reuses
  // per-file results from the repository's cache; nothing is opened until a
  // validation starts. `validate --no-cache` and ENVFLOW_NO_CACHE=1 turn it off.
  core::use_repository_cache(core::CacheMode::on);

  Runner runner;
  std::string command_name;
  for (const auto& command : commands()) {
    CLI::App* sub = app.add_subcommand(command.name, command.help);
    Runner r = command.setup(*sub, globals);
    sub->callback([&runner, &command_name, r, name = std::string(command.name)] {
      runner = r;
      command_name = name;
    });
    for (const char* which : command.push) {
      add_push_options(which == std::string_view(k_itself) ? *sub : *sub->get_subcommand(which),
                       globals);
    }
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

  // The audit records this run writes are sent as events afterwards,
  // whatever the exit code (docs/events.md). The hooks are left out: a
  // server's hooks send the events of what was pushed themselves.
  std::optional<std::string> audit_before;
  int code = 0;
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
    if (command_name != "hook") {
      audit_before = audit_head();
    }
    if (globals.push) {
      code = run_pushing(runner, globals, audit_before);
    } else {
      code = runner ? runner() : 0;
    }
  } catch (const git::RefConflict& e) {
    code = fail(util::Exit::refused, e.what());
  } catch (const util::Error& e) {
    code = fail(e.exit(), e.what());
  } catch (const std::filesystem::filesystem_error& e) {
    code = fail(util::Exit::io, e.what());
  } catch (const std::exception& e) {
    code = fail(util::Exit::io, std::string("unexpected failure: ") + e.what());
  }
  if (audit_before) {
    send_events_since(*audit_before);
  }
  return code;
}

} // namespace envflow::cli
