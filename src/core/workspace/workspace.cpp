#include "core/workspace/workspace.h"

#include <cstdint>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "content/schema.h"
#include "content/validator.h"
#include "core/model/view.h"
#include "core/policy/config.h"
#include "core/workspace/memo.h"
#include "core/workspace/sources.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::core::workspace {

namespace fs = std::filesystem;

namespace {

// `path` relative to `root` ('/'-separated), refusing paths that leave it.
std::string inside(const std::string& root, const std::string& path) {
  const fs::path base = fs::weakly_canonical(fs::path(root));
  // Resolve the folders but not the last component: a symlink named on the
  // command line is reported as a link, not followed out of the workspace.
  const fs::path absolute = fs::absolute(fs::path(path)).lexically_normal();
  const fs::path target = absolute.has_filename()
                              ? fs::weakly_canonical(absolute.parent_path()) / absolute.filename()
                              : fs::weakly_canonical(absolute);
  const fs::path relative = target.lexically_relative(base);
  const std::string text = relative.generic_string();
  if (relative.empty() || text == ".." || util::starts_with(text, "../")) {
    throw util::UsageError("path outside the workspace: " + path + " (the workspace is " +
                           base.string() + ")");
  }
  return text == "." ? std::string() : text;
}

// A repository-relative path given for --rev, normalized; refuses escapes.
std::string normalized(const std::string& path) {
  const fs::path p = fs::path(path).lexically_normal();
  const std::string text = p.generic_string();
  if (p.is_absolute() || text == ".." || util::starts_with(text, "../")) {
    throw util::UsageError("path outside the workspace: " + path +
                           " (with --rev, paths are relative to the repository root)");
  }
  return text == "." || text == "./" ? std::string() : text;
}

content::ValidationReport run(content::FileSource& source, content::ValidateOptions options) {
  return content::validate(source, options, content::SchemaSet::builtin());
}

// What a policy sets for validation: what options_for reads from the policy,
// and the record the memo "policy-options-1" keeps per policy commit. A
// setting the policy gains is a member here, read in `of`, set in `apply`
// and written and read back by to_json/from_json below.
struct PolicySettings {
  std::uint64_t max_file_size = 0;
  std::vector<std::string> allowed_secrets;

  static PolicySettings of(const policy::PipelineConfig& config) {
    PolicySettings settings;
    settings.max_file_size = config.max_file_size;
    for (const auto& allowed : config.secret_allowlist) {
      settings.allowed_secrets.push_back(allowed.fingerprint);
    }
    return settings;
  }

  void apply(content::ValidateOptions& options) const {
    options.max_file_size = max_file_size;
    options.allowed_secrets = allowed_secrets;
  }
};

void to_json(nlohmann::json& json, const PolicySettings& settings) {
  json = {{"max_file_size", settings.max_file_size}, {"allowed_secrets", settings.allowed_secrets}};
}

// Throws nlohmann::json::exception when `json` is not as to_json writes it.
void from_json(const nlohmann::json& json, PolicySettings& settings) {
  json.at("max_file_size").get_to(settings.max_file_size);
  json.at("allowed_secrets").get_to(settings.allowed_secrets);
}

} // namespace

content::ValidateOptions options_for(const policy::PipelineConfig& config,
                                     content::ResultCache* cache, content::Scope scope) {
  content::ValidateOptions options;
  options.scope = scope;
  options.cache = cache;
  PolicySettings::of(config).apply(options);
  return options;
}

namespace {

// The commit of the policy read_policy reads, or nullopt.
std::optional<std::string> policy_commit(const git::Repository& repo) {
  std::optional<std::string> commit = repo.ref_target(model::k_config_ref);
  if (!commit) {
    const std::string remote = repo.config_string("envflow.remote").value_or("origin");
    commit = model::RemoteRefs(repo, remote, {}).target(model::k_config_ref);
  }
  return commit;
}

} // namespace

std::optional<policy::PipelineConfig> read_policy(const git::Repository& repo) {
  const std::optional<std::string> commit = policy_commit(repo);
  return commit ? policy::load_config(repo, *commit) : std::nullopt;
}

content::ValidateOptions options_for(const git::Repository& repo, content::ResultCache* cache) {
  const std::optional<std::string> commit = policy_commit(repo);
  content::ValidateOptions options;
  options.cache = cache;
  if (!commit) {
    return options;
  }
  // What a policy sets for validation is remembered by its config commit
  // (and this envflow's version, which reads it): a warm validation then
  // parses no YAML. Only a policy that loaded is remembered, so a broken one
  // is refused on every run.
  ObjectMemo memo(repo, "policy-options-1", cache);
  const std::string key = *commit + " " + ENVFLOW_VERSION;
  if (const nlohmann::json* known = memo.find(key)) {
    try {
      known->get<PolicySettings>().apply(options);
      return options;
    } catch (const nlohmann::json::exception&) {
      // not as written: read the policy again
    }
  }
  const std::optional<policy::PipelineConfig> config = policy::load_config(repo, *commit);
  if (!config) {
    return options;
  }
  const PolicySettings settings = PolicySettings::of(*config);
  memo.insert(key, settings);
  settings.apply(options);
  return options;
}

content::ValidationReport validate_worktree(const std::string& folder,
                                            content::ResultCache* cache,
                                            const std::vector<std::string>& paths,
                                            content::Scope scope, content::Progress progress) {
  const git::Repository repo = git::Repository::open(folder);
  if (repo.is_bare()) {
    throw util::UsageError("this is a bare repository: validate a commit with --rev REV");
  }
  content::ValidateOptions options = options_for(repo, cache);
  options.scope = scope;
  options.progress = std::move(progress);
  for (const auto& path : paths) {
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(path, ec))) {
      throw util::UsageError("no such file or directory: " + path);
    }
    options.only.push_back(inside(repo.workdir(), path));
  }
  WorktreeSource source(repo.workdir(), &repo,
                        options.cache != nullptr ? WorktreeSource::Ids::from_index
                                                 : WorktreeSource::Ids::none);
  return run(source, options);
}

content::ValidationReport validate_revision(const std::string& folder,
                                            content::ResultCache* cache, const std::string& rev,
                                            const std::vector<std::string>& paths,
                                            content::Scope scope, content::Progress progress) {
  const git::Repository repo = git::Repository::open(folder);
  const std::optional<std::string> commit = repo.resolve_commit(rev);
  if (!commit) {
    throw util::UsageError("unknown revision '" + rev + "'");
  }
  content::ValidateOptions options = options_for(repo, cache);
  options.scope = scope;
  options.progress = std::move(progress);
  for (const auto& path : paths) {
    options.only.push_back(normalized(path));
  }
  TreeSource source(repo, *commit);
  return run(source, options);
}

content::ValidationReport validate_index(const git::Repository& repo, content::ResultCache* cache) {
  IndexSource source(repo);
  return run(source, options_for(repo, cache));
}

} // namespace envflow::core::workspace
