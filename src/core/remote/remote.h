#pragma once

#include <string>
#include <vector>

#include "core/model/audit.h"

namespace envflow::git {
class Repository;
}

// Talking to the server a clone was made from, with the user's own `git`
// (so credential helpers and SSH configuration apply): one fetch that
// refreshes this clone's view of the server, one atomic push per operation.
// See docs/concepts.md ("Team mode") and docs/ci.md.
namespace envflow::core::remote {

// Where a clone keeps the server's refs (see RemoteRefs in core/model/view.h): the
// fetch refspecs, forced like refs/remotes/*, never onto local work.
std::vector<std::string> view_refspecs(const std::string& remote);

// True when `remote` is a configured remote of `repo`.
bool has_remote(const git::Repository& repo, const std::string& remote);

struct FetchResult {
  bool unshallowed = false; // the clone was shallow; its history was fetched
};

// Fetch `remote`'s branches, refs/envflow/* and tags into this clone's view of
// it (one round trip; deleted refs are pruned from the view). A shallow clone
// is deepened to its whole history first: promotion rules compare histories.
// util::IoError naming the remote when git fails.
FetchResult fetch_view(const git::Repository& repo, const std::string& remote);

// Seconds since the last fetch of the view (FETCH_HEAD's age); -1 when never.
long long view_age(const git::Repository& repo);

// Options a push carries to the server's hooks (git push -o; the server
// advertises them: install-hooks --server sets receive.advertisePushOptions).
struct PushIntent {
  std::string reason;     // free text for the record ("envflow.reason=…")
  bool automatic = false; // sync --auto: the server applies the hold gate ("envflow.auto=1")
};

struct PushOutcome {
  std::string remote;
  std::vector<model::RefMove> pushed;
  std::vector<std::string> remote_said; // the server's `remote: …` lines (its hooks' notes)
};

// Push `moves` (old: the value the remote must still have, "" or zeros =
// must not exist; new: zeros/"" = delete) to `remote` in one atomic push,
// each with a lease on its old value. Refused (util::Refused, util::LostRace when
// a lease was lost) with the server's reasons; util::IoError when git fails
// without an answer. A push git did not confirm but the remote holds counts
// as done.
PushOutcome push_moves(const git::Repository& repo, const std::string& remote,
                       const std::vector<model::RefMove>& moves, const PushIntent& intent);

// --- The parts that need no repository (unit tested) ---

// The argv of the atomic push of `moves` to `remote` with `intent` as push options.
std::vector<std::string> push_command(const std::string& remote,
                                      const std::vector<model::RefMove>& moves,
                                      const PushIntent& intent = {});

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
// info": another operation on the same thing got there first), followed by
// the `remote` lines.
std::string describe_refusal(const std::string& remote, const std::vector<PushStatus>& statuses,
                             const std::vector<std::string>& remote_said);

// The push options the server's hooks received (GIT_PUSH_OPTION_COUNT,
// GIT_PUSH_OPTION_<n>), as an intent; unknown options are ignored.
PushIntent intent_from_push_options(const std::vector<std::string>& options);

} // namespace envflow::core::remote
