#pragma once

#include <string>
#include <vector>

#include "content/validator.h"
#include "core/config.h"

namespace envflow::git {
class Repository;
}

namespace envflow::core {

// Validate the working tree of `repo`, or only `paths` (relative to the
// current directory or absolute; each must lie inside the working tree —
// util::UsageError otherwise).
content::ValidationReport validate_worktree(const git::Repository& repo,
                                            const std::vector<std::string>& paths,
                                            content::Scope scope = content::Scope::promoted);

// Validate a commit's tree straight from the object database (bare
// repositories too). `paths` are relative to the repository root.
content::ValidationReport validate_revision(const git::Repository& repo, const std::string& rev,
                                            const std::vector<std::string>& paths,
                                            content::Scope scope = content::Scope::promoted);

// Validate what is staged.
content::ValidationReport validate_index(const git::Repository& repo);

// The validation options a policy sets (file size limit, ...) for content of `scope`.
content::ValidateOptions validation_options(const PipelineConfig& config, content::Scope scope);

// The validation options of the repository's policy: its own, or in a clone
// the server's as the last fetch left it (validation never fetches).
content::ValidateOptions options_for(const git::Repository& repo);

} // namespace envflow::core
