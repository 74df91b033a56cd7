#pragma once

#include <string>
#include <vector>

#include "content/validator.h"

namespace envflow::git {
class Repository;
}

namespace envflow::core::admin {

// Install the client-side hooks (pre-commit) into the repository's hooks
// folder (core.hooksPath honoured). Idempotent; a foreign hook already there
// is kept as `<hook>.envflow-chained` and still runs. Returns the paths written.
std::vector<std::string> install_client_hooks(const git::Repository& repo);
// The same in the repository containing `folder`.
std::vector<std::string> install_client_hooks(const std::string& folder);

struct ServerHooksResult {
  std::vector<std::string> hooks;    // paths written
  std::vector<std::string> settings; // git config set in the repository, "key value"
};

// Install the server-side hooks (pre-receive, post-receive) into the
// repository people push to, usually bare. Same rules as the client hooks:
// idempotent, a foreign hook is kept as `<hook>.envflow-chained` and runs
// after envflow's with the same input. Also turns on git's own checks of
// every object received (receive.fsckObjects, with the tree-name checks
// hasDot, hasDotdot, hasDotgit and fullPathname as errors): a tree entry
// named `.`, `..`, `.git` (any case, any spelling Windows or macOS reads as
// it) or holding a '/' is refused before the hooks run. The repository is
// the one containing `folder`.
ServerHooksResult install_server_hooks(const std::string& folder);

// What `envflow hook pre-commit` decides in the repository containing
// `folder`: throws util::Refused when the branch is a protected environment
// other than the first; otherwise returns the validation of what is staged
// (the caller refuses when not ok), made with `cache` (nullptr: none).
content::ValidationReport run_pre_commit(const std::string& folder, content::ResultCache* cache);

} // namespace envflow::core::admin
