#include "core/render.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>

#include "content/kinds.h"
#include "content/yaml.h"
#include "core/overrides.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::core {

namespace {

bool is_yaml_name(std::string_view path) {
  return path.ends_with(".yaml") || path.ends_with(".yml");
}

nlohmann::json load_item(const git::Repository& repo, const git::TreeEntry& entry) {
  const auto loaded = content::load_yaml(repo.read_blob(entry.id), entry.path);
  if (!loaded.diagnostics.empty() || !loaded.value) {
    std::vector<std::string> lines;
    for (const auto& d : loaded.diagnostics) {
      lines.push_back(d.to_text());
    }
    throw util::Refused("cannot render " + entry.path + ": " + util::join(lines, "; ") +
                        " (run envflow validate)");
  }
  return loaded.value->to_json();
}

// vMAJOR.MINOR.PATCH as numbers, for picking the highest of several tags.
std::optional<std::vector<long>> version_of(std::string_view tag) {
  if (!tag.starts_with("v")) {
    return std::nullopt;
  }
  std::vector<long> parts;
  for (const auto& part : util::split(tag.substr(1), '.')) {
    long number = 0;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), number);
    if (ec != std::errc() || end != part.data() + part.size()) {
      return std::nullopt;
    }
    parts.push_back(number);
  }
  return parts;
}

// The release tag on `commit`: the one live points at, else the highest
// version, else the first by name.
nlohmann::json release_of(const git::Repository& repo, const std::string& commit) {
  constexpr std::string_view k_tags = "refs/tags/";
  std::vector<std::string> candidates;
  for (const auto& ref : repo.list_refs("refs/tags/v*")) {
    if (repo.resolve_commit(ref) == commit) {
      candidates.push_back(ref);
    }
  }
  if (candidates.empty()) {
    return nullptr;
  }
  std::sort(candidates.begin(), candidates.end());
  if (const auto live = repo.ref_target("refs/envflow/live")) {
    for (const auto& ref : candidates) {
      if (repo.ref_target(ref) == live) {
        return ref.substr(k_tags.size());
      }
    }
  }
  std::string best = candidates.front();
  std::optional<std::vector<long>> best_version = version_of(best.substr(k_tags.size()));
  for (const auto& ref : candidates) {
    const auto version = version_of(ref.substr(k_tags.size()));
    if (version && (!best_version || *version > *best_version)) {
      best = ref;
      best_version = version;
    }
  }
  return best.substr(k_tags.size());
}

std::string short_id(const std::string& id) { return id.substr(0, 7); }

} // namespace

nlohmann::json render_bundle(const git::Repository& repo, const PipelineConfig& config,
                             const std::string& env_name) {
  const Environment& env = require_environment(config, env_name);
  const EffectiveVariables variables = effective_variables(repo, config, env.name);
  const std::string& commit = variables.commit;

  nlohmann::json items = nlohmann::json::object();
  for (const auto& kind : content::kinds()) {
    if (kind.scope == content::Scope::promoted) {
      items[std::string(kind.folder)] = nlohmann::json::object();
    }
  }
  nlohmann::json documents = nlohmann::json::object();
  nlohmann::json workspace = nullptr;
  for (const auto& entry : repo.list_tree(commit)) {
    if (entry.path == content::k_workspace_file) {
      workspace = load_item(repo, entry);
      continue;
    }
    const std::string folder = util::first_component(entry.path);
    const content::KindInfo* kind = content::kind_by_folder(folder);
    if (kind == nullptr || kind->scope != content::Scope::promoted) {
      continue;
    }
    const std::string rest = entry.path.substr(folder.size() + 1);
    if (rest.find('/') == std::string::npos) {
      if (is_yaml_name(rest)) {
        items[folder][util::path_stem(rest)] = load_item(repo, entry);
      }
    } else if (folder == "knowledge") {
      std::string text = repo.read_blob(entry.id);
      if (!util::is_valid_utf8(text)) {
        throw util::Refused("cannot render " + entry.path +
                            ": not UTF-8 text (run envflow "
                            "validate)");
      }
      documents[entry.path] = std::move(text);
    }
  }

  nlohmann::json resolved = nlohmann::json::object();
  for (const auto& variable : variables.variables) {
    if (variable.source == ValueSource::undeclared) {
      continue; // not part of the content this environment serves
    }
    if (!variable.problem.empty()) {
      throw util::Refused("the override of " + variable.name + " on " + env.name +
                          " does not fit its type: " + variable.problem +
                          "; fix it with envflow var set/unset --env " + env.name);
    }
    resolved[variable.name] = {
        {"type", variable.type},
        {"value", variable.effective ? variable.effective->to_json() : nlohmann::json(nullptr)},
        {"source", std::string(source_name(variable.source))},
    };
  }

  nlohmann::json bundle = nlohmann::json::object();
  bundle["environment"] = env.name;
  bundle["branch"] = env.branch;
  bundle["commit"] = commit;
  bundle["release"] = release_of(repo, commit);
  bundle["workspace"] = std::move(workspace);
  bundle["items"] = std::move(items);
  bundle["documents"] = std::move(documents);
  bundle["variables"] = std::move(resolved);
  bundle["local_ref"] =
      variables.local_commit ? nlohmann::json(*variables.local_commit) : nlohmann::json(nullptr);
  bundle["generated_by"] = std::string("envflow ") + ENVFLOW_VERSION;
  return bundle;
}

std::string bundle_text(const nlohmann::json& bundle) { return bundle.dump(2) + "\n"; }

BundleCheck check_bundles(const std::vector<BundleFile>& bundles) {
  struct Named {
    std::string environment;
    std::string commit;
    std::string problem; // not a bundle: why
  };
  std::vector<Named> named;
  for (const auto& file : bundles) {
    Named n;
    const auto json = nlohmann::json::parse(file.text, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) {
      n.problem = "not JSON, so not an envflow bundle";
    } else if (!json.is_object() || !json.contains("environment") || !json.contains("commit") ||
               !json["environment"].is_string() || !json["commit"].is_string()) {
      n.problem = "not an envflow bundle (no \"environment\" and \"commit\" strings)";
    } else {
      n.environment = json["environment"].get<std::string>();
      n.commit = json["commit"].get<std::string>();
    }
    named.push_back(std::move(n));
  }

  // The expected pair: the one most files name; ties go to the earliest.
  BundleCheck check;
  std::size_t best_count = 0;
  for (std::size_t i = 0; i < named.size(); ++i) {
    if (!named[i].problem.empty()) {
      continue;
    }
    const auto count =
        static_cast<std::size_t>(std::count_if(named.begin(), named.end(), [&](const Named& other) {
          return other.problem.empty() && other.environment == named[i].environment &&
                 other.commit == named[i].commit;
        }));
    if (count > best_count) {
      best_count = count;
      check.environment = named[i].environment;
      check.commit = named[i].commit;
      check.reference = bundles[i].name;
    }
  }

  for (std::size_t i = 0; i < named.size(); ++i) {
    const Named& n = named[i];
    if (!n.problem.empty()) {
      check.differences.push_back(bundles[i].name + ": " + n.problem);
      continue;
    }
    if (n.environment == check.environment && n.commit == check.commit) {
      continue;
    }
    // Short ids, unless they would hide the difference.
    const bool shorten = n.commit == check.commit || short_id(n.commit) != short_id(check.commit);
    const auto show = [&](const std::string& id) { return shorten ? short_id(id) : id; };
    check.differences.push_back(bundles[i].name + ": environment " + n.environment + ", commit " +
                                show(n.commit) + "; expected " + check.environment + ", commit " +
                                show(check.commit) + " (from " + check.reference + ")");
  }
  check.ok = check.differences.empty() && best_count > 0;
  return check;
}

} // namespace envflow::core
