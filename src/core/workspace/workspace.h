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

// Validation of a repository's content uses the cache `cache` names
// (nullptr: none, every file checked afresh): the caller's choice
// (repository_cache in core/workspace/cache.h), never a process-wide one.

// Validate the working tree of the repository containing `folder`, or only
// `paths` (relative to the current directory or absolute; each must lie
// inside the working tree — util::UsageError otherwise). `progress` is told
// how far the checks have got (content::ValidateOptions::progress). With a
// cache, a file whose stat data the index matches is known by the index's
// blob id.
content::ValidationReport validate_worktree(const std::string& folder,
                                            content::ResultCache* cache,
                                            const std::vector<std::string>& paths,
                                            content::Scope scope = content::Scope::promoted,
                                            content::Progress progress = {});

// Validate a commit's tree straight from the object database of the
// repository containing `folder` (bare repositories too). `paths` are
// relative to the repository root.
content::ValidationReport validate_revision(const std::string& folder,
                                            content::ResultCache* cache, const std::string& rev,
                                            const std::vector<std::string>& paths,
                                            content::Scope scope = content::Scope::promoted,
                                            content::Progress progress = {});

// Validate what is staged.
content::ValidationReport validate_index(const git::Repository& repo, content::ResultCache* cache);

// The validation options a policy sets for content of `scope`: the file size
// limit and the fingerprints of allowed secrets, with `cache` (nullptr:
// none). Every validation under a policy starts from these; nothing else
// turns a policy into options.
content::ValidateOptions options_for(const policy::PipelineConfig& config,
                                     content::ResultCache* cache,
                                     content::Scope scope = content::Scope::promoted);

// The repository's policy: its own, or in a clone the server's as the last
// fetch left it (never goes to the network). nullopt when there is none;
// util::Refused when it does not load.
std::optional<policy::PipelineConfig> read_policy(const git::Repository& repo);

// options_for read_policy(repo) (the defaults without one), with `cache`.
// With a cache, what the policy sets is remembered by its commit (the memo
// "policy-options-1"), so a warm run parses no policy.
content::ValidateOptions options_for(const git::Repository& repo, content::ResultCache* cache);

} // namespace envflow::core::workspace
