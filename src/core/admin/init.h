#pragma once

#include <string>
#include <vector>

namespace envflow::content {
class ResultCache;
}

namespace envflow::core::admin {

inline const std::vector<std::string> k_default_envs{"dev", "test", "uat", "staging",
                                                     "production"};

struct InitOptions {
  std::string dir;                    // where the repository is (or goes)
  std::vector<std::string> envs = k_default_envs;
  std::string actor;                  // "" = resolve from the environment
  bool bare = false;
  std::string ci;                     // "github" or "gitlab": write its CI files; "" = none
  content::ResultCache* cache = nullptr; // validating adopted content: the run's cache, if any
};

struct InitResult {
  std::string root;                   // working tree (or git dir when bare)
  std::string commit;                 // commit every environment branch points at
  bool adopted = false;               // existing content kept instead of the starter
  std::vector<std::string> hooks;     // hook files installed
  std::vector<std::string> ci_files;  // CI files committed (paths in the repository)
  std::vector<std::string> warnings;  // what did not stop init but needs a look
  std::string actor;
};

// Create (or adopt) an envflow repository: starter workspace (unless one is
// there), every environment branch, refs/envflow/config, one audit record,
// the pre-commit hook, and with `ci` that CI system's jobs (core/admin/ci.h),
// committed on the first environment's branch (on top of adopted content).
// Refuses to clobber an envflow repository, existing
// environment branches, uncommitted changes or invalid adopted content;
// a refusal changes nothing.
InitResult init_repository(const InitOptions& options);

// Checks environment names (2 to 8, lowercase, unique); throws util::UsageError.
void check_environment_names(const std::vector<std::string>& envs);

} // namespace envflow::core::admin
