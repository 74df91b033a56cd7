#pragma once

#include <string>
#include <vector>

#include "core/workspace/diff.h"
#include "core/workspace/diff_values.h"

// `envflow diff` through a session: what environments hold is read where the
// session reads it (in a clone, the server's view).
namespace envflow::core::pipeline {

class Session;

// The semantic diff from side `from` to side `to`, each an environment name
// (its branch as the session reads it) or any revision
// (workspace::resolve_side; util::UsageError when neither fits).
workspace::SemanticDiff compare(const Session& session, const std::string& from,
                                const std::string& to);

// workspace::field_values of `item`, a changed item of `diff`, read from the
// session's repository.
std::vector<workspace::FieldValues> field_values(const Session& session,
                                                 const workspace::SemanticDiff& diff,
                                                 const workspace::ItemChange& item);

} // namespace envflow::core::pipeline
