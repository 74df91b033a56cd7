#pragma once

#include <string>
#include <vector>

namespace envflow::core::admin {

// The fetch refspec setup adds: the server's envflow refs into this clone's
// tracking namespace, forced (they move backwards on a rollback, a released
// hold, a withdrawn approval), so `git fetch` and `git pull` always work and
// never touch refs this clone writes itself.
std::string envflow_refspec(const std::string& remote);

// Refspecs earlier versions added (mapping refs/envflow/* onto itself); setup removes them.
inline constexpr const char* k_old_envflow_refspec = "refs/envflow/*:refs/envflow/*";
inline constexpr const char* k_old_forced_envflow_refspec = "+refs/envflow/*:refs/envflow/*";

struct SetupResult {
  std::string remote;
  bool refspec_added = false;
  std::vector<std::string> refspecs_removed;    // old forms replaced
  std::vector<std::string> branches_created;    // local branches made (the first environment's)
  std::vector<std::string> stale_refs_removed;  // local copies of the server's envflow refs
  std::vector<std::string> stale_refs_kept;     // local envflow refs that differ from the server
  bool unshallowed = false;
  std::vector<std::string> hooks;
};

// Make a clone read the pipeline from `remote`: git config envflow.remote,
// the forced tracking refspec (old forms removed), one fetch of the
// server's view (the whole history when the clone is shallow), the local
// branch of the first environment (where people commit; the others are read
// from the server), the client hooks. Local refs/envflow/* copies an earlier
// version fetched are removed when the server has the same value, and
// listed when not. Running it again changes nothing. The clone is the
// repository containing `folder`.
SetupResult setup_clone(const std::string& folder, const std::string& remote);

} // namespace envflow::core::admin
