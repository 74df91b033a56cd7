#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/model/audit.h"
#include "core/model/view.h"
#include "core/pipeline/rules.h"
#include "core/policy/config.h"
#include "git/repo.h"

// A session: where this process reads the pipeline from, who acts, and
// where the operations it makes go (docs/architecture.md, "Sessions").
//
// - In the repository that holds the truth (a server's bare repository, or
//   a repository used alone) refs are read and written in place, each
//   operation with its audit record in one compare-and-swap transaction.
// - In a clone of a server (git config envflow.remote, or a clone without a
//   pipeline of its own and a remote `origin`) the server's refs are fetched
//   first, in one round trip, into remote-tracking names and read from there;
//   an operation either goes to the server at once (--push: one atomic push
//   with a lease on every ref it moves; the server judges it with the same
//   rulebook and writes the audit record) or, offline, onto this clone's own
//   refs and the chain of pending operations that `envflow push` sends later.
namespace envflow::core::pipeline {

// Where a session's operations go.
enum class Route {
  local,   // this repository is the authority
  pending, // a clone, offline: kept here until `envflow push`
  push,    // a clone: pushed to the remote at once
};

struct SessionOptions {
  std::string actor;   // --actor ("" = $ENVFLOW_ACTOR, git config envflow.actor, user.email)
  bool push = false;   // --push
  std::string remote;  // --remote ("" = git config envflow.remote, else origin)
  bool offline = false; // --offline: do not fetch; read the view the last fetch left
  // The cache of the repository this run keeps (workspace::repository_cache;
  // the CLI's unless --no-cache or ENVFLOW_NO_CACHE), nullptr for none. It
  // must outlive the session; the session's pipeline() carries it to every
  // validation, memo and semantic diff.
  content::ResultCache* cache = nullptr;
};

// One operation: the refs it moves, compared-and-swapped against the values
// read through the session's view when it began.
struct Operation {
  std::vector<git::RefUpdate> updates;
  std::string reason;           // free text the person gave (--reason, -m); goes into the record
  Automatic automatic = Automatic::no; // sync --auto: the hold gate applies
  // Set for operations the rulebook cannot describe from the moves alone
  // (init, whose policy does not exist before it): the record to write.
  std::optional<model::AuditRecord> record;
};

// The moves `updates` make, as the rulebook and the audit record read them
// (a missing side is the zero id).
std::vector<model::RefMove> moves_of(const std::vector<git::RefUpdate>& updates);

// What applying an operation did.
struct Applied {
  Route route = Route::local;
  std::vector<model::RefMove> moves;
  model::AuditRecord record;            // as written here, or as the server will describe it
  std::string remote;                   // push: where it went
  std::vector<std::string> remote_said; // push: the server hooks' `remote:` lines
};

class Session {
public:
  // Open the repository containing `path` and read the pipeline as `options` say.
  static Session open(const std::string& path, const SessionOptions& options = {});
  // A session on `repo` as the authority (its own refs, Route::local) with
  // `actor`, keeping `cache` (SessionOptions::cache).
  static Session local(git::Repository repo, const std::string& actor = "",
                       content::ResultCache* cache = nullptr);

  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  ~Session();

  git::Repository& repo();
  const git::Repository& repo() const;
  Route route() const;
  const std::string& remote() const; // "" for Route::local
  bool is_clone() const { return route() != Route::local; }
  // What reading the state took ("fetched origin", "offline: view 3 minutes old").
  const std::vector<std::string>& notes() const;

  // The policy in force; util::Refused when there is none (run init/setup).
  const policy::PipelineConfig& config() const;
  bool has_config() const;
  const model::RefView& refs() const;
  model::Pipeline pipeline() const;
  // The cache this session keeps (SessionOptions::cache), nullptr for none.
  content::ResultCache* cache() const;

  // Who acts: the person (policy `people:`) of --actor, $ENVFLOW_ACTOR,
  // git config envflow.actor or user.email. util::UsageError when none.
  const std::string& actor() const;
  Actor acting() const;

  // Judge `operation` with the rulebook as actor(), as the server would
  // (util::Refused / util::Forbidden with its reasons when refused), then
  // write it where this session writes. A lost compare-and-swap throws
  // util::LostRace naming the ref.
  Applied apply(const Operation& operation);

  // Every operation apply() made in this session, in order (what a command
  // reports: where each went, what the server said).
  const std::vector<Applied>& applied() const;

  // Read the state again (after a lost race): fetch again in a clone.
  void refresh();

  // Operations made offline and not pushed yet (a clone's pending chain), oldest first.
  std::vector<model::AuditRecord> pending() const;

  // The audit trail as the session reads it (in a clone: the server's, as
  // fetched), newest first; `visit` returns false to stop, and only as much
  // is read as it visits. Nothing to visit when there is no trail yet.
  void walk_trail(const std::function<bool(const model::AuditRecord&)>& visit) const;

  // `envflow push`: send the pending operations to the remote, oldest first,
  // one atomic push each with a lease on every ref it moves (the server
  // judges and records each as if it had been pushed at once). Stops at the
  // first refusal: what was sent stays sent, the rest stays pending, and the
  // refusal is thrown. When all are sent this clone's copies of the
  // server's envflow refs are removed (its branches and tags stay).
  struct Sent {
    std::vector<model::AuditRecord> sent;
    std::vector<std::string> remote_said;
  };
  Sent send_pending();

  // `envflow push --discard`: drop the pending operations. This clone's
  // copies of envflow refs they moved are removed, and its branches they
  // moved go back to where they were before, unless moved since by hand.
  // Returns the dropped operations.
  std::vector<model::AuditRecord> discard_pending();

private:
  struct Impl;
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

// The folder of the repository containing `path` (its working tree, or its
// git folder when bare): absolute, without a trailing '/'. What a process
// that opens sessions again and again (envflow serve) keeps.
std::string repository_root(const std::string& path);

} // namespace envflow::core::pipeline
