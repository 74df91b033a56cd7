#include "core/records/approvals.h"

#include <algorithm>

#include "core/model/refs.h"
#include "util/strings.h"

namespace envflow::core::records {

namespace {

std::vector<std::string> approvers_of(const model::Pipeline& pipeline, const std::string& env,
                                      const std::string& commit,
                                      const std::vector<std::string>& groups) {
  std::vector<std::string> people;
  for (const auto& ref : pipeline.refs.names(model::approvals_prefix(env, commit))) {
    const model::ClassifiedRef c = model::classify_ref(pipeline.config, ref);
    if (c.kind != model::RefKind::approval || c.commit != commit ||
        pipeline.refs.target(ref) != commit) {
      continue;
    }
    const std::string who = pipeline.config.person(c.name);
    if (pipeline.config.member(who, groups) &&
        std::find(people.begin(), people.end(), who) == people.end()) {
      people.push_back(who);
    }
  }
  std::sort(people.begin(), people.end());
  return people;
}

} // namespace

std::vector<std::string> approvals_for(const model::Pipeline& pipeline,
                                       const policy::Environment& env, const std::string& commit) {
  return approvers_of(pipeline, env.name, commit, env.approvers);
}

std::vector<std::string> hotfix_approvals_for(const model::Pipeline& pipeline,
                                              const std::string& commit) {
  return approvers_of(pipeline, pipeline.config.last().name, commit,
                      pipeline.config.hotfix_approvers);
}

std::vector<std::string> without(std::vector<std::string> approvals, const std::string& person) {
  approvals.erase(std::remove(approvals.begin(), approvals.end(), person), approvals.end());
  return approvals;
}

std::string approvals_text(size_t have, int needed) {
  if (needed <= 0) {
    return util::plural(have, "approval") + ", none needed";
  }
  return util::plural(have, "approval") + " of " + std::to_string(needed) + " needed";
}

} // namespace envflow::core::records
