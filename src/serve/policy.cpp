#include "serve/policy.h"

#include <nlohmann/json.hpp>

#include "core/rules.h"

namespace envflow::serve {

bool may(const core::PipelineConfig& config, const std::string& actor, Right right,
         const std::string& env) {
  // The rulebook's own membership rules (core::may), so a button shows
  // exactly when the rule behind its command would let this person act.
  switch (right) {
  case Right::promote:
    return core::may(config, actor, core::Right::promote, env);
  case Right::approve:
    return core::may(config, actor, core::Right::approve, env);
  case Right::hold:
    return core::may(config, actor, core::Right::hold, env);
  case Right::local:
    return core::may(config, actor, core::Right::local, env);
  case Right::publish:
  case Right::rollback:
    return core::may(config, actor, core::Right::publish);
  case Right::backport:
    return !config.environments.empty() &&
           core::may(config, actor, core::Right::write, config.first().name);
  }
  return false;
}

nlohmann::json rights_json(const core::PipelineConfig& config, const std::string& actor) {
  nlohmann::json envs = nlohmann::json::object();
  for (const auto& e : config.environments) {
    envs[e.name] = {{"promote", may(config, actor, Right::promote, e.name)},
                    {"approve", may(config, actor, Right::approve, e.name)},
                    {"hold", may(config, actor, Right::hold, e.name)},
                    {"local", may(config, actor, Right::local, e.name)}};
  }
  return {{"publish", may(config, actor, Right::publish)},
          {"rollback", may(config, actor, Right::rollback)},
          {"backport", may(config, actor, Right::backport)},
          {"environments", envs}};
}

} // namespace envflow::serve
