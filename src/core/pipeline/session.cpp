#include "core/pipeline/session.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "core/pipeline/events.h"
#include "core/policy/context.h"
#include "core/remote/remote.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::core::pipeline {

namespace {

std::optional<std::string> as_optional(const std::string& id) {
  return model::is_zero(id) ? std::nullopt : std::optional<std::string>(id);
}

// The refs a clone's pending operations moved (they are read from this
// clone's own refs until pushed).
std::vector<std::string> pending_refs(const git::Repository& repo) {
  std::set<std::string> refs;
  if (repo.ref_target(model::k_pending_ref)) {
    for (const auto& record : model::read_audit(repo, model::k_pending_ref)) {
      for (const auto& move : record.moves) {
        refs.insert(move.ref);
      }
    }
  }
  return {refs.begin(), refs.end()};
}

std::string age_text(long long seconds) {
  if (seconds < 0) {
    return "never fetched";
  }
  if (seconds < 120) {
    return std::to_string(seconds) + " seconds old";
  }
  if (seconds < 7200) {
    return std::to_string(seconds / 60) + " minutes old";
  }
  if (seconds < 2 * 86400) {
    return std::to_string(seconds / 3600) + " hours old";
  }
  return std::to_string(seconds / 86400) + " days old";
}

} // namespace

std::vector<model::RefMove> moves_of(const std::vector<git::RefUpdate>& updates) {
  std::vector<model::RefMove> moves;
  for (const auto& u : updates) {
    moves.push_back(model::RefMove{u.name, u.expected.value_or(std::string(git::k_zero_id)),
                                   u.target.value_or(std::string(git::k_zero_id))});
  }
  return moves;
}

struct Session::Impl {
  git::Repository repo;
  Route route = Route::local;
  std::string remote;
  std::string actor_flag;
  content::ResultCache* cache = nullptr;
  std::vector<std::string> notes;
  std::unique_ptr<model::RefView> refs;
  // Every policy read, the newest last: earlier ones stay alive for plans
  // that point into them.
  std::vector<std::unique_ptr<policy::PipelineConfig>> configs;
  bool has_config = false;
  mutable std::optional<std::string> actor;
  std::vector<Applied> applied;

  explicit Impl(git::Repository r) : repo(std::move(r)) {}

  void read_state() {
    if (route == Route::local) {
      refs = std::make_unique<model::OwnRefs>(repo);
    } else {
      refs = std::make_unique<model::RemoteRefs>(repo, remote, pending_refs(repo));
    }
    has_config = false;
    if (const auto commit = refs->target(model::k_config_ref)) {
      if (auto config = policy::load_config(repo, *commit)) {
        configs.push_back(std::make_unique<policy::PipelineConfig>(std::move(*config)));
        has_config = true;
      }
    }
  }

  void fetch() {
    const remote::FetchResult fetched = remote::fetch_view(repo, remote);
    if (fetched.unshallowed) {
      notes.push_back("this clone was shallow: fetched the whole history from " + remote +
                      " (promotion rules compare histories)");
    }
  }
};

Session::Session(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

Session Session::open(const std::string& path, const SessionOptions& options) {
  auto impl = std::make_unique<Impl>(git::Repository::open(path));
  git::Repository& repo = impl->repo;
  impl->actor_flag = options.actor;
  impl->cache = options.cache;
  std::string remote = options.remote;
  bool automatic = false;
  if (remote.empty()) {
    remote = repo.config_string("envflow.remote").value_or("");
  }
  if (remote.empty() && options.push) {
    remote = "origin";
  }
  if (remote.empty() && !repo.ref_target(model::k_config_ref) &&
      remote::has_remote(repo, "origin")) {
    // A clone without a pipeline of its own (a CI checkout, a plain git
    // clone): the server it came from holds the truth.
    remote = "origin";
    automatic = true;
  }
  if (!remote.empty()) {
    if (!remote::has_remote(repo, remote)) {
      throw util::UsageError("no remote named '" + remote +
                             "' in this clone; add it (git remote add " + remote +
                             " URL) or pass --remote NAME");
    }
    impl->remote = remote;
    impl->route = options.push ? Route::push : Route::pending;
    if (options.offline) {
      impl->notes.push_back("offline: the view of " + remote + " is " +
                            age_text(remote::view_age(repo)) +
                            " (envflow fetches it when run "
                            "without --offline)");
    } else {
      impl->fetch();
      if (automatic) {
        impl->notes.push_back("read the pipeline from " + remote +
                              " (this clone has none of its own; envflow setup makes this "
                              "permanent)");
      }
    }
  } else if (options.offline) {
    impl->notes.push_back("offline: this repository holds the pipeline itself; nothing to fetch");
  }
  impl->read_state();
  return Session(std::move(impl));
}

Session Session::local(git::Repository repo, const std::string& actor,
                       content::ResultCache* cache) {
  auto impl = std::make_unique<Impl>(std::move(repo));
  impl->actor_flag = actor;
  impl->cache = cache;
  impl->read_state();
  return Session(std::move(impl));
}

git::Repository& Session::repo() { return m_impl->repo; }
const git::Repository& Session::repo() const { return m_impl->repo; }
Route Session::route() const { return m_impl->route; }
const std::string& Session::remote() const { return m_impl->remote; }
const std::vector<std::string>& Session::notes() const { return m_impl->notes; }
bool Session::has_config() const { return m_impl->has_config; }
const model::RefView& Session::refs() const { return *m_impl->refs; }

const policy::PipelineConfig& Session::config() const {
  if (!m_impl->has_config) {
    if (is_clone()) {
      throw util::Refused(
          m_impl->remote + " has no envflow pipeline (" + std::string(model::k_config_ref) +
              " is missing there): seed it from a "
              "repository made by envflow init (docs/server-hooks.md)",
          "no-pipeline", "seed " + m_impl->remote + " from a repository made by envflow init");
    }
    throw util::Refused("this repository has no envflow pipeline (" +
                            std::string(model::k_config_ref) +
                            " is missing): run `envflow init` to create one, or `envflow setup` "
                            "in a clone to read the server's",
                        "no-pipeline", "envflow init (a new pipeline), or envflow setup (a clone)");
  }
  return *m_impl->configs.back();
}

model::Pipeline Session::pipeline() const {
  return model::Pipeline{m_impl->repo, *m_impl->refs, config(), m_impl->cache};
}

content::ResultCache* Session::cache() const { return m_impl->cache; }

const std::string& Session::actor() const {
  if (!m_impl->actor) {
    const std::string name = policy::resolve_actor(m_impl->actor_flag, &m_impl->repo);
    m_impl->actor = m_impl->has_config ? m_impl->configs.back()->person(name) : name;
  }
  return *m_impl->actor;
}

Actor Session::acting() const { return Actor{actor(), "", false}; }

std::vector<model::AuditRecord> Session::pending() const {
  if (!m_impl->repo.ref_target(model::k_pending_ref)) {
    return {};
  }
  return model::read_audit(m_impl->repo, model::k_pending_ref);
}

void Session::walk_trail(const std::function<bool(const model::AuditRecord&)>& visit) const {
  if (const auto tip = refs().target(model::k_audit_ref)) {
    model::walk_audit(m_impl->repo, *tip, visit);
  }
}

namespace {

// The refs `records` moved, each with its value before the first of them.
std::map<std::string, std::string> first_values(const std::vector<model::AuditRecord>& records) {
  std::map<std::string, std::string> first;
  for (const auto& record : records) {
    for (const auto& move : record.moves) {
      first.emplace(move.ref, move.old_id);
    }
  }
  return first;
}

// Rewrite the pending chain to hold `records` only (none: delete it).
void rewrite_pending(git::Repository& repo, const std::vector<model::AuditRecord>& records) {
  const auto head = repo.ref_target(model::k_pending_ref);
  std::optional<std::string> tip;
  for (const auto& record : records) {
    std::vector<std::string> parents;
    if (tip) {
      parents.push_back(*tip);
    }
    const git::Person person{record.actor, record.actor.find('@') != std::string::npos
                                               ? record.actor
                                               : "envflow@localhost"};
    tip = repo.write_commit(std::string(git::k_empty_tree_id), parents, record.to_message(),
                            person, record.time);
  }
  repo.update_refs({git::RefUpdate{model::k_pending_ref, head, tip}},
                   "envflow: pending operations");
}

// Remove this clone's own copies of envflow refs (the view reads the server's).
void drop_envflow_copies(git::Repository& repo, const std::map<std::string, std::string>& refs) {
  std::vector<git::RefUpdate> drops;
  for (const auto& [ref, ignored] : refs) {
    if (util::starts_with(ref, "refs/envflow/") && ref != model::k_pending_ref) {
      if (const auto id = repo.ref_target(ref)) {
        drops.push_back(git::RefUpdate{ref, id, std::nullopt});
      }
    }
  }
  if (!drops.empty()) {
    repo.update_refs(drops, "envflow: pending operations sent or dropped");
  }
}

} // namespace

Session::Sent Session::send_pending() {
  if (!is_clone()) {
    throw util::UsageError("this repository holds the pipeline itself: there is nothing to push "
                           "(envflow push sends a clone's offline operations to its server)");
  }
  git::Repository& repo = m_impl->repo;
  std::vector<model::AuditRecord> records = pending();
  const auto refs = first_values(records);
  Sent result;
  while (!records.empty()) {
    const model::AuditRecord record = records.front();
    try {
      const remote::PushOutcome outcome =
          push_moves(repo, remote(), record.moves, remote::PushIntent{record.note, false});
      result.remote_said.insert(result.remote_said.end(), outcome.remote_said.begin(),
                                outcome.remote_said.end());
    } catch (const util::Error&) {
      rewrite_pending(repo, records);
      throw;
    }
    result.sent.push_back(record);
    records.erase(records.begin());
    rewrite_pending(repo, records);
  }
  drop_envflow_copies(repo, refs);
  refresh();
  return result;
}

std::vector<model::AuditRecord> Session::discard_pending() {
  git::Repository& repo = m_impl->repo;
  const std::vector<model::AuditRecord> records = pending();
  if (records.empty()) {
    return records;
  }
  std::map<std::string, std::string> last; // ref -> value the pending chain left
  for (const auto& record : records) {
    for (const auto& move : record.moves) {
      last[move.ref] = move.new_id;
    }
  }
  const auto first = first_values(records);
  std::vector<git::RefUpdate> restore;
  for (const auto& [ref, old_id] : first) {
    if (util::starts_with(ref, "refs/envflow/")) {
      continue;
    }
    const auto mine = repo.ref_target(ref);
    if (mine.value_or(std::string(git::k_zero_id)) == last[ref]) {
      restore.push_back(git::RefUpdate{ref, mine, as_optional(old_id)});
    }
  }
  if (!restore.empty()) {
    repo.update_refs(restore, "envflow: pending operations dropped");
  }
  drop_envflow_copies(repo, first);
  rewrite_pending(repo, {});
  m_impl->read_state();
  return records;
}

void Session::refresh() {
  if (is_clone()) {
    m_impl->fetch();
  }
  m_impl->read_state();
}

Applied Session::apply(const Operation& operation) {
  Applied applied;
  applied.route = route();
  applied.moves = moves_of(operation.updates);
  const model::Pipeline before = pipeline();
  if (!operation.record) {
    judge(before, applied.moves, acting(), operation.automatic).enforce();
  }
  applied.record = operation.record ? *operation.record
                                    : describe(before, applied.moves, acting(), operation.reason);
  if (applied.record.actor.empty()) {
    applied.record.actor = actor();
  }
  git::Repository& repo = m_impl->repo;
  switch (route()) {
  case Route::local:
    try {
      applied.record.id = commit_with_audit(repo, operation.updates, applied.record);
    } catch (const util::RefConflict& conflict) {
      throw util::LostRace(conflict.ref(),
                           conflict.ref() + " moved since this operation read it: "
                                            "another operation on the same thing got there first; "
                                            "nothing changed; run it again");
    }
    // The writer of the trail announces what it wrote (a clone's operations
    // are announced by the server's hook that records them).
    if (has_config()) {
      emit_events_for_records(repo, config(), {applied.record});
    }
    break;
  case Route::pending: {
    // This clone's own refs take the new values; each must hold no work of
    // its own that the new value would drop.
    std::vector<git::RefUpdate> local;
    for (const auto& update : operation.updates) {
      const auto mine = repo.ref_target(update.name);
      if (!mine && !update.target) {
        continue; // nothing here to delete: the pending record keeps the move
      }
      if (mine && mine != update.expected && update.target &&
          !(repo.tag(*mine) == std::nullopt && repo.tag(*update.target) == std::nullopt &&
            repo.is_ancestor(*mine, *update.target))) {
        throw util::Refused(update.name + " here (" + model::short_id(*mine) +
                            ") holds work that " + remote() +
                            " and this operation lack; push it, or move it aside "
                            "(git branch -m), and run the operation again");
      }
      local.push_back(git::RefUpdate{update.name, mine, update.target});
    }
    try {
      applied.record.id = commit_with_audit(repo, local, applied.record, model::k_pending_ref);
    } catch (const util::RefConflict& conflict) {
      throw util::LostRace(conflict.ref(), conflict.ref() + " moved here while this operation ran; "
                                                            "nothing changed; run it again");
    }
    m_impl->read_state();
    break;
  }
  case Route::push: {
    if (m_impl->repo.ref_target(model::k_pending_ref)) {
      throw util::Refused("this clone holds operations made offline that " + remote() +
                          " lacks (envflow push --list): send them first with envflow push, "
                          "or drop them with envflow push --discard");
    }
    const remote::PushOutcome outcome =
        push_moves(repo, remote(), applied.moves,
                   remote::PushIntent{operation.reason, operation.automatic == Automatic::yes});
    applied.remote = outcome.remote;
    applied.remote_said = outcome.remote_said;
    // The view follows what landed, until the next fetch brings the rest.
    std::vector<git::RefUpdate> view;
    for (const auto& move : applied.moves) {
      const std::string tracking = model::RemoteRefs::tracking_name(remote(), move.ref);
      if (!tracking.empty()) {
        view.push_back(git::RefUpdate{tracking, repo.ref_target(tracking), as_optional(move.new_id)});
      }
    }
    try {
      repo.update_refs(view, "envflow: pushed to " + remote());
    } catch (const std::exception&) {
      // A concurrent fetch moved the view: the next command fetches anyway.
    }
    m_impl->read_state();
    break;
  }
  }
  m_impl->applied.push_back(applied);
  return applied;
}

const std::vector<Applied>& Session::applied() const { return m_impl->applied; }

std::string repository_root(const std::string& path) {
  std::string root =
      std::filesystem::absolute(git::Repository::open(path).root()).lexically_normal().string();
  if (root.size() > 1 && root.ends_with("/")) {
    root.pop_back();
  }
  return root;
}

} // namespace envflow::core::pipeline
