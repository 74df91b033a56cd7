#include "serve/policy.h"

#include <nlohmann/json.hpp>

#include "core/hold.h"

namespace envflow::serve {

bool may(const core::PipelineConfig& config, const std::string& actor, Right right,
         const std::string& env) {
  if (actor.empty() || config.environments.empty()) {
    return false;
  }
  switch (right) {
  case Right::publish:
  case Right::rollback:
    return config.member(actor, config.publishers);
  case Right::backport:
    return config.member(actor, config.first().write);
  default:
    break;
  }
  const core::Environment* e = config.find(env);
  if (e == nullptr) {
    return false;
  }
  switch (right) {
  case Right::promote:
    return config.index_of(env) > 0 && config.member(actor, e->promote);
  case Right::approve:
    return config.index_of(env) > 0 && config.member(actor, e->approvers);
  case Right::hold:
    return config.index_of(env) > 0 && core::may_hold(config, *e, actor);
  case Right::local:
    return config.index_of(env) > 0 && config.member(actor, e->local);
  default:
    return false;
  }
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
