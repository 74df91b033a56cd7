#include "serve/policy.h"

#include <nlohmann/json.hpp>

#include "core/pipeline/rules.h"

namespace envflow::serve {

bool may(const core::policy::PipelineConfig& config, const std::string& actor, Right right,
         const std::string& env) {
  // The rulebook's own membership rules (core::pipeline::may), so a button shows
  // exactly when the rule behind its command would let this person act.
  switch (right) {
  case Right::promote:
    return core::pipeline::may(config, actor, core::pipeline::Right::promote, env);
  case Right::approve:
    return core::pipeline::may(config, actor, core::pipeline::Right::approve, env);
  case Right::hold:
    return core::pipeline::may(config, actor, core::pipeline::Right::hold, env);
  case Right::local:
    return core::pipeline::may(config, actor, core::pipeline::Right::local, env);
  case Right::publish:
  case Right::rollback:
    return core::pipeline::may(config, actor, core::pipeline::Right::publish);
  case Right::backport:
    return !config.environments.empty() &&
           core::pipeline::may(config, actor, core::pipeline::Right::write, config.first().name);
  }
  return false;
}

nlohmann::json rights_json(const core::policy::PipelineConfig& config, const std::string& actor) {
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
