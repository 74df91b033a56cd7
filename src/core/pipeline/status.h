#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/model/view.h"
#include "core/policy/config.h"
#include "core/records/hold.h"

namespace envflow::git {
class Repository;
}

namespace envflow::core::pipeline {

struct EnvironmentStatus {
  std::string name;
  std::string branch;
  std::string head;           // "" when the branch is missing
  std::string head_summary;
  bool auto_promote = false;  // `auto: true`: sync --auto promotes into it
  std::optional<records::Hold> hold; // hold on auto-promotion into it
  // Toward the next environment ("" / 0 for the last one):
  std::string next;
  int waiting_commits = 0;    // commits here that the next environment lacks
  int waiting_added = 0;      // semantic changes waiting
  int waiting_removed = 0;
  int waiting_changed = 0;
  bool waiting_breaking = false;
  int approvals_required = 0; // to promote this head into the next environment
  int approvals = 0;
  // The next environment's checks for this head: "passed", "failed",
  // "stale" or "missing" each (empty when it has none, or nothing waits).
  std::vector<std::pair<std::string, std::string>> checks;
  std::vector<std::string> problems; // broken invariants, e.g. "diverged from test"
  std::vector<std::string> notes;    // e.g. "hotfix ahead of staging (back-port open)"
};

struct PipelineStatus {
  std::vector<EnvironmentStatus> environments;
  std::optional<std::string> live;          // release tag refs/envflow/live points at
  std::optional<std::string> live_commit;
  int open_backports = 0;

  nlohmann::json to_json() const;
};

// The pipeline at a glance. Reads refs, commit graphs, the audit trail
// (once) and only the blobs that differ between consecutive environments.
// Heads, holds and approvals are read through the pipeline's view (in a
// clone: the server's refs as fetched).
PipelineStatus pipeline_status(const model::Pipeline& pipeline);

} // namespace envflow::core::pipeline
