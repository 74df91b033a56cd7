#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/pipeline/rules.h"
#include "core/pipeline/session.h"
#include "core/policy/config.h"
#include "core/records/hold.h"
#include "core/workspace/diff.h"

// Promotion: `envflow sync`, `sync --auto` and `envflow approve`. Every gate
// is the rulebook's (core/pipeline/rules.h); this module works out the moves and
// what to show.
namespace envflow::core::pipeline {

struct SyncRequest {
  std::string env; // source environment
  std::string rev; // "" = the source's head; else a commit on the source branch
};

struct PromotedCommit {
  std::string id;
  std::string summary;
  std::string author;
};

// Everything a sync decided before moving anything.
struct SyncPlan {
  const policy::Environment* source = nullptr;
  const policy::Environment* target = nullptr;
  std::string from;                    // target head read at the start
  std::string to;                      // commit the target moves to
  bool noop = false;                   // already in sync
  std::vector<PromotedCommit> commits; // newest first
  workspace::SemanticDiff diff;
  std::vector<std::string> approvals;  // counted approvers (not the promoter)
  int approvals_required = 0;
  std::optional<records::Hold> hold;          // a hold on auto-promotion into the target
  std::vector<std::string> dropped_overrides; // overrides of removed variables, dropped with it
  Operation operation;                 // the moves (target branch, and its local data if any)
  Judgement judgement;                 // what the rulebook says about them

  bool approved() const { return static_cast<int>(approvals.size()) >= approvals_required; }
};

// Work out the promotion `request` asks for, as `session`'s actor, reading
// refs through `pipeline` (the session's, or one where earlier steps of a
// dry run have moved), and ask the rulebook about it. Moves nothing.
// util::UsageError for an unknown environment or revision or the last
// environment; util::Refused for a revision not on the source, or a target
// branch checked out here that the move would leave behind.
SyncPlan plan_sync(Session& session, const model::Pipeline& pipeline, const SyncRequest& request,
                   Automatic automatic = Automatic::no);

// Apply a plan whose judgement is ok (throws what the rulebook said
// otherwise). A lost race throws util::LostRace ("moved since this sync began").
Applied apply_sync(Session& session, const SyncPlan& plan);

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
    checks,    // a verification check failed (sync --auto ran it): the content needs fixing
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
  std::optional<records::Hold> hold; // held: the hold

  // "not-auto", "approvals", "held", "backport", "checks", "refused".
  std::string reason_name() const;
  // True when the walk waits for a person (exit 0), false when refused or a
  // check failed (exit 1).
  bool waiting() const { return reason != Reason::refused && reason != Reason::checks; }
};

// Its plans point into the session's policy: use it while the session lives.
struct AutoResult {
  std::vector<AutoStep> steps;  // environments passed, in pipeline order
  std::optional<AutoStop> stop; // nullopt: the walk reached the last environment
  bool dry_run = false;
};

// `envflow sync --auto`: walk the pipeline in order; for each environment
// after the first whose predecessor has commits it lacks, stop unless it is
// `auto: true`, run the target's checks on the candidate (unless `dry_run`;
// results already passing are kept), plan the promotion as an automatic one
// (the hold gate applies), promote (unless `dry_run`) and go on; stop where the rulebook
// waits for a person (approvals, a hold, an open back-port) or refuses. Each
// promotion is its own operation with its own record; one that loses a race
// is planned again after reading the state anew.
AutoResult auto_sync(Session& session, DryRun dry_run);

struct ApproveResult {
  std::string env;
  std::string commit;
  bool hotfix = false;  // an approval of a hotfix commit (policy hotfix.approvals)
  bool already = false; // this person had approved it before: nothing written
  std::vector<std::string> approvals; // after this one
  int required = 0;
};

// Record the actor's approval to promote `rev` (default: the previous
// environment's head) into `env`: a ref of its own, judged by the rulebook
// (an approver of `env`, a commit of the previous environment; on the last
// environment, with hotfix.approvals, also a hotfix commit).
ApproveResult approve(Session& session, const std::string& env, const std::string& rev);

} // namespace envflow::core::pipeline
