#pragma once

#include <string>
#include <vector>

#include "core/config.h"
#include "core/diff.h"

namespace envflow::git {
class Repository;
}

namespace envflow::core {

struct SyncRequest {
  std::string env;   // source environment
  std::string rev;   // "" = the source's head; else a commit on the source branch
  std::string actor;
};

struct PromotedCommit {
  std::string id;
  std::string summary;
  std::string author;
};

// Everything a sync decided before moving anything.
struct SyncPlan {
  const Environment* source = nullptr;
  const Environment* target = nullptr;
  std::string from;                    // target head read at the start
  std::string to;                      // commit the target moves to
  bool noop = false;                   // already in sync
  std::vector<PromotedCommit> commits; // newest first
  SemanticDiff diff;
  std::vector<std::string> approvals;  // counted approvers
  int approvals_required = 0;
};

// Run every gate of `envflow sync` and return the plan; moves nothing.
// Throws util::Refused with what to do on any failed gate, util::UsageError
// for an unknown environment or revision.
SyncPlan plan_sync(const git::Repository& repo, const PipelineConfig& config,
                   const SyncRequest& request);

// Move the target compare-and-swap against `plan.from`, with its audit
// record in the same transaction. A lost race throws util::Refused
// ("target moved since this sync began; run it again").
void apply_sync(git::Repository& repo, const SyncPlan& plan, const std::string& actor);

// Distinct actors who approved promoting `commit` into `env` and belong to
// its approvers groups (as the config says now), oldest first.
std::vector<std::string> approvals_for(const git::Repository& repo, const PipelineConfig& config,
                                       const Environment& env, const std::string& commit);

struct ApproveResult {
  std::string env;
  std::string commit;
  bool already = false; // this actor had approved it before: nothing written
  std::vector<std::string> approvals; // after this one
  int required = 0;
};

// Record `actor`'s approval to promote `rev` (default: the previous
// environment's head) into `env`, as an audit record. Refused for the first
// environment and for actors outside the approvers groups.
ApproveResult approve(git::Repository& repo, const PipelineConfig& config, const std::string& env,
                      const std::string& rev, const std::string& actor);

} // namespace envflow::core
