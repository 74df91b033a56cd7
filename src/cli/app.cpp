#include "cli/app.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string_view>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/complete.h"
#include "cli/output.h"
#include "core/model/refs.h"
#include "core/pipeline/session.h"
#include "core/workspace/cache.h"
#include "util/enum_names.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/strings.h"

namespace envflow::cli {

namespace {

// Print `report` (stderr, each line escaped; under --format json also the
// error object on stdout) and return its exit code.
int fail(const ErrorReport& report, bool json) {
  std::fprintf(stderr, "envflow: error: %s\n", printable_lines(report.message).c_str());
  if (json) {
    std::fflush(stdout);
    print_json(error_json(report));
  }
  return static_cast<int>(report.exit);
}

// The usage error for a first word that is no command ("did you mean"), or
// nullopt when the first word is a command.
std::optional<ErrorReport> unknown_command(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word == "-C" || word == "--format" || word == "--actor") {
      ++i;
      continue;
    }
    if (word.starts_with("-")) {
      continue;
    }
    std::vector<std::string> names;
    for (const auto& command : commands()) {
      if (word == command.name) {
        return std::nullopt;
      }
      names.emplace_back(command.name);
    }
    std::string hint = util::did_you_mean(word, names);
    if (hint.empty()) {
      hint = "see envflow --help";
    }
    return ErrorReport{util::Exit::usage, "unknown-command",
                       "'" + word + "' is not an envflow command; " + hint, hint, "", ""};
  }
  return std::nullopt;
}

// --push on `app`, a command or one of its subcommands.
void add_push_option(CLI::App& app, Globals& globals) {
  app.add_flag("--push", globals.push,
               "In a clone: send the operation to the server at once, in one atomic push (the "
               "server judges and records it); without it, it is kept here until envflow push");
}

nlohmann::json id_or_null(const std::string& id) {
  return core::model::is_zero(id) ? nlohmann::json(nullptr) : nlohmann::json(id);
}

const char* route_name(core::pipeline::Route route) {
  using core::pipeline::Route;
  static constexpr auto k_names = std::to_array<util::EnumName<Route>>(
      {{Route::local, "local"}, {Route::pending, "pending"}, {Route::push, "push"}});
  return util::name_of(k_names, route, "local").data();
}

// Every ref the session's operations moved, by name: first old, last new.
std::vector<core::model::RefMove> moves_of(const std::vector<core::pipeline::Applied>& applied) {
  std::map<std::string, core::model::RefMove> by_ref;
  for (const auto& one : applied) {
    for (const auto& move : one.moves) {
      auto [it, added] = by_ref.emplace(move.ref, move);
      if (!added) {
        it->second.new_id = move.new_id;
      }
    }
  }
  std::vector<core::model::RefMove> moves;
  for (auto& [ref, move] : by_ref) {
    moves.push_back(std::move(move));
  }
  return moves;
}

nlohmann::json refs_json(const std::vector<core::model::RefMove>& moves) {
  nlohmann::json refs = nlohmann::json::array();
  for (const auto& move : moves) {
    refs.push_back(
        {{"ref", move.ref}, {"old", id_or_null(move.old_id)}, {"new", id_or_null(move.new_id)}});
  }
  return refs;
}

std::vector<std::string> remote_said(const core::pipeline::Session& session) {
  std::vector<std::string> lines;
  for (const auto& one : session.applied()) {
    lines.insert(lines.end(), one.remote_said.begin(), one.remote_said.end());
  }
  return lines;
}

// "test 1a2b3c4..5d6e7f8", "new at …", "deleted (was …)".
std::string move_text(const core::model::RefMove& move) {
  if (core::model::is_zero(move.old_id)) {
    return "new at " + core::model::short_id(move.new_id);
  }
  if (core::model::is_zero(move.new_id)) {
    return "deleted (was " + core::model::short_id(move.old_id) + ")";
  }
  return core::model::short_id(move.old_id) + ".." + core::model::short_id(move.new_id);
}

void print_moves(const std::vector<core::model::RefMove>& moves) {
  size_t width = 0;
  for (const auto& move : moves) {
    width = std::max(width, move.ref.size());
  }
  for (const auto& move : moves) {
    std::printf("  %-*s %s\n", static_cast<int>(width), util::printable(move.ref).c_str(),
                move_text(move).c_str());
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
      {"check", "Run an environment's verification checks on a candidate and record the results",
       setup_check, {k_itself}},
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
      {"config", "Show or edit the pipeline config", setup_config, {"edit", "put"}},
      {"setup", "Make a clone fetch refs/envflow/* and the environment branches", setup_setup},
      {"install-hooks", "Install envflow's git hooks into a repository", setup_install_hooks},
      {"hook", "Run a git hook (called by the scripts in hooks/)", setup_hook},
      {"cache", "Clear or inspect the cache of validation results", setup_cache},
      {"hold", "Holds on auto-promotion (list, set, release)", setup_hold, {"set", "release"}},
      {"push", "Send the operations this clone kept offline to the server (or list, discard them)",
       setup_push},
      {"serve", "The pipeline on a web page, with its buttons, and the JSON API", setup_serve},
      {"help", "Show the help of envflow or of a command (what --help prints)", setup_help},
  };
  return table;
}

core::pipeline::Session open_session(const Globals& globals) {
  core::pipeline::Session session = core::pipeline::Session::open(
      ".", core::pipeline::SessionOptions{globals.actor, globals.push, globals.remote,
                                          globals.offline, globals.cache});
  if (globals.format != Format::json) {
    print_notes(session);
  }
  return session;
}

void print_notes(const core::pipeline::Session& session) {
  for (const auto& note : session.notes()) {
    std::fprintf(stderr, "envflow: note: %s\n", printable_lines(note).c_str());
  }
}

void print_result(const nlohmann::json& value, const core::pipeline::Session& session,
                  const Globals& globals) {
  const std::vector<core::pipeline::Applied>& applied = session.applied();
  const std::vector<core::model::RefMove> moves = moves_of(applied);
  if (globals.format == Format::json) {
    if (!value.is_object()) {
      print_json(value); // the caller printed the notes (print_notes)
      return;
    }
    nlohmann::json out = value;
    out["session"] = {{"route", route_name(session.route())},
                      {"remote", session.is_clone() ? nlohmann::json(session.remote())
                                                    : nlohmann::json(nullptr)},
                      {"notes", session.notes()}};
    if (session.route() == core::pipeline::Route::push) {
      out["pushed"] = {{"remote", session.remote()},
                       {"refs", refs_json(moves)},
                       {"remote_said", remote_said(session)}};
    } else if (session.route() == core::pipeline::Route::pending && !applied.empty()) {
      out["pending"] = {{"remote", session.remote()},
                        {"refs", refs_json(moves)},
                        {"operations", session.pending().size()}};
    }
    print_json(out);
    return;
  }
  for (const auto& line : remote_said(session)) {
    std::fprintf(stderr, "%s\n", util::printable(line).c_str()); // the server's hooks, as git shows them
  }
  if (applied.empty() || session.route() == core::pipeline::Route::local) {
    return;
  }
  const std::string remote = util::printable(session.remote());
  if (session.route() == core::pipeline::Route::push) {
    std::printf("%s to %s (one atomic push per operation):\n",
                paint(stdout, Color::green, "pushed").c_str(), remote.c_str());
    print_moves(moves);
    return;
  }
  const size_t pending = session.pending().size();
  std::printf("%s in this clone: run envflow push to send %s to %s (%zu operation%s pending; "
              "--push sends at once)\n",
              paint(stdout, Color::yellow, "kept").c_str(), applied.size() == 1 ? "it" : "them",
              remote.c_str(), pending, pending == 1 ? "" : "s");
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
  app.add_option("--remote", globals.remote,
                 "In a clone: the server's remote (default: git config envflow.remote, else "
                 "origin)")
      ->option_text("NAME");
  app.add_flag("--offline", globals.offline,
               "Read the view the last fetch left; do not fetch (operations are kept in this "
               "clone until envflow push)");

  // Every validation this run makes (validate, sync, the hooks) reuses
  // per-file results from the repository's cache, and facts remembered by
  // object id are kept beside it; nothing is opened until a validation
  // starts. ENVFLOW_NO_CACHE=1 gives none, `validate --no-cache` uses none.
  const std::unique_ptr<content::ResultCache> cache = core::workspace::repository_cache();
  globals.cache = cache.get();

  Runner runner;
  for (const auto& command : commands()) {
    CLI::App* sub = app.add_subcommand(command.name, command.help);
    CommandLine line(*sub);
    Runner r = command.setup(line, globals);
    sub->callback([&runner, r] { runner = r; });
    for (const char* which : command.push) {
      add_push_option(which == std::string_view(k_itself) ? *sub : *sub->get_subcommand(which),
                      globals);
    }
  }

  // The shell completions' question (completion/): answered from the table
  // just built, before parsing, so its words are never taken as options.
  if (argc >= 2 && std::string_view(argv[1]) == "__complete") {
    return complete(app, std::vector<std::string>(argv + 2, argv + argc), globals.cache);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) { // --help, --version
      return app.exit(e);
    }
    const bool json = globals.format_name == "json";
    if (const auto unknown = unknown_command(argc, argv)) {
      return fail(*unknown, json);
    }
    return fail({util::Exit::usage, "usage", std::string(e.what()) + " (see envflow --help)",
                 "see envflow --help", "", ""},
                json);
  }

  static constexpr auto k_format_names = std::to_array<util::EnumName<Format>>(
      {{Format::text, "text"}, {Format::json, "json"}, {Format::github, "github"}});
  globals.format = util::value_of(k_format_names, globals.format_name).value_or(Format::text);
  const bool json = globals.format == Format::json;
  try {
    if (!globals.directory.empty()) {
      std::error_code ec;
      std::filesystem::current_path(globals.directory, ec);
      if (ec) {
        throw util::UsageError("cannot change to " + globals.directory + ": " + ec.message());
      }
    }
    return runner ? runner() : 0;
  } catch (...) {
    return fail(error_report(std::current_exception()), json);
  }
}

} // namespace envflow::cli
