#pragma once

#include <string>
#include <vector>

#include "core/audit.h"
#include "core/view.h"

// The rulebook: every rule about moving the pipeline's refs, decided in one
// place. `envflow sync`, `sync --auto`, publish, rollback, hotfix, back-port
// apply, approve, hold, var, config and the server's pre-receive hook all
// ask `judge` about the moves they make, so a move is
// refused for the same reason, with the same words, whichever route it takes
// (docs/architecture.md, "The rulebook"; docs/security.md lists each rule).
namespace envflow::core {

// Who acts, as the rulebook sees them.
struct Actor {
  std::string name;           // as given: a server login, an email, --actor; "" when unknown
  std::string source;         // where it came from: "REMOTE_USER", "--actor", ...
  bool authenticated = false; // set by the forge or web server, not claimed by the client

  // "dana (REMOTE_USER)", or "an unknown pusher".
  std::string describe() const;
};

// sync --auto (and a push that says it is one): a hold stops it.
enum class Automatic { no, yes };

// Which rule refused a move (sync --auto waits at some of them instead of failing).
enum class Gate {
  identity,     // the policy does not let this person do it
  fast_forward, // history would be rewritten, deleted, or the move is not a promotion
  approvals,    // approvals missing
  hold,         // auto-promotion on hold
  backport,     // a hotfix is not back-ported yet
  hotfix_undo,  // the promotion would undo a hotfix field
  content,      // content does not validate
  overrides,    // variable overrides would not fit
  checks,       // a verification check has no passing result for the commit and bundle
  release,      // release tag / live rules
  record,       // envflow's own records (audit, back-port issues, holds, approvals, check results)
};

struct Refusal {
  std::string ref;    // "" when it concerns the whole change
  std::string reason; // may span lines (validation diagnostics)
  Gate gate = Gate::fast_forward;
};

struct Judgement {
  std::vector<Refusal> refusals;
  std::vector<std::string> notes; // what was accepted and why
  bool ok() const { return refusals.empty(); }
  // The reasons, one paragraph each, for an error message.
  std::string reasons() const;
  // Throw util::Forbidden (any identity refusal) or util::Refused with the reasons; no-op when ok.
  void enforce() const;
};

// Judge `moves` (ids of 40 hex digits, zeros for "none") applied to the
// refs `before` reads, made by `actor`. Reads objects and refs only.
// Without a policy (a repository being seeded) only a pushed policy is checked.
Judgement judge(const Pipeline& before, const std::vector<RefMove>& moves, const Actor& actor,
                Automatic automatic = Automatic::no);

// The audit record of `moves` applied to `before` by `actor`: the operation
// they make (sync, approve, var-set, publish, rollback, hotfix, hold, ...),
// its environment, commit, counted approvals and a note, so that a record
// reads the same whichever route the moves took. `reason` (free text the
// person gave) is added to the note. Time and tool are filled in.
AuditRecord describe(const Pipeline& before, const std::vector<RefMove>& moves, const Actor& actor,
                     const std::string& reason = "");

} // namespace envflow::core
