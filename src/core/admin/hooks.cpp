#include "core/admin/hooks.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "core/policy/config.h"
#include "core/policy/context.h"
#include "core/workspace/workspace.h"
#include "git/repo.h"
#include "util/embedded.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::core::admin {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view k_chained_suffix = ".envflow-chained";

std::string text_or_empty(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

fs::path hooks_dir(const git::Repository& repo) {
  if (auto configured = repo.config_string("core.hooksPath"); configured && !configured->empty()) {
    fs::path path(*configured);
    if (path.is_relative()) {
      path = fs::path(repo.root()) / path;
    }
    return path;
  }
  return fs::path(repo.common_dir()) / "hooks";
}

// Write hook `name` from the embedded hooks/ folder, chaining a foreign one.
std::string install_hook(const fs::path& dir, const std::string& name) {
  const auto script = util::embedded_file("hooks/" + name);
  if (!script) {
    throw util::IoError("hook " + name + " is not built into this envflow");
  }
  // The scripts hold the path in single quotes; a quote in it is closed,
  // escaped and reopened, so no path can inject shell code.
  const std::string text =
      util::replace_all(std::string(*script), "@ENVFLOW@",
                        util::replace_all(policy::self_executable(), "'", "'\\''"));
  const fs::path path = dir / name;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (fs::exists(path)) {
    const std::string existing = text_or_empty(path);
    if (existing == text) {
      return path.string();
    }
    if (existing.find("envflow hook " + name) == std::string::npos) {
      const fs::path chained = dir / (name + std::string(k_chained_suffix));
      if (fs::exists(chained)) {
        throw util::Refused("cannot install the " + name + " hook: " + path.string() +
                            " is not envflow's and " + chained.string() +
                            " already exists; merge them by hand");
      }
      fs::rename(path, chained, ec);
      if (ec) {
        throw util::IoError("keeping the existing hook " + path.string() + ": " + ec.message());
      }
    }
  }
  const fs::path temp = dir / (name + ".envflow-tmp");
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) {
      throw util::IoError("writing " + temp.string());
    }
  }
  fs::permissions(temp, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec,
                  ec);
  fs::rename(temp, path, ec);
  if (ec) {
    throw util::IoError("installing " + path.string() + ": " + ec.message());
  }
  return path.string();
}

} // namespace

std::vector<std::string> install_client_hooks(const git::Repository& repo) {
  if (repo.is_bare()) {
    throw util::UsageError("a bare repository has no commits made in it: install server hooks "
                           "with envflow install-hooks --server");
  }
  return {install_hook(hooks_dir(repo), "pre-commit")};
}

std::vector<std::string> install_client_hooks(const std::string& folder) {
  return install_client_hooks(git::Repository::open(folder));
}

ServerHooksResult install_server_hooks(const std::string& folder) {
  git::Repository repo = git::Repository::open(folder);
  const fs::path dir = hooks_dir(repo);
  ServerHooksResult result;
  result.hooks = {install_hook(dir, "pre-receive"), install_hook(dir, "post-receive")};
  // git checks received objects only when asked; those checks (not envflow's
  // own) see every tree of a push, and a checkout's own path rules are the
  // ones that matter. The tree-name findings are warnings that strict
  // receiving already refuses; naming them keeps them errors whatever
  // fsck.* defaults a newer git or the host's config brings. Push options
  // carry what a record says beyond the moves (--reason, sync --auto).
  for (const auto& [key, value] : {std::pair{"receive.fsckObjects", "true"},
                                   std::pair{"receive.fsck.hasDot", "error"},
                                   std::pair{"receive.fsck.hasDotdot", "error"},
                                   std::pair{"receive.fsck.hasDotgit", "error"},
                                   std::pair{"receive.fsck.fullPathname", "error"},
                                   // envflow sends the reason and sync --auto as push options.
                                   std::pair{"receive.advertisePushOptions", "true"}}) {
    repo.set_config_string(key, value);
    result.settings.push_back(std::string(key) + " " + value);
  }
  return result;
}

content::ValidationReport run_pre_commit(const std::string& folder, content::ResultCache* cache) {
  const git::Repository repo = git::Repository::open(folder);
  const auto config = workspace::read_policy(repo);
  if (config) {
    const std::string branch = repo.head_branch();
    const policy::Environment* env = config->by_branch(branch);
    if (env != nullptr && env->name != config->first().name) {
      throw util::Refused(env->name + " is read-only: change " + config->first().name +
                          " and promote with envflow sync (hotfixes: envflow hotfix start NAME)");
    }
  }
  return workspace::validate_index(repo, cache);
}

} // namespace envflow::core::admin
