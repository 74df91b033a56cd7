#include "core/config.h"

#include <algorithm>

#include "content/schema.h"
#include "content/yaml.h"
#include "git/repo.h"
#include "util/error.h"

namespace envflow::core {

using content::Value;

namespace {

std::vector<std::string> strings_at(const Value& map, std::string_view key) {
  std::vector<std::string> out;
  if (const Value* list = map.find(key); list != nullptr && list->is_sequence()) {
    for (const auto& item : list->items) {
      out.push_back(item.string);
    }
  }
  return out;
}

bool bool_at(const Value& map, std::string_view key, bool fallback) {
  const Value* v = map.find(key);
  return v != nullptr && v->type == Value::Type::boolean ? v->boolean : fallback;
}

std::string yaml_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    out += (i > 0 ? ", " : "") + std::string("\"") + items[i] + "\"";
  }
  return out + "]";
}

} // namespace

const Environment* PipelineConfig::find(const std::string& name) const {
  for (const auto& env : environments) {
    if (env.name == name) {
      return &env;
    }
  }
  return nullptr;
}

const Environment* PipelineConfig::by_branch(const std::string& branch) const {
  for (const auto& env : environments) {
    if (env.branch == branch) {
      return &env;
    }
  }
  return nullptr;
}

int PipelineConfig::index_of(const std::string& name) const {
  for (size_t i = 0; i < environments.size(); ++i) {
    if (environments[i].name == name) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

bool PipelineConfig::member(const std::string& actor,
                            const std::vector<std::string>& group_names) const {
  for (const auto& group : group_names) {
    if (group == "*") {
      return true;
    }
    const auto it = groups.find(group);
    if (it != groups.end() &&
        std::find(it->second.begin(), it->second.end(), actor) != it->second.end()) {
      return true;
    }
  }
  return false;
}

PipelineConfig default_config(const std::vector<std::string>& envs, const std::string& actor) {
  PipelineConfig config;
  for (size_t i = 0; i < envs.size(); ++i) {
    Environment env;
    env.name = envs[i];
    env.branch = envs[i];
    if (i == 0) {
      env.write = {"developers"};
    } else {
      env.promote = {"release-managers"};
      env.approvers = {"release-managers"};
    }
    env.local = {"operators"};
    config.environments.push_back(env);
  }
  for (const char* group : {"developers", "release-managers", "operators", "publishers",
                            "hotfixers", "admins"}) {
    config.groups[group] = {actor};
  }
  config.admins = {"admins"};
  config.publishers = {"publishers"};
  config.hotfixers = {"hotfixers"};
  return config;
}

std::optional<PipelineConfig> parse_config(const std::string& text, const std::string& path,
                                           std::vector<content::Diagnostic>& problems) {
  content::YamlResult loaded = content::load_yaml(text, path);
  problems = std::move(loaded.diagnostics);
  if (!loaded.value) {
    return std::nullopt;
  }
  const Value& root = *loaded.value;
  for (auto& d : content::SchemaSet::builtin().validate("pipeline", root, path)) {
    problems.push_back(std::move(d));
  }
  if (!problems.empty()) {
    content::sort_diagnostics(problems);
    return std::nullopt;
  }
  PipelineConfig config;
  config.identity_env.clear();
  if (const Value* envs = root.find("environments")) {
    for (const auto& item : envs->items) {
      Environment env;
      env.name = item.string_at("name");
      env.branch = item.string_at("branch");
      if (env.branch.empty()) {
        env.branch = env.name;
      }
      env.write = strings_at(item, "write");
      env.promote = strings_at(item, "promote");
      env.approvers = strings_at(item, "approvers");
      env.local = strings_at(item, "local");
      if (const Value* n = item.find("approvals"); n != nullptr && n->type == Value::Type::integer) {
        env.approvals = static_cast<int>(n->integer);
      }
      env.auto_promote = bool_at(item, "auto", false);
      config.environments.push_back(std::move(env));
    }
  }
  if (const Value* groups = root.find("groups")) {
    for (const auto& entry : groups->members) {
      config.groups[entry.key] = strings_at(*groups, entry.key);
    }
  }
  config.admins = strings_at(root, "admins");
  config.publishers = strings_at(root, "publishers");
  config.hotfixers = strings_at(root, "hotfixers");
  if (const Value* identity = root.find("identity")) {
    config.identity_env = strings_at(*identity, "env");
    config.identity_required = bool_at(*identity, "required", false);
  }
  if (const Value* validation = root.find("validation")) {
    if (const Value* n = validation->find("max_file_size");
        n != nullptr && n->type == Value::Type::integer && n->integer > 0) {
      config.max_file_size = static_cast<std::uint64_t>(n->integer);
    }
  }
  if (const Value* release = root.find("release")) {
    config.release_sign = bool_at(*release, "sign", true);
    config.release_format = release->string_at("format");
    config.release_signing_key = release->string_at("signing_key");
    config.release_allowed_signers = release->string_at("allowed_signers");
  }
  if (const Value* backport = root.find("backport")) {
    config.backport_notify = backport->string_at("notify");
  }
  // Rules the schema cannot say, each at the node it is about.
  std::vector<std::string> seen_names;
  std::vector<std::string> seen_branches;
  const auto problem = [&](const std::string& message, content::Mark mark) {
    problems.push_back(content::Diagnostic{path, mark, content::Severity::error, message,
                                           "pipeline"});
  };
  const Value* env_nodes = root.find("environments");
  for (size_t i = 0; i < config.environments.size(); ++i) {
    const Environment& env = config.environments[i];
    const Value& node = env_nodes->items[i];
    const Value* name_node = node.find("name");
    const Value* branch_node = node.find("branch");
    if (std::find(seen_names.begin(), seen_names.end(), env.name) != seen_names.end()) {
      problem("environment '" + env.name + "' is listed twice",
              name_node != nullptr ? name_node->mark : node.mark);
    }
    if (std::find(seen_branches.begin(), seen_branches.end(), env.branch) != seen_branches.end()) {
      problem("branch '" + env.branch + "' is used by two environments",
              branch_node != nullptr ? branch_node->mark : node.mark);
    }
    seen_names.push_back(env.name);
    seen_branches.push_back(env.branch);
    for (const char* key : {"write", "promote", "approvers", "local"}) {
      const Value* list = node.find(key);
      if (list == nullptr || !list->is_sequence()) {
        continue;
      }
      for (const auto& group : list->items) {
        if (group.string != "*" && !config.groups.contains(group.string)) {
          problem("environment '" + env.name + "' names group '" + group.string +
                      "', which is not defined under 'groups'; define it or fix the name",
                  group.mark);
        }
      }
    }
  }
  for (const char* key : {"admins", "publishers", "hotfixers"}) {
    const Value* list = root.find(key);
    if (list == nullptr || !list->is_sequence()) {
      continue;
    }
    for (const auto& group : list->items) {
      if (group.string != "*" && !config.groups.contains(group.string)) {
        problem(std::string(key) + " names group '" + group.string +
                    "', which is not defined under 'groups'",
                group.mark);
      }
    }
  }
  if (config.admins.empty()) {
    problem("'admins' is empty: nobody could change the pipeline config any more; name at least "
            "one group",
            root.find("admins") != nullptr ? root.find("admins")->mark : root.mark);
  }
  if (!problems.empty()) {
    return std::nullopt;
  }
  return config;
}

std::string render_config(const PipelineConfig& config) {
  std::string out;
  out += "# envflow pipeline and policy. Lives at refs/envflow/config; change it with\n";
  out += "# `envflow config edit` (validated, committed and audited).\n";
  out += "version: 1\n\n";
  out += "# Environments in promotion order. The first is where content is written;\n";
  out += "# every other one changes only through `envflow sync` from its predecessor.\n";
  out += "environments:\n";
  for (const auto& env : config.environments) {
    out += "  - name: " + env.name + "\n";
    out += "    branch: " + env.branch + "\n";
    if (!env.write.empty()) {
      out += "    write: " + yaml_list(env.write) + "        # who may commit and push here\n";
    }
    if (!env.promote.empty()) {
      out += "    promote: " + yaml_list(env.promote) + "  # who may sync into it\n";
      out += "    approvals: " + std::to_string(env.approvals) + "\n";
      out += "    approvers: " + yaml_list(env.approvers) + "\n";
    }
    out += "    local: " + yaml_list(env.local) + "        # who may change its local data\n";
    if (env.auto_promote) {
      out += "    auto: true\n";
    }
  }
  out += "\n# Groups of actors (emails or server usernames).\ngroups:\n";
  for (const auto& [group, actors] : config.groups) {
    out += "  " + group + ": " + yaml_list(actors) + "\n";
  }
  out += "\nadmins: " + yaml_list(config.admins) + "\n";
  out += "publishers: " + yaml_list(config.publishers) + "\n";
  out += "hotfixers: " + yaml_list(config.hotfixers) + "\n\n";
  out += "# Where server hooks read the authenticated pusher from.\nidentity:\n";
  out += "  env: " + yaml_list(config.identity_env) + "\n";
  out += std::string("  required: ") + (config.identity_required ? "true" : "false") + "\n\n";
  out += "validation:\n  max_file_size: " + std::to_string(config.max_file_size) + "\n\n";
  out += std::string("release:\n  sign: ") + (config.release_sign ? "true" : "false") + "\n";
  if (!config.release_format.empty()) {
    out += "  format: " + config.release_format + "\n";
  }
  if (!config.release_signing_key.empty()) {
    out += "  signing_key: \"" + config.release_signing_key + "\"\n";
  }
  if (!config.release_allowed_signers.empty()) {
    out += "  allowed_signers: \"" + config.release_allowed_signers + "\"\n";
  }
  if (!config.backport_notify.empty()) {
    out += "\nbackport:\n  notify: \"" + config.backport_notify + "\"\n";
  }
  return out;
}

std::optional<PipelineConfig> load_config(const git::Repository& repo, const std::string& rev) {
  const std::optional<std::string> commit =
      rev.empty() ? repo.ref_target(k_config_ref) : repo.resolve_commit(rev);
  if (!commit) {
    return std::nullopt;
  }
  const std::optional<std::string> text = repo.read_path(*commit, k_config_file);
  if (!text) {
    throw util::Refused(std::string(k_config_ref) + " has no " + k_config_file +
                        "; restore it with envflow config edit");
  }
  std::vector<content::Diagnostic> problems;
  auto config = parse_config(*text, std::string(k_config_ref) + ":" + k_config_file, problems);
  if (!config) {
    std::string message = "the pipeline config is invalid:";
    for (const auto& d : problems) {
      message += "\n  " + d.to_text();
    }
    throw util::Refused(message);
  }
  return config;
}

PipelineConfig require_config(const git::Repository& repo) {
  auto config = load_config(repo);
  if (!config) {
    throw util::Refused("this repository has no envflow pipeline (" + std::string(k_config_ref) +
                        " is missing): run `envflow init` to create one, or `envflow setup` in "
                        "a clone to fetch it");
  }
  return *config;
}

} // namespace envflow::core
