#include "core/sync.h"

#include <algorithm>
#include <map>

#include "content/schema.h"
#include "content/validator.h"
#include "core/audit.h"
#include "core/backport.h"
#include "core/overrides.h"
#include "core/sources.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::core {

namespace {

std::string short_id(const std::string& id) { return id.substr(0, 7); }

std::string groups_text(const std::vector<std::string>& groups) {
  return groups.empty() ? std::string("(none)") : util::join(groups, ", ");
}

std::string plural(size_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

const Environment& environment(const PipelineConfig& config, const std::string& name) {
  const Environment* env = config.find(name);
  if (env == nullptr) {
    std::vector<std::string> names;
    for (const auto& e : config.environments) {
      names.push_back(e.name);
    }
    throw util::UsageError("unknown environment '" + name + "' (environments: " +
                           util::join(names, ", ") + ")");
  }
  return *env;
}

std::string head_of(const git::Repository& repo, const Environment& env) {
  auto head = repo.ref_target("refs/heads/" + env.branch);
  if (!head) {
    throw util::Refused("branch '" + env.branch + "' of environment " + env.name +
                        " does not exist; run envflow doctor");
  }
  return *head;
}

} // namespace

std::vector<std::string> approvals_for(const std::vector<AuditRecord>& trail,
                                       const PipelineConfig& config, const Environment& env,
                                       const std::string& commit) {
  std::vector<std::string> approvers;
  for (const auto& record : trail) {
    if (record.op != "approve" || record.env != env.name || record.commit != commit) {
      continue;
    }
    if (!config.member(record.actor, env.approvers)) {
      continue;
    }
    if (std::find(approvers.begin(), approvers.end(), record.actor) == approvers.end()) {
      approvers.push_back(record.actor);
    }
  }
  return approvers;
}

std::vector<std::string> approvals_for(const git::Repository& repo, const PipelineConfig& config,
                                       const Environment& env, const std::string& commit) {
  return approvals_for(read_audit(repo), config, env, commit);
}

SyncPlan plan_sync(const git::Repository& repo, const PipelineConfig& config,
                   const SyncRequest& request) {
  return plan_sync(repo, config, request, read_audit(repo));
}

SyncPlan plan_sync(const git::Repository& repo, const PipelineConfig& config,
                   const SyncRequest& request, const std::vector<AuditRecord>& trail,
                   ApprovalGate gate) {
  const Environment& source = environment(config, request.env);
  const int index = config.index_of(source.name);
  if (index + 1 >= static_cast<int>(config.environments.size())) {
    throw util::UsageError(source.name +
                           " is the last environment: nothing comes after it (go live with "
                           "envflow publish)");
  }
  const Environment& target = config.environments[static_cast<size_t>(index + 1)];
  SyncPlan plan;
  plan.source = &source;
  plan.target = &target;
  plan.approvals_required = target.approvals;
  plan.hold = hold_on(trail, target.name);

  // Read both heads once: the ref moves compare-and-swap against these.
  const std::string source_head = request.assumed_source_head.empty()
                                      ? head_of(repo, source)
                                      : request.assumed_source_head;
  plan.from = head_of(repo, target);
  if (request.rev.empty()) {
    plan.to = source_head;
  } else {
    const auto rev = repo.resolve_commit(request.rev);
    if (!rev) {
      throw util::UsageError("unknown revision '" + request.rev + "'");
    }
    if (!repo.is_ancestor(*rev, source_head)) {
      throw util::Refused("revision " + short_id(*rev) + " is not on " + source.name +
                          "'s branch '" + source.branch + "'; only commits of " + source.name +
                          " can be promoted to " + target.name);
    }
    plan.to = *rev;
  }

  if (!config.member(request.actor, target.promote)) {
    throw util::Refused(request.actor + " may not promote into " + target.name +
                        " (allowed groups: " + groups_text(target.promote) +
                        "); ask an admin to add you with envflow config edit");
  }

  if (repo.is_ancestor(plan.to, plan.from)) {
    plan.noop = true;
    return plan;
  }
  if (!repo.is_bare() && repo.head_branch() == target.branch) {
    throw util::Refused(target.branch + " is checked out here: moving it would leave the index "
                        "and working tree behind; switch branches (git switch " +
                        source.branch + ") and run it again");
  }
  // Hotfix gate: nothing goes into the last environment while a hotfix is not back-ported.
  refuse_open_backports(repo, config, target);
  if (!repo.is_ancestor(plan.from, plan.to)) {
    const auto extra = repo.commits_between(plan.to, plan.from);
    std::string message = target.name + " has " + std::to_string(extra.size()) + " commit" +
                          (extra.size() == 1 ? "" : "s") + " that " + source.name +
                          " lacks, so it cannot be fast-forwarded:";
    for (size_t i = 0; i < extra.size() && i < 10; ++i) {
      message += "\n  " + short_id(extra[i]) + " " + repo.commit(extra[i]).summary;
    }
    if (extra.size() > 10) {
      message += "\n  … and " + std::to_string(extra.size() - 10) + " more";
    }
    message += describe_hotfix_commits(repo, config, extra);
    message += "\nbring them into " + config.first().name +
               " (merge them there) and promote through the pipeline again";
    throw util::Refused(message);
  }

  for (const auto& id : repo.commits_between(plan.from, plan.to)) {
    const git::CommitInfo info = repo.commit(id);
    plan.commits.push_back(PromotedCommit{id, info.summary, info.author.email});
  }

  content::ValidateOptions options;
  options.max_file_size = config.max_file_size;
  TreeSource source_tree(repo, plan.to);
  const content::ValidationReport report =
      content::validate(source_tree, options, content::SchemaSet::builtin());
  if (!report.ok()) {
    std::string message = "the content of " + short_id(plan.to) + " does not validate:";
    for (const auto& d : report.diagnostics) {
      message += "\n  " + d.to_text();
    }
    message += "\nfix it on " + config.first().name + " and promote again";
    throw util::Refused(message);
  }

  const auto incompatible = incompatible_overrides(repo, config, target.name, plan.to);
  if (!incompatible.empty()) {
    std::string message = "the incoming content would break variable overrides of " +
                          target.name + ":";
    for (const auto& problem : incompatible) {
      message += "\n  " + problem;
    }
    message += "\nchange or unset them first (envflow var set/unset --env " + target.name + ")";
    throw util::Refused(message);
  }

  plan.diff = semantic_diff(repo, plan.from, plan.to);
  // Hotfix gate: the incoming content must not quietly undo a hotfix.
  refuse_hotfix_undo(repo, config, target, plan.from, plan.to, plan.diff);

  std::vector<std::string> approvals = approvals_for(trail, config, target, plan.to);
  approvals.erase(std::remove(approvals.begin(), approvals.end(), request.actor), approvals.end());
  plan.approvals = approvals;
  if (!plan.approved() && gate == ApprovalGate::enforce) {
    std::string message = "promoting " + short_id(plan.to) + " into " + target.name + " needs " +
                          std::to_string(target.approvals) + " approval" +
                          (target.approvals == 1 ? "" : "s") + " from " +
                          groups_text(target.approvers) + " (not counting " + request.actor +
                          "), has " + std::to_string(approvals.size());
    if (!approvals.empty()) {
      message += " (" + util::join(approvals, ", ") + ")";
    }
    message += "; approvers run: envflow approve " + target.name + " --rev " + short_id(plan.to);
    throw util::Refused(message);
  }
  return plan;
}

void apply_sync(git::Repository& repo, const SyncPlan& plan, const std::string& actor) {
  if (plan.noop) {
    return;
  }
  AuditRecord record;
  record.op = "sync";
  record.env = plan.target->name;
  record.actor = actor;
  record.commit = plan.to;
  record.approvals = plan.approvals;
  record.note = plan.source->name + " -> " + plan.target->name;
  try {
    commit_with_audit(repo,
                      {git::RefUpdate{"refs/heads/" + plan.target->branch, plan.from, plan.to}},
                      record);
  } catch (const git::RefConflict& conflict) {
    if (conflict.ref() == "refs/heads/" + plan.target->branch &&
        std::string(conflict.what()).find("locked") == std::string::npos) {
      throw TargetMoved(plan.target->name + " moved since this sync began; run it again");
    }
    throw util::Refused(std::string(conflict.what()) + " (nothing changed)");
  }
}

ApproveResult approve(git::Repository& repo, const PipelineConfig& config, const std::string& env,
                      const std::string& rev, const std::string& actor) {
  const Environment& target = environment(config, env);
  const int index = config.index_of(target.name);
  if (index == 0) {
    throw util::UsageError(target.name + " is the first environment: nothing is promoted into it, "
                                         "so there is nothing to approve");
  }
  const Environment& source = config.environments[static_cast<size_t>(index - 1)];
  std::string commit;
  if (rev.empty()) {
    commit = head_of(repo, source);
  } else {
    const auto resolved = repo.resolve_commit(rev);
    if (!resolved) {
      throw util::UsageError("unknown revision '" + rev + "'");
    }
    commit = *resolved;
  }
  if (!config.member(actor, target.approvers)) {
    throw util::Refused(actor + " is not an approver for " + target.name + " (approver groups: " +
                        groups_text(target.approvers) + ")");
  }
  ApproveResult result;
  result.env = target.name;
  result.commit = commit;
  result.required = target.approvals;
  result.approvals = approvals_for(read_audit(repo), config, target, commit);
  if (std::find(result.approvals.begin(), result.approvals.end(), actor) !=
      result.approvals.end()) {
    result.already = true;
    return result;
  }
  AuditRecord record;
  record.op = "approve";
  record.env = target.name;
  record.actor = actor;
  record.commit = commit;
  record.note = "promote " + short_id(commit) + " from " + source.name + " into " + target.name;
  commit_with_audit(repo, {}, record);
  result.approvals.push_back(actor);
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
  case Reason::refused:
    break;
  }
  return "refused";
}

AutoResult auto_sync(git::Repository& repo, const PipelineConfig& config, const std::string& actor,
                     DryRun dry_run) {
  AutoResult result;
  result.dry_run = dry_run == DryRun::yes;
  // Read once: approvals and holds come from it. Records this walk appends
  // (syncs) change neither.
  std::vector<AuditRecord> trail = read_audit(repo);
  // Dry run: where the steps before would have moved each environment, so
  // the next step plans against that instead of the unmoved branch.
  std::map<std::string, std::string> assumed;
  constexpr int k_attempts = 3;
  for (size_t i = 1; i < config.environments.size(); ++i) {
    const Environment& source = config.environments[i - 1];
    const Environment& target = config.environments[i];
    AutoStop stop;
    stop.source = source.name;
    stop.env = target.name;
    const auto in_sync = [&](const std::string& from, const std::string& to) {
      AutoStep step;
      step.plan.source = &source;
      step.plan.target = &target;
      step.plan.from = from;
      step.plan.to = to;
      step.plan.noop = true;
      result.steps.push_back(std::move(step));
    };
    for (int attempt = 1;; ++attempt) {
      try {
        const auto known = assumed.find(source.name);
        const std::string source_head =
            known != assumed.end() ? known->second : head_of(repo, source);
        const std::string target_head = head_of(repo, target);
        if (repo.is_ancestor(source_head, target_head)) {
          in_sync(target_head, source_head);
          break;
        }
        stop.commit = source_head;
        stop.waiting_commits =
            static_cast<int>(repo.commits_between(target_head, source_head).size());
        const std::string waiting = plural(static_cast<size_t>(stop.waiting_commits), "commit") +
                                    " of " + source.name +
                                    (stop.waiting_commits == 1 ? " waits" : " wait");
        if (!target.auto_promote) {
          stop.reason = AutoStop::Reason::not_auto;
          stop.groups = target.promote;
          stop.command = "envflow sync " + source.name;
          stop.message = target.name + " is not auto-promoted: " + waiting +
                         " for a person (promote groups: " + groups_text(stop.groups) +
                         ") to run " + stop.command;
          result.stop = std::move(stop);
          return result;
        }
        if (auto hold = hold_on(trail, target.name)) {
          stop.reason = AutoStop::Reason::held;
          stop.groups = config.publishers;
          for (const auto& group : target.promote) {
            if (std::find(stop.groups.begin(), stop.groups.end(), group) == stop.groups.end()) {
              stop.groups.push_back(group);
            }
          }
          stop.command = "envflow hold release " + target.name;
          stop.message = target.name + " is held (" + hold->describe() + "): " + waiting +
                         "; " + groups_text(stop.groups) + " release the hold with " +
                         stop.command + ", or a person syncs by hand (envflow sync " +
                         source.name + ")";
          stop.hold = std::move(hold);
          result.stop = std::move(stop);
          return result;
        }
        if (&target == &config.last()) {
          // The hotfix gate waits for whoever applies the back-port; a CI
          // job running sync --auto on every push must not fail meanwhile.
          std::vector<std::string> open;
          for (const auto& issue : effective_backports(repo, config)) {
            if (issue.status == BackportIssue::Status::open) {
              open.push_back("#" + std::to_string(issue.id) + " (" + issue.hotfix_tag + ")");
            }
          }
          if (!open.empty()) {
            stop.reason = AutoStop::Reason::backport;
            stop.command = "envflow backport list";
            stop.message = target.name + " waits for the back-port of " +
                           util::join(open, ", ") + " into " + config.first().name + ": " +
                           waiting + "; apply it (envflow backport apply ID) and promote it "
                           "through the pipeline";
            result.stop = std::move(stop);
            return result;
          }
        }
        SyncRequest request;
        request.env = source.name;
        request.actor = actor;
        request.assumed_source_head = source_head;
        SyncPlan plan = plan_sync(repo, config, request, trail, ApprovalGate::report);
        if (plan.noop) {
          in_sync(plan.from, plan.to);
          break;
        }
        if (!plan.approved()) {
          stop.reason = AutoStop::Reason::approvals;
          stop.commit = plan.to;
          stop.groups = target.approvers;
          stop.approvals_required = target.approvals;
          stop.approvals = plan.approvals;
          stop.command = "envflow approve " + target.name + " --rev " + short_id(plan.to);
          stop.message = target.name + " waits for " + plural(static_cast<size_t>(target.approvals),
                                                              "approval") +
                         " from " + groups_text(target.approvers) + " to promote " +
                         short_id(plan.to) + " (has " + std::to_string(plan.approvals.size());
          if (!plan.approvals.empty()) {
            stop.message += ": " + util::join(plan.approvals, ", ");
          }
          if (config.member(actor, target.approvers)) {
            stop.message += "; not counting " + actor;
          }
          stop.message += "); approvers run: " + stop.command;
          result.stop = std::move(stop);
          return result;
        }
        if (dry_run == DryRun::no) {
          apply_sync(repo, plan, actor);
        } else {
          assumed[target.name] = plan.to;
        }
        AutoStep step;
        step.result = AutoStep::Result::promoted;
        step.plan = std::move(plan);
        result.steps.push_back(std::move(step));
        break;
      } catch (const TargetMoved& moved) {
        // Another sync moved the target since this plan read it: plan again
        // (it usually finds the work done). Approvals or holds may have
        // changed meanwhile too, so read the trail again.
        if (attempt == k_attempts) {
          stop.reason = AutoStop::Reason::refused;
          stop.message = moved.what();
          result.stop = std::move(stop);
          return result;
        }
        trail = read_audit(repo);
      } catch (const util::Refused& refused) {
        stop.reason = AutoStop::Reason::refused;
        stop.message = refused.what();
        result.stop = std::move(stop);
        return result;
      }
    }
  }
  return result;
}

} // namespace envflow::core
