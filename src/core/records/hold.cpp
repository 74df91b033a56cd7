#include "core/records/hold.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/pipeline/rules.h"
#include "core/pipeline/session.h"
#include "core/records/overrides.h"
#include "util/error.h"
#include "util/strings.h"
#include "util/time.h"

namespace envflow::core::records {

namespace {

std::string single_line(const std::string& text) {
  std::string out;
  for (const char c : text) {
    out += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return out;
}

const policy::Environment& holdable(const policy::PipelineConfig& config, const std::string& name) {
  const policy::Environment& env = require_environment(config, name);
  if (config.index_of(env.name) == 0) {
    throw util::UsageError(env.name + " is the first environment: nothing is promoted into it, so "
                                      "there is nothing to hold");
  }
  return env;
}

void require_may_hold(const policy::PipelineConfig& config, const policy::Environment& env,
                      const std::string& actor, const std::string& what) {
  if (!may(config, actor, pipeline::Right::hold, env.name)) {
    std::vector<std::string> groups = config.publishers;
    groups.insert(groups.end(), env.promote.begin(), env.promote.end());
    throw util::Forbidden(actor + " may not " + what + " (publishers and " + env.name +
                          "'s promote groups may: " + policy::PipelineConfig::groups_text(groups) +
                          ")");
  }
}

} // namespace

std::string Hold::kind_name() const { return kind == Kind::rollback ? "rollback" : "manual"; }

std::string Hold::describe() const {
  std::string text = (kind == Kind::rollback ? "rollback by " : "held by ") + actor + " at " +
                     util::iso_time(time);
  if (!reason.empty()) {
    text += ": " + reason;
  }
  return text;
}

nlohmann::json Hold::to_json() const {
  return {{"env", env},
          {"kind", kind_name()},
          {"actor", actor},
          {"time", util::iso_time(time)},
          {"reason", reason},
          {"commit", commit.empty() ? nlohmann::json(nullptr) : nlohmann::json(commit)},
          {"id", id}};
}

std::string Hold::to_message() const {
  std::string text = "envflow hold " + single_line(env) + "\n\n";
  text += "env: " + single_line(env) + "\n";
  text += "kind: " + kind_name() + "\n";
  text += "actor: " + single_line(actor) + "\n";
  text += "time: " + util::iso_time(time) + "\n";
  text += "reason: " + single_line(reason) + "\n";
  if (!commit.empty()) {
    text += "commit: " + single_line(commit) + "\n";
  }
  return text;
}

std::optional<Hold> Hold::parse(const std::string& message) {
  if (message.size() > k_max_hold_message) {
    return std::nullopt;
  }
  const auto lines = util::split(message, '\n');
  if (lines.size() < 3 || !util::starts_with(lines[0], "envflow hold ") || !lines[1].empty()) {
    return std::nullopt;
  }
  Hold hold;
  bool has_kind = false;
  for (size_t i = 2; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.empty() && i + 1 == lines.size()) {
      break;
    }
    const auto field = util::split_field(line);
    if (!field) {
      return std::nullopt;
    }
    const auto& [key, value] = *field;
    if (key == "env") {
      hold.env = value;
    } else if (key == "kind") {
      has_kind = value == "rollback" || value == "manual";
      hold.kind = value == "rollback" ? Kind::rollback : Kind::manual;
    } else if (key == "actor") {
      hold.actor = value;
    } else if (key == "time") {
      hold.time = util::parse_iso_time(value);
    } else if (key == "reason") {
      hold.reason = value;
    } else if (key == "commit") {
      hold.commit = value;
    } else {
      return std::nullopt;
    }
  }
  if (!has_kind || hold.env.empty() || hold.actor.empty() || hold.time == 0 ||
      hold.to_message() != message) {
    return std::nullopt;
  }
  return hold;
}

std::optional<Hold> read_hold(const git::Repository& repo, const std::string& id) {
  git::CommitInfo info;
  try {
    info = repo.commit(id);
  } catch (const util::Error&) {
    return std::nullopt;
  }
  if (!info.parents.empty() || info.tree != git::k_empty_tree_id) {
    return std::nullopt;
  }
  auto hold = Hold::parse(info.message);
  if (hold) {
    hold->id = id;
  }
  return hold;
}

std::vector<Hold> holds_on(const model::Pipeline& pipeline, const std::string& env) {
  std::vector<Hold> holds;
  for (const auto& ref : pipeline.refs.names(model::holds_prefix(env))) {
    const auto id = pipeline.refs.target(ref);
    if (!id || ref != model::hold_ref(env, *id)) {
      continue; // not a hold envflow wrote; doctor names it
    }
    if (auto hold = read_hold(pipeline.repo, *id); hold && hold->env == env) {
      holds.push_back(std::move(*hold));
    }
  }
  std::sort(holds.begin(), holds.end(), [](const Hold& a, const Hold& b) {
    return a.time != b.time ? a.time < b.time : a.id < b.id;
  });
  return holds;
}

std::optional<Hold> hold_on(const model::Pipeline& pipeline, const std::string& env) {
  auto holds = holds_on(pipeline, env);
  if (holds.empty()) {
    return std::nullopt;
  }
  return std::move(holds.back());
}

std::vector<Hold> holds_in_force(const model::Pipeline& pipeline) {
  std::vector<Hold> result;
  for (const auto& env : pipeline.config.environments) {
    if (auto hold = hold_on(pipeline, env.name)) {
      result.push_back(std::move(*hold));
    }
  }
  return result;
}

git::RefUpdate stage_hold(git::Repository& repo, Hold& hold) {
  const std::string actor = hold.actor;
  const git::Person person{actor, actor.find('@') != std::string::npos ? actor
                                                                        : "envflow@localhost"};
  hold.id = repo.write_commit(std::string(git::k_empty_tree_id), {}, hold.to_message(), person,
                              hold.time);
  return git::RefUpdate{model::hold_ref(hold.env, hold.id), std::nullopt, hold.id};
}

HoldChange set_hold(pipeline::Session& session, const std::string& env, const std::string& reason) {
  const policy::PipelineConfig& config = session.config();
  const policy::Environment& target = holdable(config, env);
  const std::string why(util::trim(reason));
  if (why.empty()) {
    throw util::UsageError("a hold needs a reason: envflow hold set " + target.name +
                           " --reason \"why\"");
  }
  require_may_hold(config, target, session.actor(), "hold " + target.name);
  HoldChange change;
  change.env = target.name;
  change.hold = hold_on(session.pipeline(), target.name);
  if (change.hold) {
    return change;
  }
  Hold hold;
  hold.env = target.name;
  hold.kind = Hold::Kind::manual;
  hold.actor = session.actor();
  hold.time = util::now();
  hold.reason = why;
  pipeline::Operation operation;
  operation.updates.push_back(stage_hold(session.repo(), hold));
  session.apply(operation);
  change.changed = true;
  change.hold = hold;
  return change;
}

HoldChange release_hold(pipeline::Session& session, const std::string& env,
                        const std::string& reason) {
  const policy::PipelineConfig& config = session.config();
  const policy::Environment& target = holdable(config, env);
  require_may_hold(config, target, session.actor(), "release the hold on " + target.name);
  HoldChange change;
  change.env = target.name;
  change.hold = hold_on(session.pipeline(), target.name);
  if (!change.hold) {
    return change;
  }
  pipeline::Operation operation;
  operation.updates.push_back(
      git::RefUpdate{model::hold_ref(target.name, change.hold->id), change.hold->id, std::nullopt});
  operation.reason = std::string(util::trim(reason));
  session.apply(operation);
  change.changed = true;
  return change;
}

} // namespace envflow::core::records
