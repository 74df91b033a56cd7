#pragma once

#include <string>
#include <vector>

#include "content/validator.h"

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

// The validation options the repository's pipeline config sets (file size limit).
content::ValidateOptions options_for(const git::Repository& repo);

} // namespace envflow::core
