#pragma once

#include <string>
#include <vector>

#include "core/model/audit.h"
#include "core/model/view.h"
#include "util/error.h"

// The rulebook: every rule about moving the pipeline's refs, decided in one
// place. `envflow sync`, `sync --auto`, publish, rollback, hotfix, back-port
// apply, approve, hold, var, config and the server's pre-receive hook all
// ask `judge` about the moves they make, so a move is
// refused for the same reason, with the same words, whichever route it takes
// (docs/architecture.md, "The rulebook"; docs/security.md lists each rule).
namespace envflow::core::pipeline {

// Who acts, as the rulebook sees them.
struct Actor {
  std::string name;           // as given: a server login, an email, --actor; "" when unknown
  std::string source;         // where it came from: "REMOTE_USER", "--actor", ...
  bool authenticated = false; // set by the forge or web server, not claimed by the client

  // "dana (REMOTE_USER)", or "an unknown pusher".
  std::string describe() const;
};

// What a person may do under a policy: the rulebook's membership rules, one
// per right, in one place. judge() asks them about every move; commands ask
// them before work that would be wasted (a merge, a signature), and the web
// page which buttons to show.
enum class Right {
  write,          // push to an environment's branch (the first): its `write` groups
  promote,        // promote into an environment: its `promote` groups
  approve,        // approve a promotion into an environment: its `approvers`
  approve_hotfix, // approve a hotfix on the last environment: `hotfix.approvers`
  hold,           // set or release a hold on an environment: publishers, or its promoters
  local,          // change an environment's local data: its `local` groups
  check,          // record or remove an environment's check results: its promoters, or admins
  publish,        // publish a release, move live, roll back: publishers
  hotfix,         // finish a hotfix on the last environment and release it: hotfixers
  admin,          // change the policy, mend back-port issues and envflow's other refs: admins
};

// True when `person` (a name the policy's people: may map) holds `right`,
// on environment `env` for the rights that name one (write, local; and
// promote, approve, hold and check, never on the first environment, where
// nothing is promoted). False for an empty person and an unknown environment.
bool may(const policy::PipelineConfig& config, const std::string& person, Right right,
         const std::string& env = "");

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

// The gate's name for scripts: "identity", "fast-forward", "approvals", ...
// (docs/json.md, the `gate` of an error).
const char* gate_name(Gate gate);

struct Refusal {
  std::string ref;    // "" when it concerns the whole change
  std::string reason; // may span lines (validation diagnostics)
  Gate gate = Gate::fast_forward;
  std::string hint = {}; // the command that mends it, when there is one (the reason says it too)
};

// A move a gate refused (Judgement::enforce): code "gate", the gate of the
// first refusal and the first hint given.
class GateRefused : public util::Refused {
public:
  GateRefused(const std::string& message, std::string gate, std::string hint)
      : util::Refused(message, "gate", std::move(hint)), m_gate(std::move(gate)) {}
  const std::string& gate() const { return m_gate; }

private:
  std::string m_gate;
};

struct Judgement {
  std::vector<Refusal> refusals;
  std::vector<std::string> notes; // what was accepted and why
  bool ok() const { return refusals.empty(); }
  // The reasons, one paragraph each, for an error message.
  std::string reasons() const;
  // Throw util::Forbidden (any identity refusal) or GateRefused with the reasons; no-op when ok.
  void enforce() const;
};

// Judge `moves` (ids of 40 hex digits, zeros for "none") applied to the
// refs `before` reads, made by `actor`. Reads objects and refs only.
// Without a policy (a repository being seeded) only a pushed policy is checked.
Judgement judge(const model::Pipeline& before, const std::vector<model::RefMove>& moves,
                const Actor& actor, Automatic automatic = Automatic::no);

// Who may: `judge` without the gates that read content, overrides,
// checks, approvals, holds, back-ports or signatures; the identity rules
// and the rules about envflow's own records only. envflow doctor replays
// the audit trail with it, so a record's authority is decided by the same
// rules that decide a push.
Judgement judge_authority(const model::Pipeline& before, const std::vector<model::RefMove>& moves,
                          const Actor& actor);

// The audit record of `moves` applied to `before` by `actor`: the operation
// they make (sync, approve, var-set, publish, rollback, hotfix, hold, ...),
// its environment, commit, counted approvals and a note, so that a record
// reads the same whichever route the moves took. `reason` (free text the
// person gave) is added to the note. Time and tool are filled in.
model::AuditRecord describe(const model::Pipeline& before, const std::vector<model::RefMove>& moves,
                            const Actor& actor, const std::string& reason = "");

} // namespace envflow::core::pipeline
