#include "core/setup.h"

#include "core/config.h"
#include "core/hooks.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/process.h"
#include "util/strings.h"

namespace envflow::core {

SetupResult setup_clone(git::Repository& repo, const std::string& remote) {
  const std::string dir = repo.is_bare() ? repo.git_dir() : repo.workdir();
  SetupResult result;
  const auto url = util::run_process({"git", "-C", dir, "remote", "get-url", remote});
  if (url.exit_code != 0) {
    throw util::UsageError("no remote named '" + remote + "'");
  }
  const auto existing =
      util::run_process({"git", "-C", dir, "config", "--get-all", "remote." + remote + ".fetch"});
  bool present = false;
  for (const auto& line : util::split(existing.out, '\n')) {
    present = present || util::trim(line) == k_envflow_refspec;
  }
  if (existing.out.find(k_forced_envflow_refspec) != std::string::npos) {
    util::run_process({"git", "-C", dir, "config", "--fixed-value", "--unset-all",
                       "remote." + remote + ".fetch", k_forced_envflow_refspec});
  }
  if (!present) {
    const auto add = util::run_process(
        {"git", "-C", dir, "config", "--add", "remote." + remote + ".fetch", k_envflow_refspec});
    if (add.exit_code != 0) {
      throw util::IoError("git config: " + add.err);
    }
    result.refspec_added = true;
  }
  const auto fetch = util::run_process({"git", "-C", dir, "fetch", "--quiet", remote});
  if (fetch.exit_code != 0) {
    throw util::IoError("git fetch " + remote + " failed: " + std::string(util::trim(fetch.err)));
  }
  const PipelineConfig config = require_config(repo);
  for (const auto& env : config.environments) {
    const std::string local = "refs/heads/" + env.branch;
    const auto tracking = repo.ref_target("refs/remotes/" + remote + "/" + env.branch);
    if (!repo.ref_target(local) && tracking) {
      repo.update_refs({git::RefUpdate{local, std::nullopt, *tracking}},
                       "envflow setup: track " + remote + "/" + env.branch);
      util::run_process({"git", "-C", dir, "branch", "--set-upstream-to=" + remote + "/" +
                                                         env.branch, env.branch});
      result.branches_created.push_back(env.branch);
    }
  }
  if (!repo.is_bare()) {
    result.hooks = install_client_hooks(repo);
  }
  return result;
}

} // namespace envflow::core
