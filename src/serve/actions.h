#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "serve/documents.h"

// The actions of `envflow serve`'s page and JSON API, in one table: each
// row names the route and the envflow command a press runs. The command
// decides everything (the rulebook judges it as it judges the same command
// typed in a terminal); the reply is the command's own JSON document, or its
// error object with an HTTP status (documents.h).
namespace envflow::serve {

// One request to act, as the HTTP layer parsed it.
struct ActionRequest {
  std::vector<std::string> args;  // the route's captures, decoded: ENV, TAG, NAME, ID
  nlohmann::json body = nlohmann::json::object(); // the POST body
};

struct Action {
  const char* name;  // "sync", "approve", ...
  const char* route; // the POST path as a regular expression, e.g. "/api/sync/([^/]+)"
  const char* usage; // how to call it, for docs and 400s
  // The command line (after `envflow`) a press runs; util::UsageError for a malformed body.
  std::vector<std::string> (*command)(const ActionRequest& request);
};

// Every action, in the order the docs list them.
const std::vector<Action>& actions();

struct ActionReply {
  int status = 200;  // 200, 400 usage, 403 policy, 409 gate or lost race, 500 repository
  nlohmann::json body;
};

// Run `action` for `request` with `runner` (who acts, where, --push).
ActionReply perform(const Action& action, const CommandRunner& runner,
                    const ActionRequest& request);

} // namespace envflow::serve
