#pragma once

#include <optional>
#include <string>
#include <vector>

#include "content/validator.h"
#include "core/policy/config.h"

namespace envflow::git {
class Repository;
}

namespace envflow::core::workspace {

// Validate the working tree of `repo`, or only `paths` (relative to the
// current directory or absolute; each must lie inside the working tree —
// util::UsageError otherwise). `progress` is told how far the checks have
// got (content::ValidateOptions::progress).
content::ValidationReport validate_worktree(const git::Repository& repo,
                                            const std::vector<std::string>& paths,
                                            content::Scope scope = content::Scope::promoted,
                                            content::Progress progress = {});

// Validate a commit's tree straight from the object database (bare
// repositories too). `paths` are relative to the repository root.
content::ValidationReport validate_revision(const git::Repository& repo, const std::string& rev,
                                            const std::vector<std::string>& paths,
                                            content::Scope scope = content::Scope::promoted,
                                            content::Progress progress = {});

// Validate what is staged.
content::ValidationReport validate_index(const git::Repository& repo);

// The validation options a policy sets for content of `scope`: the file size
// limit and the fingerprints of allowed secrets. Every validation under a
// policy starts from these; nothing else turns a policy into options.
content::ValidateOptions options_for(const policy::PipelineConfig& config,
                                     content::Scope scope = content::Scope::promoted);

// The repository's policy: its own, or in a clone the server's as the last
// fetch left it (never goes to the network). nullopt when there is none;
// util::Refused when it does not load.
std::optional<policy::PipelineConfig> read_policy(const git::Repository& repo);

// options_for read_policy(repo) (the defaults without one).
content::ValidateOptions options_for(const git::Repository& repo);

} // namespace envflow::core::workspace
