// describe(): the audit record of a change, made from the moves alone, so a
// record reads the same whether envflow wrote it locally or the server wrote
// it for a push (declared in core/pipeline/rules.h).
#include <algorithm>
#include <iterator>
#include <map>
#include <utility>
#include <vector>

#include "core/pipeline/checks.h"
#include "core/pipeline/rules.h"
#include "core/records/approvals.h"
#include "core/records/backport.h"
#include "core/records/hold.h"
#include "core/records/overrides.h"
#include "core/release/release.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/strings.h"
#include "util/time.h"

namespace envflow::core::pipeline {

namespace {

using ClassifiedMoves = std::vector<std::pair<model::ClassifiedRef, model::RefMove>>;

struct Sorted {
  ClassifiedMoves environments, tags, locals, approvals, holds, checks, hotfix_branches, others;
  const model::RefMove* live = nullptr;
  const model::RefMove* config = nullptr;
  const model::RefMove* backports = nullptr;
};

// Where sort_moves files a move of each kind: in a list of them, or as the
// one move of a ref there is one of. Any other kind goes to `others`.
constexpr std::pair<model::RefKind, ClassifiedMoves Sorted::*> k_move_lists[] = {
    {model::RefKind::environment, &Sorted::environments},
    {model::RefKind::release_tag, &Sorted::tags},
    {model::RefKind::local, &Sorted::locals},
    {model::RefKind::approval, &Sorted::approvals},
    {model::RefKind::hold, &Sorted::holds},
    {model::RefKind::check, &Sorted::checks},
    {model::RefKind::hotfix_branch, &Sorted::hotfix_branches}};
constexpr std::pair<model::RefKind, const model::RefMove* Sorted::*> k_single_moves[] = {
    {model::RefKind::live, &Sorted::live},
    {model::RefKind::config, &Sorted::config},
    {model::RefKind::backports, &Sorted::backports}};

Sorted sort_moves(const policy::PipelineConfig& config, const std::vector<model::RefMove>& moves) {
  Sorted s;
  for (const auto& move : moves) {
    if (move.old_id == move.new_id) {
      continue;
    }
    const model::ClassifiedRef c = model::classify_ref(config, move.ref);
    const auto* list = std::find_if(std::begin(k_move_lists), std::end(k_move_lists),
                                    [&](const auto& entry) { return entry.first == c.kind; });
    const auto* single = std::find_if(std::begin(k_single_moves), std::end(k_single_moves),
                                      [&](const auto& entry) { return entry.first == c.kind; });
    if (list != std::end(k_move_lists)) {
      (s.*(list->second)).emplace_back(c, move);
    } else if (single != std::end(k_single_moves)) {
      s.*(single->second) = &move;
    } else {
      s.others.emplace_back(c, move);
    }
  }
  // In pipeline order, whatever order the moves came in.
  std::stable_sort(s.environments.begin(), s.environments.end(),
                   [](const auto& a, const auto& b) { return a.first.env_index < b.first.env_index; });
  return s;
}

// The issues a backports move opens and closes.
struct IssueChanges {
  std::vector<records::BackportIssue> opened;
  std::vector<records::BackportIssue> closed;
};

std::optional<std::string> id_or_none(const std::string& id) {
  return model::is_zero(id) ? std::nullopt : std::optional<std::string>(id);
}

IssueChanges issue_changes(const model::Pipeline& pipeline, const model::RefMove& move) {
  const git::Repository& repo = pipeline.repo;
  IssueChanges changes;
  std::map<int, records::BackportIssue> before;
  try {
    for (auto& issue : records::read_backports_at(repo, pipeline.cache, id_or_none(move.old_id))) {
      before.emplace(issue.id, std::move(issue));
    }
    for (auto& issue : records::read_backports_at(repo, pipeline.cache, id_or_none(move.new_id))) {
      const auto it = before.find(issue.id);
      if (it == before.end()) {
        changes.opened.push_back(std::move(issue));
      } else if (it->second.is_open() && !issue.is_open()) {
        changes.closed.push_back(std::move(issue));
      }
    }
  } catch (const util::Error&) {
    // A malformed issue: the record says "back-port issues" and doctor names the file.
  }
  return changes;
}

std::string issue_names(const std::vector<records::BackportIssue>& issues) {
  std::vector<std::string> names;
  for (const auto& issue : issues) {
    names.push_back(std::to_string(issue.id) +
                    (issue.hotfix_tag.empty() ? "" : " (" + issue.hotfix_tag + ")"));
  }
  return util::join(names, ", ");
}

std::map<std::string, content::Value> overrides_at(const git::Repository& repo,
                                                   const std::string& env,
                                                   const std::string& commit) {
  if (model::is_zero(commit)) {
    return {};
  }
  const auto text = repo.read_path(commit, records::k_overrides_file);
  return text ? records::parse_overrides(*text,
                                         model::local_ref(env) + ":" + records::k_overrides_file)
              : std::map<std::string, content::Value>{};
}

// var-set "a=1, b=2" / var-unset "c" / local: what a local-data move changed.
void describe_local(const git::Repository& repo, const model::ClassifiedRef& c,
                    const model::RefMove& move, model::AuditRecord& record) {
  record.env = c.env;
  record.commit = model::is_zero(move.new_id) ? std::string() : move.new_id;
  std::vector<std::string> set;
  std::vector<std::string> unset;
  try {
    const auto before = overrides_at(repo, c.env, move.old_id);
    const auto after = overrides_at(repo, c.env, move.new_id);
    for (const auto& [name, value] : after) {
      const auto it = before.find(name);
      if (it == before.end() || !records::same_value(it->second, value)) {
        set.push_back(name + "=" + records::emit_value(value));
      }
    }
    for (const auto& [name, value] : before) {
      if (!after.contains(name)) {
        unset.push_back(name);
      }
    }
  } catch (const util::Error&) {
    // Malformed overrides are refused by the rulebook; a record still names the move.
  }
  if (!set.empty()) {
    record.op = "var-set";
    record.note = util::join(set, ", ");
    if (!unset.empty()) {
      record.note += "; unset " + util::join(unset, ", ");
    }
  } else if (!unset.empty()) {
    record.op = "var-unset";
    record.note = util::join(unset, ", ");
  } else {
    record.op = "local";
    record.note = "local data of " + c.env;
  }
}

} // namespace

model::AuditRecord describe(const model::Pipeline& before, const std::vector<model::RefMove>& moves,
                            const Actor& actor, const std::string& reason) {
  const policy::PipelineConfig& config = before.config;
  const git::Repository& repo = before.repo;
  const Sorted s = sort_moves(config, moves);
  model::AuditRecord record;
  record.actor = actor.name.empty() ? std::string("unknown") : config.person(actor.name);
  record.time = util::now();
  record.tool = std::string("envflow ") + ENVFLOW_VERSION;
  for (const auto& move : moves) {
    if (move.old_id != move.new_id) {
      record.moves.push_back(move);
    }
  }
  const IssueChanges issues = s.backports ? issue_changes(before, *s.backports) : IssueChanges{};
  const model::MovedRefs after_refs(before.refs, moves);
  const model::Pipeline after = before.through(after_refs);

  if (s.live != nullptr) {
    // publish, re-publish, rollback, hotfix: live moves.
    record.env = config.last().name;
    const auto to = release::release_by_tag_id(after, s.live->new_id);
    const auto from = model::is_zero(s.live->old_id)
                          ? std::nullopt
                          : release::release_by_tag_id(before, s.live->old_id);
    const std::string to_name = to ? to->tag : model::short_id(s.live->new_id);
    record.commit = to ? to->commit : std::string();
    const bool hotfix = std::any_of(s.environments.begin(), s.environments.end(),
                                    [&](const auto& e) { return e.first.env == config.last().name; });
    if (hotfix) {
      record.op = "hotfix";
      record.note = to_name;
      if (!issues.opened.empty()) {
        const auto& issue = issues.opened.front();
        if (!issue.hotfix.empty() && issue.hotfix != "push") {
          record.note += " from hotfix/" + issue.hotfix;
        }
        record.note += "; back-port issue " + issue_names(issues.opened) + " opened";
      }
    } else if (!s.tags.empty()) {
      record.op = "publish";
      record.note = to_name;
    } else if (from && to && release::is_rollback(repo, *from, *to)) {
      record.op = "rollback";
      record.note = "live " + from->tag + " -> " + to_name;
    } else {
      record.op = "publish";
      record.note = "re-published " + to_name;
    }
  } else if (!s.environments.empty()) {
    // A push may move the first environment and promote it at once: the
    // promotion is the operation, the push to the first environment a note.
    const bool first_too =
        s.environments.size() > 1 && s.environments.front().first.env_index == 0;
    const auto& [c, move] = s.environments[first_too ? 1 : 0];
    record.env = c.env;
    record.commit = model::is_zero(move.new_id) ? std::string() : move.new_id;
    const size_t index = static_cast<size_t>(c.env_index);
    if (index == 0) {
      if (!issues.closed.empty()) {
        record.op = "backport-apply";
        record.note = "back-port issue " + issue_names(issues.closed) + " merged into " + c.env;
      } else {
        record.op = "push";
        record.note = "push to " + c.env;
      }
    } else {
      const policy::Environment& env = config.environments[index];
      const policy::Environment& previous = config.environments[index - 1];
      const auto previous_head = after.head(previous);
      if (!model::is_zero(move.new_id) && previous_head &&
          repo.is_ancestor(move.new_id, *previous_head)) {
        record.op = "sync";
        std::vector<std::string> steps{previous.name};
        for (const auto& [other, m] : s.environments) {
          if (other.env_index > 0) {
            steps.push_back(other.env);
          }
        }
        record.note = util::join(steps, " -> ");
        record.approvals =
            records::without(records::approvals_for(after, env, move.new_id), record.actor);
        record.env = s.environments.back().first.env;
        record.commit = s.environments.back().second.new_id;
      } else {
        record.op = "hotfix";
        record.note = "hotfix on " + c.env;
        if (!issues.opened.empty()) {
          record.note += "; back-port issue " + issue_names(issues.opened) + " opened";
        }
      }
    }
    if (first_too) {
      record.note = "push to " + s.environments.front().first.env + "; " + record.note;
    }
  } else if (!s.locals.empty()) {
    describe_local(repo, s.locals.front().first, s.locals.front().second, record);
  } else if (!s.approvals.empty()) {
    const auto& [c, move] = s.approvals.front();
    record.env = c.env;
    record.commit = c.commit;
    if (model::is_zero(move.new_id)) {
      record.op = "unapprove";
      record.note =
          "withdrew " + config.person(c.name) + "'s approval of " + model::short_id(c.commit);
    } else {
      record.op = "approve";
      const int index = config.index_of(c.env);
      record.note = "promote " + model::short_id(c.commit) +
                    (index > 0 ? " from " + config.environments[static_cast<size_t>(index) - 1].name
                               : std::string()) +
                    " into " + c.env;
    }
  } else if (!s.holds.empty()) {
    const auto& [c, move] = s.holds.front();
    record.env = c.env;
    if (model::is_zero(move.new_id)) {
      record.op = "hold-release";
      record.commit = move.old_id;
      if (const auto hold = records::read_hold(repo, move.old_id)) {
        record.note = "released " + hold->kind_name() + " hold set by " + hold->actor + " at " +
                      util::iso_time(hold->time);
      } else {
        record.note = "released a hold";
      }
    } else {
      record.op = "hold";
      if (const auto hold = records::read_hold(repo, move.new_id)) {
        record.note = hold->reason;
      }
    }
  } else if (!s.checks.empty()) {
    const auto& [c, move] = s.checks.front();
    record.env = c.env;
    record.commit = c.commit;
    std::vector<std::string> parts;
    bool removed = false;
    for (const auto& [check, check_move] : s.checks) {
      if (model::is_zero(check_move.new_id)) {
        removed = true;
        parts.push_back(check.name);
      } else if (const auto result = read_check_result(repo, check_move.new_id)) {
        parts.push_back(check.name + " " + result->outcome());
      } else {
        parts.push_back(check.name);
      }
    }
    record.op = removed ? "check-clear" : "check";
    record.note = (removed ? "removed results of " : "") + util::join(parts, ", ") + " on " +
                  model::short_id(c.commit) + " for " + c.env;
  } else if (s.config != nullptr) {
    record.op = "config";
    record.note = "pipeline config";
  } else if (s.backports != nullptr) {
    record.env = config.first().name;
    if (!issues.opened.empty()) {
      record.op = "backport-open";
      record.env = config.last().name;
      record.note = "back-port issue " + issue_names(issues.opened) + " opened";
    } else if (!issues.closed.empty()) {
      record.op = "backport-close";
      record.commit = issues.closed.front().closed_in;
      record.note = "closed back-port issue " + issue_names(issues.closed) +
                    ": the hotfix is reachable from " + config.first().name;
    } else {
      record.op = "backports";
      record.note = "back-port issues";
    }
  } else if (!s.hotfix_branches.empty()) {
    const auto& [c, move] = s.hotfix_branches.front();
    record.op = "hotfix-start";
    record.env = config.last().name;
    record.commit = model::is_zero(move.new_id) ? std::string() : move.new_id;
    record.note = "hotfix/" + c.name + " at " + model::short_id(move.new_id);
  } else {
    record.op = "push";
  }
  if (!util::trim(reason).empty()) {
    record.note += (record.note.empty() ? "" : " (") + std::string(util::trim(reason)) +
                   (record.note.empty() ? "" : ")");
  }
  return record;
}

} // namespace envflow::core::pipeline
