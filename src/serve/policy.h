#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "core/policy/config.h"

// Which buttons a person sees. The rulebook's membership rules decide
// (core::pipeline::may); the core functions still
// decide every press (a button shown is no permission: a gate may refuse,
// and the policy may have changed since the page was drawn).
namespace envflow::serve {

enum class Right {
  promote,  // sync into an environment: its `promote` groups
  approve,  // approve a promotion into an environment: its `approvers`
  hold,     // set or release a hold on an environment: publishers or its promoters
  local,    // change an environment's variable overrides: its `local` groups
  publish,  // publish: publishers
  rollback, // roll back live: publishers
  backport, // apply a back-port into the first environment: its `write` groups
};

// True when `actor` holds `right` on environment `env` (ignored for publish
// and rollback; the first environment for backport). False for an unknown
// environment and for an empty actor.
bool may(const core::policy::PipelineConfig& config, const std::string& actor, Right right,
         const std::string& env = "");

// What `actor` may do, per environment, as JSON (GET /api/me):
// {"publish": bool, "rollback": bool, "backport": bool,
//  "environments": {"test": {"promote": bool, "approve": bool, "hold": bool, "local": bool}}}.
nlohmann::json rights_json(const core::policy::PipelineConfig& config, const std::string& actor);

} // namespace envflow::serve
