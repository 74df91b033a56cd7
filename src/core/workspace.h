#pragma once

#include <string>
#include <vector>

#include "content/validator.h"

namespace envflow::git {
class Repository;
}

namespace envflow::core {

struct PipelineConfig;

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

// The validation options a policy sets: the file size limit and the
// fingerprints of allowed secrets. Every validation under a policy starts
// from these.
content::ValidateOptions options_for(const PipelineConfig& config);

// options_for the repository's pipeline config (the defaults without one).
content::ValidateOptions options_for(const git::Repository& repo);

} // namespace envflow::core
