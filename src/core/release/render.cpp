#include "core/release/render.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>

#include "content/kinds.h"
#include "content/yaml.h"
#include "core/records/overrides.h"
#include "core/release/release.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/json.h"
#include "util/strings.h"

namespace envflow::core::release {

namespace {

using content::is_yaml_name;

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

// The release on `commit`: the live one, else the highest version.
nlohmann::json release_of(const std::vector<Release>& releases, const std::string& commit) {
  const Release* best = nullptr;
  for (const auto& r : releases) {
    if (r.commit != commit) {
      continue;
    }
    if (r.live) {
      return r.tag;
    }
    if (best == nullptr || best->version < r.version) {
      best = &r;
    }
  }
  return best != nullptr ? nlohmann::json(best->tag) : nlohmann::json(nullptr);
}

// Values a release keeps after a promotion removed its variable: overrides
// follow the branch head, so a sync that brings content without a variable
// drops its override in the same move; the release still live (or asked for)
// was published with that value, recorded in its manifest, and keeps it.
// Variable -> JSON value, for the variables of `commit` the head of `env` no
// longer declares and the manifest of `tag` (made for `env`) has a value for.
std::map<std::string, nlohmann::json> kept_by_release(const model::Pipeline& pipeline,
                                                      const policy::Environment& env,
                                                      const std::vector<Release>& releases,
                                                      const std::string& tag,
                                                      const std::string& commit) {
  std::map<std::string, nlohmann::json> kept;
  const auto head = pipeline.head(env);
  const auto it = std::find_if(releases.begin(), releases.end(),
                               [&](const Release& r) { return r.tag == tag; });
  if (!head || *head == commit || it == releases.end()) {
    return kept;
  }
  const auto info = pipeline.repo.tag(it->tag_id);
  const auto manifest = info ? Manifest::parse(info->message) : std::nullopt;
  if (!manifest || manifest->environment != env.name) {
    return kept;
  }
  const auto at_head = records::declared_variables(pipeline.repo, *head);
  for (const auto& [name, value] : manifest->overrides) {
    auto json = util::parse_json(value, util::BadJson::discard);
    if (!at_head.contains(name) && !json.is_discarded()) {
      kept.emplace(name, std::move(json));
    }
  }
  return kept;
}

} // namespace

nlohmann::json render_bundle(const model::Pipeline& pipeline, const std::string& env_name,
                             const RenderAt& at) {
  const git::Repository& repo = pipeline.repo;
  const policy::Environment& env = records::require_environment(pipeline.config, env_name);
  const std::vector<Release> releases = list_releases(pipeline);
  std::string wanted; // "" = the branch head
  if (!at.commit.empty()) {
    wanted = at.commit;
  } else if (!at.release.empty()) {
    const auto it = std::find_if(releases.begin(), releases.end(),
                                 [&](const Release& r) { return r.tag == at.release; });
    if (it == releases.end()) {
      throw util::UsageError("no release " + at.release + " (envflow log --op publish lists them)");
    }
    wanted = it->commit;
  } else if (!at.head && &env == &pipeline.config.last()) {
    // What end users get: the live release, which a rollback may have taken
    // back from the head.
    wanted = live_release_commit(pipeline).value_or("");
  }
  const records::EffectiveVariables variables =
      records::effective_variables(pipeline, env.name, wanted);
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

  const nlohmann::json release = release_of(releases, commit);
  const std::string tag = !at.release.empty() ? at.release
                          : release.is_string() ? release.get<std::string>()
                                                : std::string();
  const auto kept = wanted.empty() || tag.empty()
                        ? std::map<std::string, nlohmann::json>()
                        : kept_by_release(pipeline, env, releases, tag, commit);
  nlohmann::json resolved = nlohmann::json::object();
  for (const auto& variable : variables.variables) {
    if (variable.source == records::ValueSource::undeclared) {
      continue; // not part of the content this environment serves
    }
    if (const auto it = kept.find(variable.name);
        it != kept.end() && variable.source != records::ValueSource::override_value) {
      resolved[variable.name] = {{"type", variable.type},
                                 {"value", it->second},
                                 {"source", "release"}};
      continue;
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
  bundle["release"] = release;
  bundle["workspace"] = std::move(workspace);
  bundle["items"] = std::move(items);
  bundle["documents"] = std::move(documents);
  bundle["variables"] = std::move(resolved);
  bundle["local_ref"] =
      variables.local_commit ? nlohmann::json(*variables.local_commit) : nlohmann::json(nullptr);
  bundle["generated_by"] = std::string("envflow ") + ENVFLOW_VERSION;
  return bundle;
}

std::string bundle_text(const nlohmann::json& bundle) { return util::dump_json(bundle, 2) + "\n"; }

BundleCheck check_bundles(const std::vector<BundleFile>& bundles, const std::string& expected) {
  struct Named {
    std::string environment;
    std::string commit;
    std::string problem; // not a bundle: why
  };
  std::vector<Named> named;
  for (const auto& file : bundles) {
    Named n;
    const auto json = util::parse_json(file.text, util::BadJson::discard);
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
    if (!expected.empty() && n.environment != expected) {
      check.differences.push_back(bundles[i].name + ": a bundle for " + n.environment +
                                  ", but this is " + expected +
                                  ": refuse it (render the bundle for " + expected + ")");
      continue;
    }
    if (n.environment == check.environment && n.commit == check.commit) {
      continue;
    }
    // Short ids, unless they would hide the difference.
    const bool shorten =
        n.commit == check.commit || model::short_id(n.commit) != model::short_id(check.commit);
    const auto show = [&](const std::string& id) { return shorten ? model::short_id(id) : id; };
    check.differences.push_back(bundles[i].name + ": environment " + n.environment + ", commit " +
                                show(n.commit) + "; expected " + check.environment + ", commit " +
                                show(check.commit) + " (from " + check.reference + ")");
  }
  check.ok = check.differences.empty() && best_count > 0;
  return check;
}

} // namespace envflow::core::release
