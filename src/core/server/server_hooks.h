#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/model/audit.h"
#include "core/pipeline/rules.h"
#include "core/policy/config.h"
#include "core/remote/remote.h"

namespace envflow::git {
class Repository;
}

// The server side of the pipeline: what `envflow hook pre-receive` and
// `envflow hook post-receive` decide and record in a bare repository that
// people push to (see docs/server-hooks.md).
namespace envflow::core::server {

// Reads one environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment.
std::optional<std::string> process_env(const std::string& name);

// Who pushes: the first non-empty of `config`'s identity.env variables (the
// forge or web server sets them: GL_USERNAME, GITEA_PUSHER_NAME, GL_USER,
// REMOTE_USER by default) is authenticated. Otherwise ENVFLOW_ACTOR, which the
// client controls, so it is a claim only: accepted when identity.required is
// false, ignored when it is true. Otherwise the pusher is unknown. With no
// config the default identity.env list is used. The name is the person it
// belongs to under the policy's `people:`.
pipeline::Actor identify_pusher(const policy::PipelineConfig* config,
                                const EnvLookup& env = process_env);

// Parse pre-receive / post-receive input: `old new ref` lines. Throws
// util::UsageError naming the line when one is malformed.
std::vector<model::RefMove> parse_ref_updates(const std::string& text);

// Decide a whole push (pre-receive): `updates` are the ref moves git asks
// about, `repo` must see the pushed objects (git::Repository::Open::from_env
// inside the hook, where git keeps them in quarantine). The policy is
// refs/envflow/config as it is before this push. Reads only.
//
// The rules are the rulebook's (core/pipeline/rules.h, `judge`), the same every
// envflow command asks before it writes; the server adds two of its own:
//  - identity.required and no authenticated pusher: the whole push is refused;
//  - without a policy (no refs/envflow/config yet) everything is accepted, so a
//    repository can be seeded; the config pushed then is still validated.
// `intent` carries the push options (sync --auto says it is one: holds apply).
// Validation uses `cache` (model::Pipeline::cache; nullptr: none).
pipeline::Judgement decide_push(const git::Repository& repo, content::ResultCache* cache,
                                const std::vector<model::RefMove>& updates,
                                const pipeline::Actor& pusher,
                                const remote::PushIntent& intent = {});

// What post-receive wrote.
struct PushRecord {
  std::vector<model::AuditRecord>
      appended;                      // the push's record (none when it moved nothing audited)
  std::vector<std::string> notes;    // follow-ups the pusher should know about
};

// Append the push's one audit record to refs/envflow/audit (post-receive; the
// refs have moved): `describe` of its moves of the pipeline's refs, by
// `pusher`, with the reason the push options gave. The server alone writes
// the trail, so every accepted change has exactly one record. Then the
// follow-ups, each with its own record: a back-port issue for a hotfix
// pushed onto the last environment without one, and the closing of open
// issues whose hotfix commits the first environment now contains.
// `written`, when given, gets every record appended (the push's and the
// follow-ups'), ids set, as each is written: the caller knows them even when
// a later one fails, and announces exactly those (not what concurrent pushes
// appended meanwhile). Facts remembered by object id (releases, back-port
// issues, semantic diffs) are kept beside `cache` when there is one.
PushRecord record_push(git::Repository& repo, content::ResultCache* cache,
                       const std::vector<model::RefMove>& updates, const pipeline::Actor& pusher,
                       const remote::PushIntent& intent = {},
                       std::vector<model::AuditRecord>* written = nullptr);

// The hooks as git runs them, in the repository containing `folder` opened
// from git's environment (during pre-receive the pushed objects are in
// quarantine, which only GIT_OBJECT_DIRECTORY and its alternates show), with
// the pusher identify_pusher finds under the policy in force (the default
// identity rules when there is none or it does not load), validating with
// `cache` (nullptr: none).

// pre-receive: decide_push as that pusher.
struct PreReceive {
  pipeline::Actor pusher;
  pipeline::Judgement judgement;
};
PreReceive run_pre_receive(const std::string& folder, content::ResultCache* cache,
                           const std::vector<model::RefMove>& updates,
                           const remote::PushIntent& intent);

// post-receive: record_push as that pusher, then send the events of the
// records it wrote (the server is the one writer of the trail, so it is the
// one sender of events), also when a util::Error stopped it part-way; that
// error is thrown after.
struct PostReceive {
  pipeline::Actor pusher;
  PushRecord record;
};
PostReceive run_post_receive(const std::string& folder, content::ResultCache* cache,
                             const std::vector<model::RefMove>& updates,
                             const remote::PushIntent& intent);

} // namespace envflow::core::server
