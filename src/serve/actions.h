#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"

namespace envflow::git {
class Repository;
}

// The actions of `envflow serve`'s page and JSON API, in one table: each
// row names the route, who may press it (for the buttons and for telling a
// policy refusal from a gate), and the function that runs it, which calls
// the very core function the CLI command calls and returns the CLI's JSON
// document. Re-point a row here when the core changes.
namespace envflow::serve {

// One request to act, as the HTTP layer parsed it.
struct ActionRequest {
  std::string actor;              // who is acting (never "" here)
  std::vector<std::string> args;  // the route's captures, decoded: ENV, TAG, NAME, ID
  nlohmann::json body = nlohmann::json::object(); // the POST body
};

struct Action {
  const char* name;  // "sync", "approve", ...
  const char* route; // the POST path as a regular expression, e.g. "/api/sync/([^/]+)"
  const char* usage; // how to call it, for docs and 404s
  // True when the policy lets `request.actor` do this (see policy.h); a
  // refusal then comes from a gate (409), else from the policy (403).
  bool (*permitted)(const core::PipelineConfig& config, const ActionRequest& request);
  // Run it; returns the document `envflow <command> --format json` prints.
  nlohmann::json (*run)(git::Repository& repo, const core::PipelineConfig& config,
                        const ActionRequest& request);
};

// Every action, in the order the docs list them.
const std::vector<Action>& actions();

struct ActionReply {
  int status = 200;  // 200, 400 usage, 403 policy, 409 gate or lost race, 500 repository
  nlohmann::json body;
};

// Run `action` for `request` on the repository at `repo_path`: opens it,
// reads the config, runs, and turns every failure into the JSON error
// object (cli::error_json) with its HTTP status. With `push_remote` not
// empty, runs as `--push` does: align with that remote first, push every ref
// the action moved in one atomic push, undo the local moves on failure; the
// document gets the `pushed` member. Callers serialise calls (the core's
// compare-and-swap guards against other processes, not against this one's
// threads sharing the validation cache).
ActionReply perform(const Action& action, const std::string& repo_path,
                    const ActionRequest& request, const std::string& push_remote = "");

// The HTTP status for a failure with exit code `exit` of an action the
// actor was (`permitted`) or was not allowed to take; `lost_race` for a
// compare-and-swap another writer won.
int status_for(int exit, bool permitted, bool lost_race);

} // namespace envflow::serve
