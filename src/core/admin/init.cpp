#include "core/admin/init.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "content/schema.h"
#include "content/validator.h"
#include "core/admin/ci.h"
#include "core/admin/hooks.h"
#include "core/model/audit.h"
#include "core/policy/config.h"
#include "core/policy/context.h"
#include "core/workspace/sources.h"
#include "git/repo.h"
#include "util/embedded.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::core::admin {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view k_template_root = "templates/workspace/";

// The starter policy's verification check (docs/checks.md), written as a
// comment at the end of the second environment: a real, offline check (no
// TODO or FIXME note reaches that environment) that `make demo` turns on.
// Off by default, so a new pipeline promotes without running anything.
policy::SuggestedCheck starter_check(const policy::PipelineConfig& config) {
  const std::string env = config.environments.size() > 1 ? config.environments[1].name : "";
  return {"A verification check (docs/checks.md): remove the '#' before the two lines\n"
          "below to refuse promoting into " +
              env +
              " content that still holds a TODO or\n"
              "FIXME note.",
          policy::Check{
              "no-todo",
              {"sh", "-c", "! grep -n -o -E '.{0,40}(TODO|FIXME).{0,40}' \"$ENVFLOW_BUNDLE\""},
              60}};
}

bool valid_env_name(const std::string& name) {
  if (name.empty() || name.size() > 31 || name[0] < 'a' || name[0] > 'z') {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

git::Repository open_or_create(const InitOptions& options, bool& existed) {
  const fs::path dir = fs::absolute(options.dir.empty() ? "." : options.dir);
  std::error_code ec;
  existed = fs::exists(dir / ".git", ec) ||
            (options.bare && fs::exists(dir / "HEAD", ec) && fs::exists(dir / "objects", ec));
  if (existed) {
    return git::Repository::open(dir.string());
  }
  return git::Repository::init(dir.string(), options.bare, options.envs.front());
}

std::string ci_title(const std::string& ci) {
  return ci == "gitlab" ? "GitLab CI" : "GitHub Actions";
}

// Add the CI files to the tree being built on `base`; never over a file
// `base` has.
void add_ci_files(git::Repository& repo, const std::optional<std::string>& base,
                  const std::string& ci, const std::map<std::string, std::string>& ci_files,
                  std::map<std::string, git::NewFile>& files, InitResult& result) {
  for (const auto& [path, text] : ci_files) {
    if (base && repo.read_path(*base, path)) {
      throw util::Refused(path + " is already committed and envflow init --ci " + ci +
                          " would overwrite it; move it away (or drop --ci) and run envflow "
                          "init again");
    }
    files[path] = git::NewFile{repo.write_blob(text), git::Mode::regular};
    result.ci_files.push_back(path);
  }
}

} // namespace

void check_environment_names(const std::vector<std::string>& envs) {
  if (envs.size() < 2 || envs.size() > 8) {
    throw util::UsageError("a pipeline has 2 to 8 environments, got " + std::to_string(envs.size()));
  }
  std::set<std::string> seen;
  for (const auto& env : envs) {
    if (!valid_env_name(env)) {
      throw util::UsageError("invalid environment name '" + env +
                             "': use lowercase letters, digits and '-', starting with a letter");
    }
    if (!seen.insert(env).second) {
      throw util::UsageError("environment '" + env + "' is listed twice");
    }
  }
}

namespace {

// Phase of init_repository: refuse when another environment's branch exists
// or an existing working tree has uncommitted changes.
void refuse_taken_branches_or_dirty(const git::Repository& repo, const InitOptions& options,
                                    bool existed) {
  for (size_t i = 1; i < options.envs.size(); ++i) {
    if (repo.ref_target("refs/heads/" + options.envs[i])) {
      throw util::Refused("branch '" + options.envs[i] +
                          "' already exists; envflow creates every environment branch itself. "
                          "Rename or delete it, or pick other names with --envs");
    }
  }
  if (existed && !repo.is_bare()) {
    const auto dirty = repo.dirty_paths();
    if (!dirty.empty()) {
      throw util::Refused("uncommitted changes (" + dirty.front() +
                          (dirty.size() > 1 ? " and " + std::to_string(dirty.size() - 1) + " more"
                                            : std::string()) +
                          "): commit or stash them before envflow init");
    }
  }
}

// Phase of init_repository: adopt the workspace committed at `base` (it must
// validate); the commit the environments start at, with the CI files if asked.
std::string adopt_workspace(git::Repository& repo, const std::string& base,
                            const InitOptions& options,
                            const std::map<std::string, std::string>& ci_files,
                            InitResult& result) {
  workspace::TreeSource source(repo, base);
  content::ValidateOptions defaults;
  defaults.cache = options.cache;
  const auto report = content::validate(source, defaults, content::SchemaSet::builtin());
  if (!report.ok()) {
    std::string message = "the existing workspace does not validate; fix it before envflow init:";
    for (const auto& d : report.diagnostics) {
      message += "\n  " + d.to_text();
    }
    throw util::Refused(message);
  }
  result.adopted = true;
  if (ci_files.empty()) {
    return base;
  }
  std::map<std::string, git::NewFile> files;
  add_ci_files(repo, base, options.ci, ci_files, files, result);
  return repo.write_commit(repo.update_tree(base, files), {base},
                           "Add envflow's " + ci_title(options.ci) +
                               " jobs\n\nFrom envflow init --ci " + options.ci +
                               ": validate, promote automatically, promote by hand.\n",
                           repo.default_person());
}

// Phase of init_repository: the commit of the starter workspace (and CI
// files) on top of `base`; never over a file `base` has.
std::string starter_workspace(git::Repository& repo, const std::optional<std::string>& base,
                              const InitOptions& options,
                              const std::map<std::string, std::string>& ci_files,
                              InitResult& result) {
  std::map<std::string, git::NewFile> files;
  for (const auto& file : util::embedded_files()) {
    if (!util::starts_with(file.path, k_template_root)) {
      continue;
    }
    const std::string path(file.path.substr(k_template_root.size()));
    if (base && repo.read_path(*base, path)) {
      throw util::Refused("the starter workspace would overwrite " + path +
                          "; move it away or add a workspace.yaml to adopt your own content");
    }
    files[path] = git::NewFile{repo.write_blob(file.data), git::Mode::regular};
  }
  add_ci_files(repo, base, options.ci, ci_files, files, result);
  const std::string tree = repo.update_tree(base ? *base : "", files);
  const git::Person author = repo.default_person();
  return repo.write_commit(tree, base ? std::vector<std::string>{*base}
                                      : std::vector<std::string>{},
                           "Start the envflow workspace\n\nStarter content from "
                           "envflow init: two agents, a workflow, a knowledge base, an "
                           "integration, a channel and three variables." +
                               (ci_files.empty() ? std::string()
                                                 : " With " + ci_title(options.ci) +
                                                       " jobs (envflow init --ci " +
                                                       options.ci + ").") +
                               "\n",
                           author);
}

// Phase of init_repository: checkout must not fail after the refs moved:
// refuse now if a file `commit` adds is already in the working tree
// (untracked).
void refuse_untracked_overwrites(const git::Repository& repo,
                                 const std::optional<std::string>& head,
                                 const std::string& commit) {
  const std::string checked_out = head ? *head : "";
  for (const auto& change : repo.diff_trees(checked_out, commit)) {
    std::error_code ec;
    if (change.status == git::Change::Status::added &&
        fs::exists(fs::symlink_status(repo.workdir() + change.path, ec))) {
      throw util::Refused(change.path + " is in the working tree but not committed, and "
                          "envflow init would write it: move it away (or commit it) and run "
                          "envflow init again");
    }
  }
}

// Phase of init_repository: the commit of the starter policy (envflow.yaml).
std::string write_config_commit(git::Repository& repo, const InitOptions& options,
                                const std::string& actor) {
  const policy::PipelineConfig config = policy::default_config(options.envs, actor);
  const policy::SuggestedCheck starter = starter_check(config);
  const std::string config_blob = repo.write_blob(render_config(config, &starter));
  const std::string config_tree =
      repo.write_tree({{model::k_config_file, git::NewFile{config_blob, git::Mode::regular}}});
  return repo.write_commit(config_tree, {}, "envflow init: pipeline config\n",
                           repo.default_person());
}

// Phase of init_repository: every environment branch at `commit` (the first
// one left alone when it is there already) and the config ref.
std::vector<git::RefUpdate> init_updates(const InitOptions& options,
                                         const std::optional<std::string>& first_existing,
                                         const std::string& commit,
                                         const std::string& config_commit) {
  const std::string first_branch = "refs/heads/" + options.envs.front();
  std::vector<git::RefUpdate> updates;
  for (const auto& env : options.envs) {
    const std::string ref = "refs/heads/" + env;
    updates.push_back(
        git::RefUpdate{ref, ref == first_branch ? first_existing : std::nullopt, commit});
  }
  if (updates.front().expected == updates.front().target) {
    updates.erase(updates.begin()); // adopted: the first branch already points there
  }
  updates.push_back(git::RefUpdate{model::k_config_ref, std::nullopt, config_commit});
  return updates;
}

// Phase of init_repository, once the refs are written: check out the first
// environment and install the client hooks (a failure there is a warning).
void check_out_first(git::Repository& repo, const InitOptions& options,
                     const std::optional<std::string>& head, const std::string& commit,
                     InitResult& result) {
  if (repo.head_branch() != options.envs.front() || head != std::optional<std::string>(commit)) {
    repo.checkout_branch(options.envs.front(), head ? *head : "");
  }
  // The repository is complete at this point: a hook that cannot be
  // installed is a warning, not a refusal of what already happened.
  try {
    result.hooks = install_client_hooks(repo);
  } catch (const util::Error& e) {
    result.warnings.push_back(std::string("pre-commit hook not installed: ") + e.what() +
                              "; fix it and run envflow install-hooks");
  }
}

} // namespace

InitResult init_repository(const InitOptions& options) {
  check_environment_names(options.envs);
  const std::map<std::string, std::string> ci_files =
      core::admin::ci_files(options.ci, options.envs);
  bool existed = false;
  const fs::path dir = fs::absolute(options.dir.empty() ? "." : options.dir);
  const bool dir_existed = fs::exists(dir);
  git::Repository repo = open_or_create(options, existed);
  // A refusal must leave no trace: remove what this run created if it fails
  // before the refs are written.
  // (Never an existing folder's own files: only a .git made here, or a
  // folder made here.)
  bool keep = existed || (dir_existed && options.bare);
  struct Cleanup {
    const bool& keep;
    fs::path path;
    ~Cleanup() {
      if (!keep) {
        std::error_code ec;
        fs::remove_all(path, ec);
      }
    }
  } cleanup{keep, dir_existed ? dir / ".git" : dir};
  InitResult result;
  result.root = repo.root();
  if (result.root.size() > 1 && result.root.back() == '/') {
    result.root.pop_back();
  }
  result.actor = policy::resolve_actor(options.actor, &repo);

  if (repo.ref_target(model::k_config_ref)) {
    throw util::Refused("already an envflow repository (" + std::string(model::k_config_ref) +
                        " exists): nothing to do; see envflow status");
  }
  const std::optional<std::string> first_existing =
      repo.ref_target("refs/heads/" + options.envs.front());
  // What the working tree matches now (HEAD), and what the workspace builds on.
  const std::optional<std::string> head =
      repo.head_unborn() ? std::nullopt : repo.resolve_commit("HEAD");
  const std::optional<std::string> base = first_existing ? first_existing : head;
  refuse_taken_branches_or_dirty(repo, options, existed);

  // Objects first.
  const bool adopt = base && repo.read_path(*base, std::string(content::k_workspace_file));
  const std::string commit = adopt ? adopt_workspace(repo, *base, options, ci_files, result)
                                   : starter_workspace(repo, base, options, ci_files, result);
  if (!repo.is_bare()) {
    refuse_untracked_overwrites(repo, head, commit);
  }
  const std::string config_commit = write_config_commit(repo, options, result.actor);

  // Then every ref in one transaction, with its audit record.
  const std::vector<git::RefUpdate> updates =
      init_updates(options, first_existing, commit, config_commit);
  model::AuditRecord record;
  record.op = "init";
  record.actor = result.actor;
  record.note = "environments: " + util::join(options.envs, ", ");
  keep = true; // from here on the repository is (being) made for real
  try {
    commit_with_audit(repo, updates, record);
  } catch (const util::RefConflict& conflict) {
    throw util::Refused(std::string("another process changed ") + conflict.ref() +
                        " during envflow init; run it again");
  }
  result.commit = commit;

  if (!repo.is_bare()) {
    check_out_first(repo, options, head, commit, result);
  }
  return result;
}

} // namespace envflow::core::admin
