#include "core/pipeline/status.h"

#include <nlohmann/json.hpp>

#include "core/model/audit.h"
#include "core/pipeline/checks.h"
#include "core/pipeline/sync.h"
#include "core/records/approvals.h"
#include "core/records/backport.h"
#include "core/release/release.h"
#include "core/workspace/diff.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::core::pipeline {

namespace {

} // namespace

nlohmann::json PipelineStatus::to_json() const {
  nlohmann::json envs = nlohmann::json::array();
  for (const auto& e : environments) {
    nlohmann::json row = {{"name", e.name},
                          {"branch", e.branch},
                          {"head", e.head.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.head)},
                          {"summary", e.head_summary},
                          {"auto", e.auto_promote},
                          {"hold", e.hold ? e.hold->to_json() : nlohmann::json(nullptr)},
                          {"problems", e.problems},
                          {"notes", e.notes}};
    if (!e.next.empty()) {
      row["next"] = e.next;
      row["waiting"] = {{"commits", e.waiting_commits},
                        {"added", e.waiting_added},
                        {"removed", e.waiting_removed},
                        {"changed", e.waiting_changed},
                        {"breaking", e.waiting_breaking}};
      row["approvals"] = {{"required", e.approvals_required}, {"have", e.approvals}};
      nlohmann::json checks = nlohmann::json::array();
      for (const auto& [name, state] : e.checks) {
        checks.push_back({{"name", name}, {"state", state}});
      }
      row["checks"] = checks;
    } else {
      row["next"] = nullptr;
    }
    envs.push_back(row);
  }
  return {{"environments", envs},
          {"live", live ? nlohmann::json(*live) : nlohmann::json(nullptr)},
          {"live_commit", live_commit ? nlohmann::json(*live_commit) : nlohmann::json(nullptr)},
          {"open_backports", open_backports}};
}

PipelineStatus pipeline_status(const model::Pipeline& pipeline) {
  const git::Repository& repo = pipeline.repo;
  const policy::PipelineConfig& config = pipeline.config;
  PipelineStatus status;
  const std::vector<records::BackportIssue> open = records::open_backports(pipeline);
  status.open_backports = static_cast<int>(open.size());
  for (const auto& env : config.environments) {
    EnvironmentStatus row;
    row.name = env.name;
    row.branch = env.branch;
    row.auto_promote = env.auto_promote;
    row.hold = records::hold_on(pipeline, env.name);
    if (auto head = pipeline.head(env)) {
      row.head = *head;
      row.head_summary = repo.commit(*head).summary;
    } else {
      row.problems.push_back("branch " + env.branch + " is missing");
    }
    status.environments.push_back(std::move(row));
  }
  for (size_t i = 0; i + 1 < status.environments.size(); ++i) {
    EnvironmentStatus& here = status.environments[i];
    const EnvironmentStatus& next = status.environments[i + 1];
    here.next = next.name;
    const policy::Environment& next_env = config.environments[i + 1];
    here.approvals_required = next_env.approvals;
    if (here.head.empty() || next.head.empty()) {
      continue;
    }
    here.waiting_commits = static_cast<int>(repo.commits_between(next.head, here.head).size());
    if (here.waiting_commits > 0) {
      const workspace::SemanticDiff diff =
          workspace::semantic_diff(repo, pipeline.cache, next.head, here.head);
      for (const auto& item : diff.items) {
        switch (item.change) {
        case workspace::ItemChange::Change::added:
          ++here.waiting_added;
          break;
        case workspace::ItemChange::Change::removed:
          ++here.waiting_removed;
          break;
        case workspace::ItemChange::Change::changed:
          ++here.waiting_changed;
          break;
        }
        here.waiting_breaking = here.waiting_breaking || item.breaking;
      }
      here.approvals =
          static_cast<int>(records::approvals_for(pipeline, next_env, here.head).size());
      if (!next_env.checks.empty()) {
        try {
          const std::string digest =
              bundle_digest(candidate_bundle(pipeline, next_env, here.head));
          for (const auto& state : check_states(pipeline, next_env, here.head, digest)) {
            here.checks.emplace_back(state.name, state.state_name());
          }
        } catch (const util::Error& e) {
          here.notes.push_back(std::string("checks cannot run: ") + e.what());
        }
      }
    }
    if (!repo.is_ancestor(next.head, here.head)) {
      // Invariant 1's one exception: hotfix commits on the last environment
      // whose back-port is still open.
      bool covered = i + 2 == status.environments.size();
      if (covered) {
        for (const auto& id : repo.commits_between(here.head, next.head)) {
          const bool hotfix =
              std::any_of(open.begin(), open.end(), [&](const records::BackportIssue& b) {
                return std::find(b.commits.begin(), b.commits.end(), id) != b.commits.end();
              });
          covered = covered && hotfix;
        }
      }
      if (covered) {
        status.environments[i + 1].notes.push_back(
            "hotfix ahead of " + here.name + ": back-port open (envflow backport list); " +
            here.name + " promotes again once it is back in " + config.first().name);
      } else {
        status.environments[i + 1].problems.push_back(
            "not an ancestor of " + here.name + ": " + next.name + " has commits " + here.name +
            " lacks");
      }
    }
  }
  if (const auto live = pipeline.live()) {
    if (const auto release = release::release_by_tag_id(pipeline, *live)) {
      status.live = release->tag;
      status.live_commit = release->commit;
    } else {
      status.live = model::short_id(*live);
      status.live_commit = repo.resolve_commit(*live);
    }
  }
  return status;
}

} // namespace envflow::core::pipeline
