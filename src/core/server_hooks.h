#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/audit.h"
#include "core/config.h"

namespace envflow::git {
class Repository;
}

// The server side of the pipeline: what `envflow hook pre-receive` and
// `envflow hook post-receive` decide and record in a bare repository that
// people push to (see docs/server-hooks.md).
namespace envflow::core {

// Who is pushing, as the server sees it.
struct Pusher {
  std::string name;            // "" when unknown
  std::string source;          // the variable it came from, e.g. "REMOTE_USER"
  bool authenticated = false;  // true when it came from one of the policy's identity.env
                               // variables (set by the forge or web server, not the client)

  // "alice (REMOTE_USER)", or "an unknown pusher".
  std::string describe() const;
};

// Reads one environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment.
std::optional<std::string> process_env(const std::string& name);

// Who pushes: the first non-empty of `config`'s identity.env variables (the
// forge or web server sets them: GL_USERNAME, GITEA_PUSHER_NAME, GL_USER,
// REMOTE_USER by default) is authenticated. Otherwise ENVFLOW_ACTOR, which the
// client controls, so it is a claim only: accepted when identity.required is
// false, ignored when it is true. Otherwise the pusher is unknown. With no
// config the default identity.env list is used.
Pusher identify_pusher(const PipelineConfig* config, const EnvLookup& env = process_env);

// One reason a push is refused. `ref` is "" when the reason concerns the whole push.
struct Refusal {
  std::string ref;
  std::string reason; // may span several lines (validation diagnostics)
};

// What pre-receive decided. The push is all or nothing: one refusal rejects every ref.
struct PushDecision {
  std::vector<Refusal> refusals;
  std::vector<std::string> notes; // what was accepted and why, for the pusher's terminal
  bool ok() const { return refusals.empty(); }
};

// Parse pre-receive / post-receive input: `old new ref` lines. Throws
// util::UsageError naming the line when one is malformed.
std::vector<RefMove> parse_ref_updates(const std::string& text);

// Decide a whole push (pre-receive): `updates` are the ref moves git asks
// about, `repo` must see the pushed objects (git::Repository::Open::from_env
// inside the hook, where git keeps them in quarantine). The policy is
// refs/envflow/config as it is before this push. Reads only: never writes
// into the repository.
//
// Rules (docs/server-hooks.md has them for users):
//  - first environment: fast-forward, pusher in its `write` groups, every
//    commit entering it validates (files the commit changes fully, references
//    across the whole tree);
//  - other environments: fast-forward to a commit contained in the previous
//    environment as it is after this push, pusher in its `promote` groups,
//    approvals satisfied, the environment's overrides still fit; on the last
//    environment, alternatively, hotfix commits (not contained in the previous
//    environment) pushed by a hotfixer, each validating;
//  - environment branches, release tags, refs/envflow/audit,
//    refs/envflow/backports, refs/envflow/config, refs/envflow/local/* and
//    refs/envflow/live are never deleted; the refs among them that hold a
//    history are never force-moved;
//  - release tags (`vMAJOR.MINOR.PATCH`): by a publisher or hotfixer,
//    annotated, signed by an allowed signer when release.sign is true, with a
//    manifest matching the tree, pointing at a commit of the last environment,
//    never moved;
//  - refs/envflow/live: by a publisher or hotfixer, to a release tag;
//  - refs/envflow/local/<env>: that environment's `local` groups, content
//    validates, overrides parse and fit the variables the environment declares;
//  - refs/envflow/config: admins, the new envflow.yaml parses and validates;
//  - refs/envflow/audit: fast-forward; every record pushed is by the pusher and
//    describes a move this push makes (or one already made that no record
//    on the trail holds); no move gets two records;
//  - refs/envflow/backports: fast-forward; from anyone but an admin only a
//    hotfixer's new open issue for commits on the last environment, or an
//    open issue closed once its hotfix commits are all in the first
//    environment (after this push);
//  - other refs/envflow/* refs: admins; any other ref: not envflow's business;
//  - identity.required and no authenticated pusher: the whole push is refused.
// Without a policy (no refs/envflow/config yet) everything is accepted, so a
// repository can be seeded; the config pushed then is still validated.
PushDecision decide_push(const git::Repository& repo, const std::vector<RefMove>& updates,
                         const Pusher& pusher);

// What post-receive wrote.
struct PushRecord {
  std::vector<AuditRecord> appended;  // records this hook added, oldest first
  std::vector<RefMove> already;       // moves the pushed audit chain already recorded
  std::vector<std::string> notes;     // e.g. follow-ups the pusher should know about
};

// Append one audit record (op "push") for each accepted move of an
// environment branch, release tag, refs/envflow/live, a local ref, the
// config ref or refs/envflow/backports, with `pusher` as actor
// (post-receive; the refs have moved).
// A move is skipped when the newest audit record that mentions its ref
// records exactly this move (a client pushed its own record with it:
// `git push --atomic origin test refs/envflow/audit`), so every move has
// exactly one record. The records are appended compare-and-swap, retrying
// when another push appended meanwhile.
PushRecord record_push(git::Repository& repo, const std::vector<RefMove>& updates,
                       const Pusher& pusher);

} // namespace envflow::core
