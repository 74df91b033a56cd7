#pragma once

#include <string>
#include <vector>

namespace envflow::git {
class Repository;
}

namespace envflow::core {

// Not forced: a fetch never overwrites local envflow refs that diverged from
// the remote's (e.g. an audit record not pushed yet); git rejects it loudly.
inline constexpr const char* k_envflow_refspec = "refs/envflow/*:refs/envflow/*";
// The forced form earlier versions added; setup replaces it.
inline constexpr const char* k_forced_envflow_refspec = "+refs/envflow/*:refs/envflow/*";

struct SetupResult {
  bool refspec_added = false;
  std::vector<std::string> branches_created;
  std::vector<std::string> hooks;
};

// Make a clone see the whole pipeline: add the fetch refspec for
// refs/envflow/* to `remote`, fetch (with the user's git, so credential
// helpers and SSH config apply), create local environment branches from the
// remote's, and install the client hooks.
SetupResult setup_clone(git::Repository& repo, const std::string& remote);

} // namespace envflow::core
