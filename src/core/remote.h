#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/audit.h"

namespace envflow::git {
class Repository;
}

// `--push [--remote NAME]` (issue 7): run a command that moves refs in a
// clone as if on the remote's repository. begin_push fetches the remote and
// brings the local refs envflow manages to the remote's values; the command
// then runs on local refs as always (audit records included); finish_push
// pushes every ref it moved in one atomic push, each with a lease on the
// value it had before, and undoes the local moves when the remote refuses.
// The user's own `git` does the fetch and push, so credential helpers and SSH
// configuration apply. See docs/ci.md ("Promoting from a CI job").
namespace envflow::core {

// Ref name -> id (a tag ref holds the tag object's id, refs/envflow/live a
// tag object's id too).
using RefValues = std::map<std::string, std::string>;

// What begin_push found and did; finish_push and abandon_push need it.
struct PushSession {
  std::string remote;
  // Every local ref under refs/heads/, refs/envflow/ and refs/tags/ once
  // aligned: what the command's moves are measured against, and the leases.
  RefValues before;
  // Local refs begin_push brought to the remote's values (old: local, new: remote's).
  std::vector<RefMove> aligned;
  // Names of the refs begin_push aligns (environment branches, refs/envflow/*,
  // release tags, as they were on either side): after a refused push these go
  // back to the remote's values, any other ref to where the run found it.
  std::set<std::string> managed;
  // The branch checked out when the run began ("" when bare, detached or unborn).
  std::string head_branch;
};

// Fetch `remote`'s branches, refs/envflow/* and tags into a private mirror
// (refs/envflow-remote/<remote>/…; the local refs/envflow/* are never
// fetched into, forced or not), then bring the refs envflow manages — the
// environment branches of the remote's config, every refs/envflow/* ref,
// release tags — to the remote's values: created when missing here,
// fast-forwarded when behind (the checked-out branch with its working tree
// and index, safely), refs/envflow/live re-pointed. Nothing local is lost:
// when a managed ref here holds commits the remote lacks (ahead or
// diverged), exists only here, or is a release tag the remote holds
// differently, throws util::Refused naming every such ref and how to mend
// it, having changed no local ref. Throws util::IoError when `remote` is not
// a configured remote or the fetch fails.
PushSession begin_push(git::Repository& repo, const std::string& remote);

struct PushOutcome {
  std::string remote;
  std::vector<RefMove> pushed;           // empty when nothing moved: nothing was pushed
  std::vector<std::string> remote_said;  // the server's `remote: …` lines (its hooks' notes)
};

// Push every local ref that moved since `session.before` in one atomic push
// (`git push --atomic --porcelain REMOTE --force-with-lease=REF:OLD … NEW:REF …`;
// a lease with no OLD for a created ref: it must not exist there).
// When the remote refuses (a lease lost to another push, the server's hook
// declined): fetch again, reset the refs this run moved to the remote's
// values (deleted when it lacks them; the checked-out branch's working tree
// follows) and throw util::Refused with git's reasons and the `remote:`
// lines. Throws util::IoError (after the same reset) when git push fails
// without an answer from the remote.
PushOutcome finish_push(git::Repository& repo, const PushSession& session);

// The command failed: reset the refs it moved (if any) to their values in
// `session.before`, without asking the remote. Returns the refs reset.
std::vector<std::string> abandon_push(git::Repository& repo, const PushSession& session);

// --- The parts that need no repository (unit tested) ---

// Where the mirror keeps `remote`'s ref `ref`: refs/heads/X ->
// refs/envflow-remote/REMOTE/heads/X, refs/envflow/X -> …/envflow/X,
// refs/tags/X -> …/tags/X; "" for other refs.
std::string mirror_ref(const std::string& remote, const std::string& ref);

// The refspecs begin_push fetches with (forced: the mirror is a copy of the
// remote, never local work).
std::vector<std::string> mirror_refspecs(const std::string& remote);

// Refs whose value differs between `before` and `after` (created: old "";
// deleted: new ""), sorted by name.
std::vector<RefMove> moved_refs(const RefValues& before, const RefValues& after);

// The argv of the atomic push of `moves` to `remote` (old/new "" = none).
std::vector<std::string> push_command(const std::string& remote,
                                      const std::vector<RefMove>& moves);

// One ref's line of `git push --porcelain`: "<flag>\t<from>:<to>\t<summary> (<reason>)".
struct PushStatus {
  char flag = ' '; // ' ' fast-forward, '+' forced, '-' deleted, '*' new, '=' up to date, '!' rejected
  std::string from;
  std::string to;
  std::string summary; // "a1b2c3d..e4f5a6b", "[new tag]", "[rejected]", "[remote rejected]"
  std::string reason;  // "stale info", "pre-receive hook declined", … ("" when none)
  bool rejected() const { return flag == '!'; }
};

// The ref lines of `git push --porcelain` output (other lines are skipped).
std::vector<PushStatus> parse_push_porcelain(const std::string& out);

// The `remote: …` lines git printed on stderr (what the server's hooks
// said), right-trimmed, blank ones dropped.
std::vector<std::string> remote_lines(const std::string& err);

// Why the remote refused, one line per rejected ref, in words ("stale
// info": another push got there first), followed by `remote` lines.
std::string describe_refusal(const std::string& remote, const std::vector<PushStatus>& statuses,
                             const std::vector<std::string>& remote_said);

// How a local ref relates to the remote's ref of the same name.
enum class Relation {
  behind,   // the remote's value contains the local one (or replaces a pointer): take it
  ahead,    // the local value holds commits the remote lacks, and nothing else differs
  diverged, // both have what the other lacks (or a release tag differs)
};

// A managed ref begin_push must not touch.
struct AlignConflict {
  enum class Kind { local_only, ahead, diverged };
  Kind kind = Kind::diverged;
  std::string ref;
};

struct AlignPlan {
  std::vector<RefMove> moves;             // local old ("" = missing) -> remote's new
  std::vector<AlignConflict> conflicts;   // when not empty, nothing may move
};

// Decide how to bring `local` managed refs to `remote`'s values: missing
// here -> created; equal -> nothing; otherwise `relate(ref, local_id,
// remote_id)` says. A ref only here is a conflict.
AlignPlan plan_alignment(
    const RefValues& local, const RefValues& remote,
    const std::function<Relation(const std::string& ref, const std::string& local_id,
                                 const std::string& remote_id)>& relate);

} // namespace envflow::core
