#include "core/pipeline/sync.h"

#include <algorithm>
#include <map>

#include "core/pipeline/checks.h"
#include "core/records/approvals.h"
#include "core/records/backport.h"
#include "core/records/overrides.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::core::pipeline {

namespace {

// The first refusal of `judgement` that concerns `ref`, or its first.
const Refusal& main_refusal(const Judgement& judgement) { return judgement.refusals.front(); }

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
  if (request.rev.empty()) {
    plan.to = source_head;
  } else {
    const auto rev = repo.resolve_commit(request.rev);
    if (!rev) {
      throw util::UsageError("unknown revision '" + request.rev + "'");
    }
    if (!repo.is_ancestor(*rev, source_head)) {
      throw util::Refused("revision " + model::short_id(*rev) + " is not on " + source.name +
                          "'s branch '" + source.branch + "'; only commits of " + source.name +
                          " can be promoted to " + target.name);
    }
    plan.to = *rev;
  }
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
    plan.diff = workspace::semantic_diff(repo, plan.from, plan.to);
  }
  plan.approvals =
      records::without(records::approvals_for(pipeline, target, plan.to), session.actor());
  plan.operation.automatic = automatic;
  plan.operation.updates.push_back(git::RefUpdate{model::branch_ref(target), plan.from, plan.to});
  // Overrides of variables the incoming content removes go in the same move.
  plan.dropped_overrides = records::dropped_overrides(pipeline, target, plan.to);
  if (!plan.dropped_overrides.empty()) {
    const records::Overrides before = records::read_overrides(pipeline, target.name);
    auto values = before.values;
    for (const auto& name : plan.dropped_overrides) {
      values.erase(name);
    }
    // Objects only: nothing moves until the plan is applied.
    plan.operation.updates.push_back(
        stage_overrides(session.repo(), target, before, values, session.actor(),
                        "drop " + util::join(plan.dropped_overrides, ", ") +
                            " (removed by the promotion of " + model::short_id(plan.to) + ")"));
  }
  std::vector<model::RefMove> moves;
  for (const auto& u : plan.operation.updates) {
    moves.push_back(model::RefMove{u.name, u.expected.value_or(std::string(git::k_zero_id)),
                                   u.target.value_or(std::string(git::k_zero_id))});
  }
  plan.judgement = judge(pipeline, moves, session.acting(), automatic);
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
  switch (reason) {
  case Reason::not_auto:
    return "not-auto";
  case Reason::approvals:
    return "approvals";
  case Reason::held:
    return "held";
  case Reason::backport:
    return "backport";
  case Reason::checks:
    return "checks";
  case Reason::refused:
    break;
  }
  return "refused";
}

AutoResult auto_sync(Session& session, DryRun dry_run) {
  AutoResult result;
  result.dry_run = dry_run == DryRun::yes;
  // The policy as the walk began (a session keeps every policy it read alive).
  const policy::PipelineConfig& config = session.config();
  // Dry run: where the steps before would have moved each environment, so
  // the next step plans against that instead of the unmoved branch.
  std::vector<model::RefMove> assumed;
  constexpr int k_attempts = 3;
  for (size_t i = 1; i < config.environments.size(); ++i) {
    const policy::Environment& source = config.environments[i - 1];
    const policy::Environment& target = config.environments[i];
    AutoStop stop;
    stop.source = source.name;
    stop.env = target.name;
    bool checked = false;
    for (int attempt = 1;; ++attempt) {
      const model::MovedRefs refs(session.refs(), assumed);
      const model::Pipeline pipeline{session.repo(), refs, config};
      const std::string source_head = pipeline.require_head(source);
      const std::string target_head = pipeline.require_head(target);
      if (session.repo().is_ancestor(source_head, target_head)) {
        AutoStep step;
        step.plan.source = &source;
        step.plan.target = &target;
        step.plan.from = target_head;
        step.plan.to = source_head;
        step.plan.noop = true;
        result.steps.push_back(std::move(step));
        break;
      }
      stop.commit = source_head;
      stop.waiting_commits =
          static_cast<int>(session.repo().commits_between(target_head, source_head).size());
      const std::string waiting =
          util::plural(static_cast<size_t>(stop.waiting_commits), "commit") + " of " + source.name +
          (stop.waiting_commits == 1 ? " waits" : " wait");
      if (!target.auto_promote) {
        stop.reason = AutoStop::Reason::not_auto;
        stop.groups = target.promote;
        stop.command = "envflow sync " + source.name;
        stop.message =
            target.name + " is not auto-promoted: " + waiting +
            " for a person (promote groups: " + policy::PipelineConfig::groups_text(stop.groups) +
            ") to run " + stop.command;
        result.stop = std::move(stop);
        return result;
      }
      if (!target.checks.empty() && dry_run == DryRun::no && !checked) {
        // The checks run here, for the commit about to go in; their results
        // are recorded, and the rulebook reads them like any others.
        checked = true;
        try {
          run_checks(session, target.name, source_head);
        } catch (const util::Refused& refused) {
          stop.reason = AutoStop::Reason::refused;
          stop.message = refused.what();
          result.stop = std::move(stop);
          return result;
        }
        continue; // read the state again, with the results
      }
      SyncPlan plan;
      try {
        plan = plan_sync(session, pipeline, SyncRequest{source.name, ""}, Automatic::yes);
      } catch (const util::Refused& refused) {
        stop.reason = AutoStop::Reason::refused;
        stop.message = refused.what();
        result.stop = std::move(stop);
        return result;
      }
      if (!plan.judgement.ok()) {
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
        result.stop = std::move(stop);
        return result;
      }
      if (plan.noop) {
        AutoStep step;
        step.plan = std::move(plan);
        result.steps.push_back(std::move(step));
        break;
      }
      if (dry_run == DryRun::yes) {
        for (const auto& u : plan.operation.updates) {
          assumed.push_back(model::RefMove{u.name, u.expected.value_or(std::string(git::k_zero_id)),
                                           u.target.value_or(std::string(git::k_zero_id))});
        }
      } else {
        try {
          apply_sync(session, plan);
        } catch (const util::LostRace& race) {
          // Another promotion moved the target since this plan read it: read
          // the state again and plan again (it usually finds the work done).
          if (attempt == k_attempts) {
            stop.reason = AutoStop::Reason::refused;
            stop.message = race.what();
            result.stop = std::move(stop);
            return result;
          }
          session.refresh();
          continue;
        } catch (const util::Refused& refused) {
          stop.reason = AutoStop::Reason::refused;
          stop.message = refused.what();
          result.stop = std::move(stop);
          return result;
        }
      }
      AutoStep step;
      step.result = AutoStep::Result::promoted;
      step.plan = std::move(plan);
      result.steps.push_back(std::move(step));
      break;
    }
  }
  return result;
}

} // namespace envflow::core::pipeline
