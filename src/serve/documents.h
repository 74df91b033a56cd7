#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

// The JSON documents behind `envflow serve`'s API and pages come from the
// envflow commands themselves: each is `envflow ARGS --format json` run in
// the served repository, as the person acting. So the page and the command
// line can never disagree (the same rulebook judges every button, the same
// code prints every document), and every button press is one process with
// its own session, like a command someone typed.
namespace envflow::serve {

struct CommandReply {
  int exit = 0;        // the command's exit code (0 done, 1 refused, 2 usage, 3 repository)
  nlohmann::json body; // its document, or its error object {"error": {...}}
};

// Where and as whom the commands run.
struct CommandRunner {
  std::string repo_path;   // the served repository
  std::string actor;       // --actor ("" = none: the command finds nobody, or refuses)
  std::string remote;      // --remote ("" = the clone's default)
  bool push = false;       // acting commands take --push (serving a clone)
  bool offline = false;    // reading commands take --offline (the page read the view already)

  // Run `envflow ARGS --format json`. Never throws for a command's failure:
  // the reply carries its exit code and error object.
  CommandReply run(const std::vector<std::string>& args) const;
  // Run it and return its document; a failure is thrown as the error the
  // command reported (util::Refused, util::UsageError, util::IoError).
  nlohmann::json read(const std::vector<std::string>& args) const;

  // run() of each of `commands` at once, at most k_max_parallel processes at
  // a time: a page waits for its slowest document, not for their sum. The
  // replies come in the order of `commands`; each is what run() would give.
  std::vector<CommandReply> run_all(const std::vector<std::vector<std::string>>& commands) const;
  // read() of each of `commands` at once, as run_all(); when some fail, the
  // first failure in the order of `commands` is thrown, once all have ended.
  std::vector<nlohmann::json> read_all(const std::vector<std::vector<std::string>>& commands) const;

  static constexpr std::size_t k_max_parallel = 4;
};

// The HTTP status of a command's failure: 400 usage, 403 forbidden by the
// policy, 409 refused by a gate or a lost race, 500 repository or I/O.
int http_status(const CommandReply& reply);

} // namespace envflow::serve
