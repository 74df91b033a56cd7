#include "core/admin/setup.h"

#include "core/admin/hooks.h"
#include "core/model/view.h"
#include "core/policy/config.h"
#include "core/remote/remote.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/process.h"
#include "util/strings.h"

namespace envflow::core::admin {

std::string envflow_refspec(const std::string& remote) {
  return "+refs/envflow/*:" + model::RemoteRefs::tracking_name(remote, "refs/envflow/") + "*";
}

SetupResult setup_clone(const std::string& folder, const std::string& remote) {
  git::Repository repo = git::Repository::open(folder);
  const std::string dir = repo.root();
  const auto git = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"git", "-C", dir});
    return util::run_process(args);
  };
  SetupResult result;
  result.remote = remote;
  if (!remote::has_remote(repo, remote)) {
    throw util::UsageError("no remote named '" + remote + "' (git remote -v lists them)");
  }
  const std::string key = "remote." + remote + ".fetch";
  const std::string wanted = envflow_refspec(remote);
  bool present = false;
  for (const auto& raw : util::split(git({"config", "--get-all", key}).out, '\n')) {
    const std::string spec(util::trim(raw));
    present = present || spec == wanted;
    if (spec == k_old_envflow_refspec || spec == k_old_forced_envflow_refspec) {
      git({"config", "--fixed-value", "--unset-all", key, spec});
      result.refspecs_removed.push_back(spec);
    }
  }
  if (!present) {
    const auto add = git({"config", "--add", key, wanted});
    if (add.exit_code != 0) {
      throw util::IoError("git config: " + add.err);
    }
    result.refspec_added = true;
  }
  if (repo.config_string("envflow.remote") != remote) {
    const auto set = git({"config", "envflow.remote", remote});
    if (set.exit_code != 0) {
      throw util::IoError("git config: " + set.err);
    }
  }
  result.unshallowed = remote::fetch_view(repo, remote).unshallowed;

  const model::RemoteRefs view(repo, remote, {});
  // Copies of the server's envflow refs an earlier version kept here. A
  // pending journal means offline work: then nothing is touched.
  if (!repo.ref_target(model::k_pending_ref)) {
    std::vector<git::RefUpdate> drops;
    for (const auto& ref : repo.list_refs("refs/envflow/*")) {
      const auto mine = repo.ref_target(ref);
      if (mine && view.target(ref) == mine) {
        drops.push_back(git::RefUpdate{ref, mine, std::nullopt});
        result.stale_refs_removed.push_back(ref);
      } else {
        result.stale_refs_kept.push_back(ref);
      }
    }
    if (!drops.empty()) {
      repo.update_refs(drops, "envflow setup: the server's refs are read from " + remote);
    }
  }
  const auto commit = view.target(model::k_config_ref);
  const auto config = commit ? policy::load_config(repo, *commit) : std::nullopt;
  if (!config) {
    throw util::Refused(remote + " has no envflow pipeline (" + std::string(model::k_config_ref) +
                        " is missing there): seed it from a repository made by envflow init "
                        "(docs/server-hooks.md)");
  }
  const policy::Environment& first = config->first();
  const std::string local = model::branch_ref(first);
  if (!repo.ref_target(local)) {
    if (const auto tracking = view.target(local)) {
      repo.update_refs({git::RefUpdate{local, std::nullopt, *tracking}},
                       "envflow setup: track " + remote + "/" + first.branch);
      git({"branch", "--set-upstream-to=" + remote + "/" + first.branch, first.branch});
      result.branches_created.push_back(first.branch);
    }
  }
  if (!repo.is_bare()) {
    result.hooks = install_client_hooks(repo);
  }
  return result;
}

} // namespace envflow::core::admin
