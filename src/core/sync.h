#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/audit.h"
#include "core/config.h"
#include "core/diff.h"
#include "core/hold.h"
#include "util/error.h"

namespace envflow::git {
class Repository;
}

namespace envflow::core {

struct SyncRequest {
  std::string env;   // source environment
  std::string rev;   // "" = the source's head; else a commit on the source branch
  std::string actor;
  // "" = read the source branch; else take this commit as the source's head
  // (sync --auto --dry-run: where an earlier step would have moved it).
  std::string assumed_source_head;
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
  // The hold on auto-promotion into the target, if any. A sync run by a
  // person goes ahead anyway (the caller says so); sync --auto stops.
  std::optional<Hold> hold;

  bool approved() const { return static_cast<int>(approvals.size()) >= approvals_required; }
};

// What plan_sync does when the approvals are short.
enum class ApprovalGate {
  enforce, // refuse (util::Refused), as `envflow sync` does
  report,  // return the plan; the caller checks plan.approved() (sync --auto)
};

// Run every gate of `envflow sync` and return the plan; moves nothing.
// Throws util::Refused with what to do on any failed gate, util::UsageError
// for an unknown environment or revision. `trail` is the audit trail
// (read_audit), read once by the caller; the overload without it reads it.
SyncPlan plan_sync(const git::Repository& repo, const PipelineConfig& config,
                   const SyncRequest& request, const std::vector<AuditRecord>& trail,
                   ApprovalGate gate = ApprovalGate::enforce);
SyncPlan plan_sync(const git::Repository& repo, const PipelineConfig& config,
                   const SyncRequest& request);

// The target moved between plan and apply: another sync won the race.
class TargetMoved : public util::Refused {
public:
  using util::Refused::Refused;
};

// Move the target compare-and-swap against `plan.from`, with its audit
// record in the same transaction. A lost race throws TargetMoved
// ("target moved since this sync began; run it again").
void apply_sync(git::Repository& repo, const SyncPlan& plan, const std::string& actor);

// Distinct actors who approved promoting `commit` into `env` and belong to
// its approvers groups (as the config says now), oldest first. The first
// form reads `trail` (read_audit, read once by the caller); the second
// reads the whole trail itself on every call.
std::vector<std::string> approvals_for(const std::vector<AuditRecord>& trail,
                                       const PipelineConfig& config, const Environment& env,
                                       const std::string& commit);
std::vector<std::string> approvals_for(const git::Repository& repo, const PipelineConfig& config,
                                       const Environment& env, const std::string& commit);

// --- envflow sync --auto ---

enum class DryRun { no, yes };

// One environment the auto walk passed: already in sync with its
// predecessor, or promoted (with --dry-run: would be promoted).
struct AutoStep {
  enum class Result { in_sync, promoted };
  Result result = Result::in_sync;
  SyncPlan plan; // in_sync: source, target, from, to only
};

// Where the auto walk stopped, and what it waits for.
struct AutoStop {
  enum class Reason {
    not_auto,  // the target is not marked `auto: true`: a person syncs
    approvals, // approvals are missing: approvers approve
    held,      // a hold on auto-promotion: someone releases it (or syncs by hand)
    backport,  // the last environment, while a hotfix is not back-ported: someone applies it
    refused,   // a gate refused (validation, fast-forward, membership, ...)
  };
  Reason reason = Reason::refused;
  std::string source;
  std::string env;                    // the target the walk stopped at
  std::string commit;                 // the source head waiting to go in
  int waiting_commits = 0;            // commits of the source the target lacks
  std::string message;                // one line (refused: the gate's whole message)
  std::vector<std::string> groups;    // whose action is awaited (empty for refused)
  std::string command;                // what they run ("" for refused)
  int approvals_required = 0;         // approvals: required / counted so far
  std::vector<std::string> approvals;
  std::optional<Hold> hold;           // held: the hold

  // "not-auto", "approvals", "held", "backport", "refused".
  std::string reason_name() const;
  // True when the walk waits for a person (exit 0), false when refused (exit 1).
  bool waiting() const { return reason != Reason::refused; }
};

struct AutoResult {
  std::vector<AutoStep> steps; // environments passed, in pipeline order
  std::optional<AutoStop> stop; // nullopt: the walk reached the last environment
  bool dry_run = false;
};

// `envflow sync --auto`: walk the pipeline in order; for each environment
// after the first whose predecessor has commits it lacks, stop unless it is
// `auto: true` and not held, run every gate of plan_sync as `actor`,
// promote (unless `dry_run`) and go on with the next one; stop at missing
// approvals or any refusal. An environment already in sync is passed over,
// auto or not. Each promotion is its own compare-and-swap sync with its own
// audit record; a promotion that loses a race to a concurrent sync is
// planned again (usually finding it done). `config` must outlive the result.
// Throws util::UsageError / util::IoError as plan_sync does; refusals end up
// in `stop`.
AutoResult auto_sync(git::Repository& repo, const PipelineConfig& config, const std::string& actor,
                     DryRun dry_run);

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
