#include "core/pipeline/sync.h"

#include <algorithm>
#include <map>

#include "core/pipeline/checks.h"
#include "core/records/approvals.h"
#include "core/records/backport.h"
#include "core/records/overrides.h"
#include "git/repo.h"
#include "util/enum_names.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::core::pipeline {

namespace {

// The first refusal of `judgement` that concerns `ref`, or its first.
const Refusal& main_refusal(const Judgement& judgement) { return judgement.refusals.front(); }

} // namespace

namespace {

// Phase of plan_sync: the commit to promote: `request.rev` (which must be on
// the source's branch) or the source's head.
std::string promoted_commit(const git::Repository& repo, const policy::Environment& source,
                            const policy::Environment& target, const SyncRequest& request,
                            const std::string& source_head) {
  if (request.rev.empty()) {
    return source_head;
  }
  const auto rev = repo.resolve_commit(request.rev);
  if (!rev) {
    throw util::UsageError("unknown revision '" + request.rev + "'");
  }
  if (!repo.is_ancestor(*rev, source_head)) {
    throw util::Refused("revision " + model::short_id(*rev) + " is not on " + source.name +
                        "'s branch '" + source.branch + "'; only commits of " + source.name +
                        " can be promoted to " + target.name);
  }
  return *rev;
}

// Phase of plan_sync: the overrides of variables the incoming content
// removes, dropped in the same move (objects only: nothing moves until the
// plan is applied).
void drop_removed_overrides(Session& session, const model::Pipeline& pipeline,
                            const policy::Environment& target, SyncPlan& plan) {
  plan.dropped_overrides = records::dropped_overrides(pipeline, target, plan.to);
  if (plan.dropped_overrides.empty()) {
    return;
  }
  const records::Overrides before = records::read_overrides(pipeline, target.name);
  auto values = before.values;
  for (const auto& name : plan.dropped_overrides) {
    values.erase(name);
  }
  plan.operation.updates.push_back(
      stage_overrides(session.repo(), target, before, values, session.actor(),
                      "drop " + util::join(plan.dropped_overrides, ", ") +
                          " (removed by the promotion of " + model::short_id(plan.to) + ")"));
}

} // namespace

SyncPlan plan_sync(Session& session, const model::Pipeline& pipeline, const SyncRequest& request,
                   Automatic automatic) {
  const policy::PipelineConfig& config = pipeline.config;
  const git::Repository& repo = pipeline.repo;
  const policy::Environment& source = records::require_environment(config, request.env);
  const int index = config.index_of(source.name);
  if (index + 1 >= static_cast<int>(config.environments.size())) {
    throw util::UsageError(source.name +
                           " is the last environment: nothing comes after it (go live with "
                           "envflow publish)");
  }
  const policy::Environment& target = config.environments[static_cast<size_t>(index + 1)];
  SyncPlan plan;
  plan.source = &source;
  plan.target = &target;
  plan.approvals_required = target.approvals;
  plan.hold = records::hold_on(pipeline, target.name);

  // Read both heads once: the moves compare-and-swap against these.
  const std::string source_head = pipeline.require_head(source);
  plan.from = pipeline.require_head(target);
  plan.to = promoted_commit(repo, source, target, request, source_head);
  if (repo.is_ancestor(plan.to, plan.from)) {
    plan.noop = true;
    return plan;
  }
  // A clone's own branch moves too unless the operation goes straight to the server.
  if (session.route() != Route::push && !repo.is_bare() && repo.head_branch() == target.branch) {
    throw util::Refused(target.branch + " is checked out here: moving it would leave the index "
                        "and working tree behind; switch branches (git switch " +
                        source.branch + ") and run it again");
  }
  if (repo.is_ancestor(plan.from, plan.to)) {
    for (const auto& id : repo.commits_between(plan.from, plan.to)) {
      const git::CommitInfo info = repo.commit(id);
      plan.commits.push_back(PromotedCommit{id, info.summary, info.author.email});
    }
    plan.diff = workspace::semantic_diff(repo, pipeline.cache, plan.from, plan.to);
  }
  plan.approvals =
      records::without(records::approvals_for(pipeline, target, plan.to), session.actor());
  plan.operation.automatic = automatic;
  plan.operation.updates.push_back(git::RefUpdate{model::branch_ref(target), plan.from, plan.to});
  drop_removed_overrides(session, pipeline, target, plan);
  plan.judgement = judge(pipeline, moves_of(plan.operation.updates), session.acting(), automatic);
  return plan;
}

Applied apply_sync(Session& session, const SyncPlan& plan) {
  if (plan.noop) {
    return {};
  }
  plan.judgement.enforce();
  try {
    return session.apply(plan.operation);
  } catch (const util::LostRace& race) {
    if (race.ref() == model::branch_ref(*plan.target)) {
      throw util::LostRace(race.ref(),
                           plan.target->name +
                               " moved since this sync began (another "
                               "promotion got there first); nothing changed; run it again");
    }
    throw;
  }
}

ApproveResult approve(Session& session, const std::string& env, const std::string& rev) {
  const policy::PipelineConfig& config = session.config();
  const model::Pipeline pipeline = session.pipeline();
  const policy::Environment& target = records::require_environment(config, env);
  const int index = config.index_of(target.name);
  if (index == 0) {
    throw util::UsageError(target.name + " is the first environment: nothing is promoted into it, "
                                         "so there is nothing to approve");
  }
  const policy::Environment& source = config.environments[static_cast<size_t>(index - 1)];
  ApproveResult result;
  result.env = target.name;
  result.commit = candidate_commit(session, pipeline, source, rev);
  const auto source_head = pipeline.head(source);
  result.hotfix = &target == &config.last() && config.hotfix_approvals > 0 &&
                  !(source_head && session.repo().is_ancestor(result.commit, *source_head));
  result.required = result.hotfix ? config.hotfix_approvals : target.approvals;
  result.approvals = result.hotfix ? records::hotfix_approvals_for(pipeline, result.commit)
                                   : records::approvals_for(pipeline, target, result.commit);
  const std::string& actor = session.actor();
  if (std::find(result.approvals.begin(), result.approvals.end(), actor) !=
      result.approvals.end()) {
    result.already = true;
    return result;
  }
  Operation operation;
  const std::string ref = model::approval_ref(target.name, result.commit, actor);
  operation.updates.push_back(git::RefUpdate{ref, std::nullopt, result.commit});
  try {
    session.apply(operation);
  } catch (const util::LostRace& race) {
    // Only this person can make this approval: the same person approving
    // twice at once, and the other run made it first. It is there: done.
    session.refresh();
    if (race.ref() != ref || session.refs().target(ref) != result.commit) {
      throw;
    }
    const model::Pipeline now_ = session.pipeline();
    result.approvals = result.hotfix ? records::hotfix_approvals_for(now_, result.commit)
                                     : records::approvals_for(now_, target, result.commit);
    result.already = true;
    return result;
  }
  result.approvals.push_back(actor);
  std::sort(result.approvals.begin(), result.approvals.end());
  return result;
}

std::string AutoStop::reason_name() const {
  static constexpr auto k_names = std::to_array<util::EnumName<Reason>>(
      {{Reason::not_auto, "not-auto"}, {Reason::approvals, "approvals"}, {Reason::held, "held"},
       {Reason::backport, "backport"}, {Reason::checks, "checks"}, {Reason::refused, "refused"}});
  return std::string(util::name_of(k_names, reason, "refused"));
}

namespace {

// Phase of auto_sync: the step when `target` already holds `source`'s head.
AutoStep up_to_date_step(const policy::Environment& source, const policy::Environment& target,
                         const std::string& target_head, const std::string& source_head) {
  AutoStep step;
  step.plan.source = &source;
  step.plan.target = &target;
  step.plan.from = target_head;
  step.plan.to = source_head;
  step.plan.noop = true;
  return step;
}

// Phase of auto_sync: `stop`, made a stop because `target` is not
// auto-promoted (`waiting`: "2 commits of dev wait").
AutoStop not_auto_stop(AutoStop stop, const policy::Environment& source,
                       const policy::Environment& target, const std::string& waiting) {
  stop.reason = AutoStop::Reason::not_auto;
  stop.groups = target.promote;
  stop.command = "envflow sync " + source.name;
  stop.message = target.name + " is not auto-promoted: " + waiting +
                 " for a person (promote groups: " +
                 policy::PipelineConfig::groups_text(stop.groups) + ") to run " + stop.command;
  return stop;
}

// Phase of auto_sync: `stop`, made a stop for a refusal with `message`.
AutoStop refused_stop(AutoStop stop, const std::string& message) {
  stop.reason = AutoStop::Reason::refused;
  stop.message = message;
  return stop;
}

// Phase of auto_sync: `stop`, made a stop for the rulebook's refusal of
// `plan`: which gate, who can clear it and the command that does.
AutoStop judged_stop(AutoStop stop, const policy::PipelineConfig& config,
                     const policy::Environment& target, const SyncPlan& plan) {
  const Refusal& refusal = main_refusal(plan.judgement);
  stop.message = plan.judgement.reasons();
  switch (refusal.gate) {
  case Gate::approvals:
    stop.reason = AutoStop::Reason::approvals;
    stop.commit = plan.to;
    stop.groups = target.approvers;
    stop.approvals_required = target.approvals;
    stop.approvals = plan.approvals;
    stop.command = "envflow approve " + target.name + " --rev " + model::short_id(plan.to);
    break;
  case Gate::hold:
    stop.reason = AutoStop::Reason::held;
    stop.groups = config.publishers;
    for (const auto& group : target.promote) {
      if (std::find(stop.groups.begin(), stop.groups.end(), group) == stop.groups.end()) {
        stop.groups.push_back(group);
      }
    }
    stop.command = "envflow hold release " + target.name;
    stop.hold = plan.hold;
    break;
  case Gate::backport:
    stop.reason = AutoStop::Reason::backport;
    stop.command = "envflow backport list";
    break;
  case Gate::checks:
    stop.reason = AutoStop::Reason::checks;
    stop.commit = plan.to;
    stop.command = "envflow check " + target.name + " --rev " + model::short_id(plan.to);
    break;
  default:
    stop.reason = AutoStop::Reason::refused;
    break;
  }
  return stop;
}

// Phase of auto_sync: one step of the walk, from `source` into `target`
// (`assumed`: where a dry run's earlier steps moved refs). Appends the step
// taken to `steps`, or returns the stop that ends the walk.
std::optional<AutoStop> auto_step(Session& session, const policy::PipelineConfig& config,
                                  const policy::Environment& source,
                                  const policy::Environment& target, DryRun dry_run,
                                  std::vector<model::RefMove>& assumed,
                                  std::vector<AutoStep>& steps) {
  constexpr int k_attempts = 3;
  AutoStop stop;
  stop.source = source.name;
  stop.env = target.name;
  bool checked = false;
  for (int attempt = 1;; ++attempt) {
    const model::MovedRefs refs(session.refs(), assumed);
    const model::Pipeline pipeline{session.repo(), refs, config, session.cache()};
    const std::string source_head = pipeline.require_head(source);
    const std::string target_head = pipeline.require_head(target);
    if (session.repo().is_ancestor(source_head, target_head)) {
      steps.push_back(up_to_date_step(source, target, target_head, source_head));
      return std::nullopt;
    }
    stop.commit = source_head;
    stop.waiting_commits =
        static_cast<int>(session.repo().commits_between(target_head, source_head).size());
    const std::string waiting =
        util::plural(static_cast<size_t>(stop.waiting_commits), "commit") + " of " + source.name +
        (stop.waiting_commits == 1 ? " waits" : " wait");
    if (!target.auto_promote) {
      return not_auto_stop(std::move(stop), source, target, waiting);
    }
    if (!target.checks.empty() && dry_run == DryRun::no && !checked) {
      // The checks run here, for the commit about to go in; their results
      // are recorded, and the rulebook reads them like any others.
      checked = true;
      try {
        run_checks(session, target.name, source_head);
      } catch (const util::Refused& refused) {
        return refused_stop(std::move(stop), refused.what());
      }
      continue; // read the state again, with the results
    }
    SyncPlan plan;
    try {
      plan = plan_sync(session, pipeline, SyncRequest{source.name, ""}, Automatic::yes);
    } catch (const util::Refused& refused) {
      return refused_stop(std::move(stop), refused.what());
    }
    if (!plan.judgement.ok()) {
      return judged_stop(std::move(stop), config, target, plan);
    }
    AutoStep step;
    if (!plan.noop) {
      if (dry_run == DryRun::yes) {
        const std::vector<model::RefMove> moves = moves_of(plan.operation.updates);
        assumed.insert(assumed.end(), moves.begin(), moves.end());
      } else {
        try {
          apply_sync(session, plan);
        } catch (const util::LostRace& race) {
          // Another promotion moved the target since this plan read it: read
          // the state again and plan again (it usually finds the work done).
          if (attempt == k_attempts) {
            return refused_stop(std::move(stop), race.what());
          }
          session.refresh();
          continue;
        } catch (const util::Refused& refused) {
          return refused_stop(std::move(stop), refused.what());
        }
      }
      step.result = AutoStep::Result::promoted;
    }
    step.plan = std::move(plan);
    steps.push_back(std::move(step));
    return std::nullopt;
  }
}

} // namespace

AutoResult auto_sync(Session& session, DryRun dry_run) {
  AutoResult result;
  result.dry_run = dry_run == DryRun::yes;
  // The policy as the walk began (a session keeps every policy it read alive).
  const policy::PipelineConfig& config = session.config();
  // Dry run: where the steps before would have moved each environment, so
  // the next step plans against that instead of the unmoved branch.
  std::vector<model::RefMove> assumed;
  for (size_t i = 1; i < config.environments.size(); ++i) {
    if (auto stop = auto_step(session, config, config.environments[i - 1],
                              config.environments[i], dry_run, assumed, result.steps)) {
      result.stop = std::move(stop);
      return result;
    }
  }
  return result;
}

} // namespace envflow::core::pipeline
