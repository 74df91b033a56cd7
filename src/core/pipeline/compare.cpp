#include "core/pipeline/compare.h"

#include "core/pipeline/session.h"

namespace envflow::core::pipeline {

workspace::SemanticDiff compare(const Session& session, const std::string& from,
                                const std::string& to) {
  const policy::PipelineConfig* config = session.has_config() ? &session.config() : nullptr;
  const std::string from_commit =
      workspace::resolve_side(session.repo(), session.refs(), config, from);
  const std::string to_commit = workspace::resolve_side(session.repo(), session.refs(), config, to);
  return workspace::semantic_diff(session.repo(), session.cache(), from_commit, to_commit);
}

std::vector<workspace::FieldValues> field_values(const Session& session,
                                                 const workspace::SemanticDiff& diff,
                                                 const workspace::ItemChange& item) {
  return workspace::field_values(session.repo(), diff, item);
}

} // namespace envflow::core::pipeline
