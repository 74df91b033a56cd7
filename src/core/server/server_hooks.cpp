#include "core/server/server_hooks.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <thread>

#include "core/model/refs.h"
#include "core/pipeline/events.h"
#include "core/pipeline/rules.h"
#include "core/records/backport.h"
#include "core/release/release.h"
#include "core/workspace/diff.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/strings.h"
#include "util/time.h"

namespace envflow::core::server {

std::optional<std::string> process_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) {
    return std::nullopt;
  }
  return std::string(value);
}

pipeline::Actor identify_pusher(const policy::PipelineConfig* config, const EnvLookup& env) {
  const policy::PipelineConfig defaults;
  const policy::PipelineConfig& policy = config != nullptr ? *config : defaults;
  pipeline::Actor pusher;
  for (const auto& variable : policy.identity_env) {
    if (auto value = env(variable); value && !util::trim(*value).empty()) {
      pusher.name = policy.person(std::string(util::trim(*value)));
      pusher.source = variable;
      pusher.authenticated = true;
      return pusher;
    }
  }
  if (!policy.identity_required) {
    if (auto value = env("ENVFLOW_ACTOR"); value && !util::trim(*value).empty()) {
      pusher.name = policy.person(std::string(util::trim(*value)));
      pusher.source = "ENVFLOW_ACTOR, unauthenticated";
    }
  }
  return pusher;
}

std::vector<model::RefMove> parse_ref_updates(const std::string& text) {
  std::vector<model::RefMove> updates;
  size_t number = 0;
  for (const auto& raw : util::split(text, '\n')) {
    ++number;
    const std::string line(util::trim(raw));
    if (line.empty()) {
      continue;
    }
    const auto parts = util::split(line, ' ');
    if (parts.size() != 3 || !model::is_object_id(parts[0]) || !model::is_object_id(parts[1]) ||
        parts[2].empty()) {
      throw util::UsageError("line " + std::to_string(number) +
                             " of the hook's input is not 'OLD NEW REF': " + line);
    }
    updates.push_back(model::RefMove{parts[2], parts[0], parts[1]});
  }
  return updates;
}

namespace {

// The policy in force as a hook reads it, once per run: the pusher is
// identified under it and the push judged or recorded under it.
struct PolicyRead {
  std::optional<policy::PipelineConfig> config; // nullopt: none, or unreadable
  std::exception_ptr error;                     // what load_config threw, if it did
  const policy::PipelineConfig* identity() const { return config ? &*config : nullptr; }
};

PolicyRead read_policy(const git::Repository& repo) {
  PolicyRead read;
  try {
    read.config = policy::load_config(repo);
  } catch (const util::Error&) {
    read.error = std::current_exception();
  }
  return read;
}

pipeline::Judgement judge_push(const git::Repository& repo, content::ResultCache* cache,
                               const PolicyRead& policy, const std::vector<model::RefMove>& updates,
                               const pipeline::Actor& pusher, const remote::PushIntent& intent) {
  pipeline::Judgement judgement;
  if (policy.error) {
    try {
      std::rethrow_exception(policy.error);
    } catch (const util::Refused& e) {
      judgement.refusals.push_back(pipeline::Refusal{
          "",
          std::string("the policy in force on the server is unreadable, so nothing is "
                      "accepted until an admin mends it on the server: ") +
              e.what(),
          pipeline::Gate::record});
      return judgement;
    }
  }
  const std::optional<policy::PipelineConfig>& config = policy.config;
  if (!config) {
    // No pipeline yet: a repository is being seeded. Only the config itself is checked.
    for (const auto& move : updates) {
      if (move.ref == model::k_config_ref && !model::is_zero(move.new_id)) {
        if (const auto problem = policy::config_commit_problem(repo, move.new_id)) {
          judgement.refusals.push_back(
              pipeline::Refusal{move.ref, *problem, pipeline::Gate::content});
        }
      }
    }
    judgement.notes.push_back("no policy on this server yet (refs/envflow/config is missing): "
                              "accepted without checks");
    return judgement;
  }
  if (config->identity_required && !pusher.authenticated) {
    judgement.refusals.push_back(pipeline::Refusal{
        "",
        "the server did not say who is pushing (none of " + util::join(config->identity_env, ", ") +
            " is set) and the policy requires a known pusher (identity.required); push "
            "through the forge or web server that authenticates you",
        pipeline::Gate::identity});
    return judgement;
  }
  const model::OwnRefs own(repo);
  return judge(model::Pipeline{repo, own, *config, cache}, updates, pusher,
               intent.automatic ? pipeline::Automatic::yes : pipeline::Automatic::no);
}

} // namespace

pipeline::Judgement decide_push(const git::Repository& repo, content::ResultCache* cache,
                                const std::vector<model::RefMove>& updates,
                                const pipeline::Actor& pusher, const remote::PushIntent& intent) {
  return judge_push(repo, cache, read_policy(repo), updates, pusher, intent);
}

namespace {

// The moves the audit trail holds: the pipeline's refs, not feature branches.
std::vector<model::RefMove> audited_moves(const policy::PipelineConfig& config,
                                          const std::vector<model::RefMove>& updates) {
  std::vector<model::RefMove> moves;
  for (const auto& move : updates) {
    if (move.old_id != move.new_id &&
        model::classify_ref(config, move.ref).kind != model::RefKind::other) {
      moves.push_back(move);
    }
  }
  return moves;
}

// `moves` undone: read through `after`, the refs as they were before them.
std::vector<model::RefMove> inverse(const std::vector<model::RefMove>& moves) {
  std::vector<model::RefMove> undo;
  for (const auto& m : moves) {
    undo.push_back(model::RefMove{m.ref, m.new_id, m.old_id});
  }
  return undo;
}

// Store `changed` back-port issues with their own record, retrying while
// other pushes move the issues meanwhile. Returns the issues stored (none
// when there was nothing to change, or the retries ran out).
std::vector<records::BackportIssue> store_issues(
    git::Repository& repo, content::ResultCache* cache, const policy::PipelineConfig& config,
    const pipeline::Actor& server,
    const std::function<std::vector<records::BackportIssue>(const model::Pipeline&)>& changes,
    const std::string& message, std::vector<model::AuditRecord>* written) {
  for (int attempt = 1; attempt <= 20; ++attempt) {
    const model::OwnRefs own(repo);
    const model::Pipeline now_{repo, own, config, cache};
    const std::vector<records::BackportIssue> changed = changes(now_);
    if (changed.empty()) {
      return {};
    }
    const auto head = repo.ref_target(model::k_backports_ref);
    const git::RefUpdate update =
        stage_backports(repo, head, changed, message, server.name);
    const model::RefMove move{update.name, head.value_or(std::string(git::k_zero_id)),
                              *update.target};
    try {
      model::AuditRecord record = describe(now_, {move}, server);
      record.id = commit_with_audit(repo, {update}, record);
      if (written != nullptr) {
        record.moves = {move};
        written->push_back(std::move(record));
      }
      return changed;
    } catch (const util::RefConflict&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5 * attempt));
    }
  }
  return {};
}

// "issue 3", "issues 3, 4".
std::string issue_ids(const std::vector<records::BackportIssue>& issues) {
  std::vector<std::string> ids;
  for (const auto& issue : issues) {
    ids.push_back(std::to_string(issue.id));
  }
  return std::string(ids.size() == 1 ? "issue " : "issues ") + util::join(ids, ", ");
}

// A hotfix pushed straight onto the last environment (without its issue)
// gets its back-port issue here, so no hotfix goes untracked.
std::vector<records::BackportIssue> untracked_hotfixes(const model::Pipeline& now_,
                                                       const std::vector<model::RefMove>& moves,
                                                       const std::string& actor) {
  const policy::PipelineConfig& config = now_.config;
  const policy::Environment& last = config.last();
  const policy::Environment& previous = config.environments[config.environments.size() - 2];
  std::vector<records::BackportIssue> opened;
  std::optional<std::vector<records::BackportIssue>> known; // read when a hotfix is found
  for (const auto& move : moves) {
    if (move.ref != model::branch_ref(last) || model::is_zero(move.old_id) ||
        model::is_zero(move.new_id)) {
      continue;
    }
    std::vector<std::string> commits;
    const auto previous_head = now_.head(previous);
    for (const auto& id : now_.repo.commits_between(move.old_id, move.new_id)) {
      if (!previous_head || !now_.repo.is_ancestor(id, *previous_head)) {
        commits.push_back(id);
      }
    }
    if (commits.empty()) {
      continue; // a promotion, not a hotfix
    }
    std::reverse(commits.begin(), commits.end()); // oldest first
    if (!known) {
      known = records::read_backports(now_);
    }
    std::vector<records::BackportIssue>& issues = *known;
    const bool tracked =
        std::any_of(issues.begin(), issues.end(), [&](const records::BackportIssue& b) {
          return std::all_of(commits.begin(), commits.end(), [&](const std::string& c) {
            return std::find(b.commits.begin(), b.commits.end(), c) != b.commits.end();
          });
        });
    if (tracked) {
      continue;
    }
    records::BackportIssue issue;
    for (const auto& existing : issues) {
      issue.id = std::max(issue.id, existing.id);
    }
    issue.id += 1;
    issue.hotfix = "push";
    issue.commits = commits;
    for (const auto& item :
         workspace::semantic_diff(now_.repo, now_.cache, move.old_id, move.new_id).items) {
      issue.changes.push_back(
          records::BackportChange{item.path, item.kind, item.name,
                                  std::string(workspace::change_name(item.change)), item.fields});
    }
    issue.summary = now_.repo.commit(move.new_id).summary;
    issue.environment = last.name;
    issue.target = config.first().name;
    issue.opened_by = actor;
    issue.opened_at = model::now();
    for (const auto& release : release::list_releases(now_)) {
      if (release.commit == move.new_id) {
        issue.hotfix_tag = release.tag;
      }
    }
    issues.push_back(issue);
    opened.push_back(std::move(issue));
  }
  return opened;
}

// Phase of record_push: the audit record of the push itself, described
// against the refs as they were before it (the refs are already moved, in
// post-receive: the moves undone give them back).
model::AuditRecord audit_push(git::Repository& repo, content::ResultCache* cache,
                              const policy::PipelineConfig& config,
                              const std::vector<model::RefMove>& moves,
                              const pipeline::Actor& pusher, const remote::PushIntent& intent) {
  const model::OwnRefs own(repo);
  const std::vector<model::RefMove> undo = inverse(moves);
  const model::MovedRefs before_refs(own, undo);
  const model::Pipeline before{repo, before_refs, config, cache};
  model::AuditRecord record = describe(before, moves, pusher, intent.reason);
  record.moves = moves;
  // How the server knows who pushed: authenticated by the web server
  // (REMOTE_USER, ...) or only claimed by the client (ENVFLOW_ACTOR).
  if (!pusher.source.empty()) {
    record.note += (record.note.empty() ? "" : " ") + std::string("(pusher from ") +
                   pusher.source + ")";
  }
  record.id = commit_with_audit(repo, {}, record);
  return record;
}

// Phase of record_push: the follow-ups the server owes, each with its own
// record: open an issue for a hotfix pushed without one, close the issues
// whose hotfix reached the first environment. Returns what to tell the pusher.
std::vector<std::string> follow_up_issues(git::Repository& repo, content::ResultCache* cache,
                                          const policy::PipelineConfig& config,
                                          const std::vector<model::RefMove>& moves,
                                          const pipeline::Actor& pusher,
                                          std::vector<model::AuditRecord>* written) {
  std::vector<std::string> notes;
  const std::string actor = pusher.name.empty() ? std::string("unknown") : pusher.name;
  if (const auto opened = store_issues(
          repo, cache, config, pusher,
          [&](const model::Pipeline& now_) { return untracked_hotfixes(now_, moves, actor); },
          "open back-port issues for a pushed hotfix\n", written);
      !opened.empty()) {
    notes.push_back("back-port " + issue_ids(opened) + " opened for the hotfix pushed to " +
                    config.last().name + ": envflow backport apply " +
                    std::to_string(opened.front().id) + " brings it into " + config.first().name);
  }
  pipeline::Actor server{"envflow", "post-receive", true};
  if (const auto closed = store_issues(
          repo, cache, config, server,
          [&](const model::Pipeline& now_) {
            return records::closed_by_reachability(repo, now_.cache,
                                                   now_.refs.target(model::k_backports_ref),
                                                   now_.head(config.first()));
          },
          "close back-port issues whose hotfix is back\n", written);
      !closed.empty()) {
    notes.push_back("back-port " + issue_ids(closed) + " closed: the hotfix reached " +
                    config.first().name);
  }
  return notes;
}

} // namespace

namespace {

PushRecord record_under(git::Repository& repo, content::ResultCache* cache,
                        const PolicyRead& policy, const std::vector<model::RefMove>& updates,
                        const pipeline::Actor& pusher, const remote::PushIntent& intent,
                        std::vector<model::AuditRecord>* written) {
  if (policy.error) {
    std::rethrow_exception(policy.error);
  }
  PushRecord result;
  const std::optional<policy::PipelineConfig>& config = policy.config;
  if (!config) {
    return result; // no pipeline: nothing to audit
  }
  const std::vector<model::RefMove> moves = audited_moves(*config, updates);
  if (moves.empty()) {
    return result;
  }
  const model::AuditRecord record = audit_push(repo, cache, *config, moves, pusher, intent);
  result.appended.push_back(record);
  if (written != nullptr) {
    written->push_back(record);
  }
  result.notes = follow_up_issues(repo, cache, *config, moves, pusher, written);
  return result;
}

} // namespace

PushRecord record_push(git::Repository& repo, content::ResultCache* cache,
                       const std::vector<model::RefMove>& updates, const pipeline::Actor& pusher,
                       const remote::PushIntent& intent, std::vector<model::AuditRecord>* written) {
  return record_under(repo, cache, read_policy(repo), updates, pusher, intent, written);
}

PreReceive run_pre_receive(const std::string& folder, content::ResultCache* cache,
                           const std::vector<model::RefMove>& updates,
                           const remote::PushIntent& intent) {
  const git::Repository repo = git::Repository::open(folder, git::Repository::Open::from_env);
  const PolicyRead policy = read_policy(repo);
  PreReceive result{identify_pusher(policy.identity()), {}};
  result.judgement = judge_push(repo, cache, policy, updates, result.pusher, intent);
  return result;
}

PostReceive run_post_receive(const std::string& folder, content::ResultCache* cache,
                             const std::vector<model::RefMove>& updates,
                             const remote::PushIntent& intent) {
  git::Repository repo = git::Repository::open(folder, git::Repository::Open::from_env);
  const PolicyRead policy = read_policy(repo);
  PostReceive result{identify_pusher(policy.identity()), {}};
  // Exactly the records this hook wrote are announced, not what concurrent
  // pushes appended meanwhile.
  std::vector<model::AuditRecord> written;
  const auto announce = [&] {
    if (policy.config && !written.empty()) {
      pipeline::emit_events_for_records(repo, *policy.config, written);
    }
  };
  try {
    result.record = record_under(repo, cache, policy, updates, result.pusher, intent, &written);
  } catch (const util::Error&) {
    announce();
    throw;
  }
  announce();
  return result;
}

} // namespace envflow::core::server
