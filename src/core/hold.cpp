#include "core/hold.h"

#include <ctime>
#include <map>

#include <nlohmann/json.hpp>

#include "git/repo.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::core {

namespace {

// Holds are computed for one environment, or for all of them (`env` empty),
// in a single pass over the trail. Every setting record stays in force until
// a release names it (a release naming none, as one written by hand might,
// clears them all); the newest in force is the environment's hold. So a
// release racing a newer rollback never clears the newer hold, and releasing
// a rollback's hold does not silently drop an older manual one (a freeze):
// that one is in force again.
std::map<std::string, Hold> scan(const std::vector<AuditRecord>& trail, const std::string& env) {
  std::map<std::string, std::vector<Hold>> in_force;
  for (const auto& record : trail) {
    if (record.env.empty() || (!env.empty() && record.env != env)) {
      continue;
    }
    if (record.op == k_op_rollback || record.op == k_op_hold) {
      Hold hold;
      hold.env = record.env;
      hold.kind = record.op == k_op_rollback ? Hold::Kind::rollback : Hold::Kind::manual;
      hold.actor = record.actor;
      hold.time = record.time;
      hold.reason = record.note;
      hold.commit = hold.kind == Hold::Kind::rollback ? record.commit : std::string();
      hold.record = record.id;
      in_force[record.env].push_back(std::move(hold));
    } else if (record.op == k_op_hold_release) {
      auto& holds = in_force[record.env];
      if (record.commit.empty()) {
        holds.clear();
      } else {
        std::erase_if(holds, [&](const Hold& h) { return h.record == record.commit; });
      }
    }
  }
  std::map<std::string, Hold> holds;
  for (auto& [name, list] : in_force) {
    if (!list.empty()) {
      holds.emplace(name, std::move(list.back()));
    }
  }
  return holds;
}

const Environment& holdable(const PipelineConfig& config, const std::string& name) {
  const Environment* env = config.find(name);
  if (env == nullptr) {
    std::vector<std::string> names;
    for (const auto& e : config.environments) {
      names.push_back(e.name);
    }
    throw util::UsageError("unknown environment '" + name + "' (environments: " +
                           util::join(names, ", ") + ")");
  }
  if (config.index_of(name) == 0) {
    throw util::UsageError(name + " is the first environment: nothing is promoted into it, so "
                                  "there is nothing to hold");
  }
  return *env;
}

void require_may_hold(const PipelineConfig& config, const Environment& env,
                      const std::string& actor, const std::string& what) {
  if (!may_hold(config, env, actor)) {
    std::vector<std::string> groups = config.publishers;
    for (const auto& g : env.promote) {
      groups.push_back(g);
    }
    throw util::Refused(actor + " may not " + what + " (publishers and " + env.name +
                        "'s promote groups may: " +
                        (groups.empty() ? std::string("(none)") : util::join(groups, ", ")) +
                        ")");
  }
}

} // namespace

std::string hold_time_text(std::int64_t seconds) {
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string Hold::kind_name() const { return kind == Kind::rollback ? "rollback" : "manual"; }

std::string Hold::describe() const {
  std::string text = (kind == Kind::rollback ? "rollback by " : "held by ") + actor + " at " +
                     hold_time_text(time);
  if (!reason.empty()) {
    text += ": " + reason;
  }
  return text;
}

nlohmann::json Hold::to_json() const {
  return {{"env", env},
          {"kind", kind_name()},
          {"actor", actor},
          {"time", hold_time_text(time)},
          {"reason", reason},
          {"commit", commit.empty() ? nlohmann::json(nullptr) : nlohmann::json(commit)},
          {"record", record}};
}

std::vector<Hold> holds_in_force(const std::vector<AuditRecord>& trail,
                                 const PipelineConfig& config) {
  std::map<std::string, Hold> holds = scan(trail, "");
  std::vector<Hold> result;
  for (const auto& env : config.environments) {
    if (auto it = holds.find(env.name); it != holds.end()) {
      result.push_back(std::move(it->second));
    }
  }
  return result;
}

std::optional<Hold> hold_on(const std::vector<AuditRecord>& trail, const std::string& env) {
  std::map<std::string, Hold> holds = scan(trail, env);
  if (auto it = holds.find(env); it != holds.end()) {
    return std::move(it->second);
  }
  return std::nullopt;
}

bool may_hold(const PipelineConfig& config, const Environment& env, const std::string& actor) {
  return config.member(actor, config.publishers) || config.member(actor, env.promote);
}

HoldChange set_hold(git::Repository& repo, const PipelineConfig& config, const std::string& env,
                    const std::string& reason, const std::string& actor) {
  const Environment& target = holdable(config, env);
  const std::string why(util::trim(reason));
  if (why.empty()) {
    throw util::UsageError("a hold needs a reason: envflow hold set " + target.name +
                           " --reason \"why\"");
  }
  require_may_hold(config, target, actor, "hold " + target.name);
  HoldChange change;
  change.env = target.name;
  change.hold = hold_on(read_audit(repo), target.name);
  if (change.hold) {
    return change;
  }
  AuditRecord record;
  record.op = k_op_hold;
  record.env = target.name;
  record.actor = actor;
  record.note = why;
  commit_with_audit(repo, {}, record);
  change.changed = true;
  // Read back, so the caller sees the record id and time as stored.
  change.hold = hold_on(read_audit(repo), target.name);
  return change;
}

HoldChange release_hold(git::Repository& repo, const PipelineConfig& config,
                        const std::string& env, const std::string& reason,
                        const std::string& actor) {
  const Environment& target = holdable(config, env);
  require_may_hold(config, target, actor, "release the hold on " + target.name);
  HoldChange change;
  change.env = target.name;
  change.hold = hold_on(read_audit(repo), target.name);
  if (!change.hold) {
    return change;
  }
  AuditRecord record;
  record.op = k_op_hold_release;
  record.env = target.name;
  record.actor = actor;
  record.commit = change.hold->record;
  record.note = "released " + change.hold->kind_name() + " hold set by " + change.hold->actor +
                " at " + hold_time_text(change.hold->time);
  const std::string why(util::trim(reason));
  if (!why.empty()) {
    record.note += ": " + why;
  }
  commit_with_audit(repo, {}, record);
  change.changed = true;
  return change;
}

} // namespace envflow::core
