#include "core/records/overrides.h"

#include <algorithm>

#include "content/secrets.h"
#include "content/variables.h"
#include "content/yaml.h"
#include "content/yaml_writer.h"
#include "core/model/audit.h"
#include "core/pipeline/session.h"
#include "git/repo.h"
#include "util/enum_names.h"
#include "util/error.h"
#include "util/strings.h"
#include "util/time.h"

namespace envflow::core::records {

namespace {

using content::Value;

constexpr std::string_view k_variables_folder = "variables/";

std::string overrides_label(const std::string& env) {
  return model::local_ref(env) + ":" + k_overrides_file;
}

// "a string", "an url" -> "a url": the article for a type name.
std::string with_article(const std::string& type) {
  if (type == "enum") {
    return "one of the enum's values";
  }
  const bool vowel = !type.empty() && std::string_view("aeio").find(type[0]) != std::string::npos;
  return (vowel ? "an " : "a ") + type;
}

git::Person author_of(const std::string& actor) {
  return git::Person{actor, actor.find('@') != std::string::npos ? actor : "envflow@localhost"};
}

} // namespace

const policy::Environment& require_environment(const policy::PipelineConfig& config,
                                               const std::string& name) {
  if (const policy::Environment* env = config.find(name); env != nullptr) {
    return *env;
  }
  std::vector<std::string> names;
  for (const auto& e : config.environments) {
    names.push_back(e.name);
  }
  const std::string guess = util::did_you_mean(name, names);
  const std::string listed = "environments: " + util::join(names, ", ");
  throw util::UsageError("unknown environment '" + name + "'" +
                             (guess.empty() ? std::string() : "; " + guess) + " (" + listed + ")",
                         "unknown-environment", guess.empty() ? listed : guess);
}

std::map<std::string, VariableDecl> declared_variables(const git::Repository& repo,
                                                       const std::string& commit) {
  std::map<std::string, VariableDecl> declared;
  for (const auto& entry : repo.list_tree(commit)) {
    if (!entry.path.starts_with(k_variables_folder)) {
      continue;
    }
    const std::string_view rest = std::string_view(entry.path).substr(k_variables_folder.size());
    if (rest.find('/') != std::string_view::npos ||
        !(rest.ends_with(".yaml") || rest.ends_with(".yml"))) {
      continue;
    }
    const auto loaded = content::load_yaml(repo.read_blob(entry.id), entry.path);
    if (!loaded.value || !loaded.value->is_mapping() || !loaded.diagnostics.empty()) {
      continue;
    }
    const Value& file = *loaded.value;
    VariableDecl decl;
    decl.name = util::path_stem(entry.path);
    decl.path = entry.path;
    decl.type = file.string_at("type");
    decl.description = file.string_at("description");
    if (const Value* values = file.find("values"); values != nullptr && values->is_sequence()) {
      for (const Value& item : values->items) {
        decl.values.push_back(item.string);
      }
    }
    if (const Value* value = file.find("default"); value != nullptr) {
      decl.default_value = *value;
    }
    decl.environment_scope = file.string_at("scope") == "environment";
    declared.emplace(decl.name, std::move(decl));
  }
  return declared;
}

std::map<std::string, Value> parse_overrides(std::string_view text, const std::string& path) {
  const content::YamlResult loaded = content::load_yaml(text, path);
  if (!loaded.diagnostics.empty() || !loaded.value) {
    std::vector<std::string> lines;
    for (const auto& d : loaded.diagnostics) {
      lines.push_back(d.to_text());
    }
    throw util::Refused("cannot read the overrides: " + util::join(lines, "; "));
  }
  std::map<std::string, Value> values;
  const Value& root = *loaded.value;
  if (root.is_null()) {
    return values;
  }
  const auto refuse = [&](const content::Mark& mark, const std::string& message) {
    throw util::Refused(path + ":" + std::to_string(mark.line) + ":" + std::to_string(mark.column) +
                        ": error: " + message);
  };
  if (!root.is_mapping()) {
    refuse(root.mark, "expected a mapping with a 'variables' mapping");
  }
  const Value* variables = root.find("variables");
  if (variables == nullptr || variables->is_null()) {
    return values;
  }
  if (!variables->is_mapping()) {
    refuse(variables->mark, "'variables' must be a mapping of variable names to values");
  }
  for (const auto& entry : variables->members) {
    values.emplace(entry.key, entry.value);
  }
  return values;
}

Overrides read_overrides(const model::Pipeline& pipeline, const std::string& env) {
  Overrides overrides;
  overrides.commit = pipeline.refs.target(model::local_ref(env));
  if (!overrides.commit) {
    return overrides;
  }
  const auto text = pipeline.repo.read_path(*overrides.commit, k_overrides_file);
  if (text) {
    overrides.values = parse_overrides(*text, overrides_label(env));
  }
  return overrides;
}

std::string emit_value(const Value& value) {
  content::YamlWriter out;
  out.value(value, content::Quote::always, content::Layout::flow);
  std::string text = out.text();
  text.pop_back(); // the document's newline
  return text;
}

bool same_value(const Value& a, const Value& b) { return emit_value(a) == emit_value(b); }

std::string emit_overrides(const std::string& env, const std::map<std::string, Value>& values) {
  content::YamlWriter out;
  out.comment("envflow variable overrides for " + env);
  out.begin_map();
  out.key("variables").begin_map(values.empty() ? content::Layout::flow : content::Layout::block);
  for (const auto& [name, value] : values) {
    out.key(name).value(value, content::Quote::always, content::Layout::flow);
  }
  out.end_map();
  out.end_map();
  return out.text();
}

std::optional<Declaration> find_declaration(const model::Pipeline& pipeline,
                                            const policy::Environment& env,
                                            const std::string& commit, const std::string& name) {
  if (!commit.empty()) {
    auto declared = declared_variables(pipeline.repo, commit);
    if (auto it = declared.find(name); it != declared.end()) {
      return Declaration{std::move(it->second), env.name, false};
    }
  }
  const policy::PipelineConfig& config = pipeline.config;
  for (int i = config.index_of(env.name) - 1; i >= 0; --i) {
    const policy::Environment& earlier = config.environments[static_cast<size_t>(i)];
    if (const auto head = pipeline.head(earlier)) {
      auto declared = declared_variables(pipeline.repo, *head);
      if (auto it = declared.find(name); it != declared.end()) {
        return Declaration{std::move(it->second), earlier.name, true};
      }
    }
  }
  return std::nullopt;
}

namespace {

// One line per override of `values` that does not fit where `env` finds it
// with content `commit`, and per `scope: environment` variable of `commit`
// without a value of its own.
std::vector<std::string> fit_problems(const model::Pipeline& pipeline,
                                      const policy::Environment& env, const std::string& commit,
                                      const std::map<std::string, Value>& values) {
  std::vector<std::string> problems;
  const bool first = pipeline.config.index_of(env.name) == 0;
  if (first && !values.empty()) {
    problems.push_back(env.name + " is the first environment and takes no overrides: change the "
                                  "variables' defaults on " + env.name + " instead");
    return problems;
  }
  for (const auto& [name, value] : values) {
    const auto found = find_declaration(pipeline, env, commit, name);
    if (!found) {
      problems.push_back(name + ": no environment up to " + env.name +
                         " declares this variable any more; remove the value with envflow var "
                         "unset --env " + env.name + " " + name);
      continue;
    }
    const VariableDecl& decl = found->decl;
    if (const std::string problem = content::check_variable_value(decl.type, decl.values, value);
        !problem.empty()) {
      problems.push_back(name + ": value " + emit_value(value) + " does not fit " + decl.path +
                         " on " + found->env + " (type " + decl.type + ", " +
                         with_article(decl.type) + "): " + problem);
    }
  }
  if (!first && !commit.empty()) {
    for (const auto& [name, decl] : declared_variables(pipeline.repo, commit)) {
      if (decl.environment_scope && !values.contains(name)) {
        problems.push_back(name + " is scope: environment (" + decl.path +
                           "): its default serves " + pipeline.config.first().name +
                           " only; set " + env.name + "'s own value first: envflow var set --env " +
                           env.name + " " + name + " VALUE");
      }
    }
  }
  return problems;
}

} // namespace

std::vector<std::string> override_problems(const model::Pipeline& after,
                                           const policy::Environment& env, const std::string& tip) {
  return fit_problems(after, env, tip, read_overrides(after, env.name).values);
}

std::vector<std::string> local_override_problems(const model::Pipeline& after,
                                                 const policy::Environment& env) {
  const auto head = after.head(env);
  return fit_problems(after, env, head.value_or(std::string()),
                      read_overrides(after, env.name).values);
}

std::vector<std::string> dropped_overrides(const model::Pipeline& before,
                                           const policy::Environment& env,
                                           const std::string& incoming) {
  std::vector<std::string> dropped;
  for (const auto& [name, value] : read_overrides(before, env.name).values) {
    if (!find_declaration(before, env, incoming, name)) {
      dropped.push_back(name);
    }
  }
  return dropped;
}

git::RefUpdate stage_overrides(git::Repository& repo, const policy::Environment& env,
                               const Overrides& before, const std::map<std::string, Value>& values,
                               const std::string& actor, const std::string& summary) {
  const std::string blob = repo.write_blob(emit_overrides(env.name, values));
  const std::string base = before.commit ? repo.tree_of(*before.commit) : std::string();
  const std::string tree = repo.update_tree(base, {{k_overrides_file, git::NewFile{blob}}});
  std::vector<std::string> parents;
  if (before.commit) {
    parents.push_back(*before.commit);
  }
  const std::string commit = repo.write_commit(tree, parents, "envflow " + env.name + ": " +
                                                                  summary + "\n",
                                               author_of(actor), util::now());
  return git::RefUpdate{model::local_ref(env.name), before.commit, commit};
}

OverrideChange set_override(pipeline::Session& session, const std::string& env_name,
                            const std::string& name, const std::string& text) {
  const policy::PipelineConfig& config = session.config();
  const model::Pipeline pipeline = session.pipeline();
  const policy::Environment& env = require_environment(config, env_name);
  if (env.name == config.first().name) {
    throw util::Refused(env.name +
                        " is the first environment and takes no overrides: change the "
                        "default in variables/" + name + ".yaml on " + config.first().name +
                        " instead");
  }
  const std::string head = pipeline.require_head(env);
  const auto found = find_declaration(pipeline, env, head, name);
  if (!found) {
    std::vector<std::string> names;
    for (const auto& [declared_name, decl] : declared_variables(session.repo(), head)) {
      names.push_back(declared_name);
    }
    throw util::Refused("unknown variable '" + name + "': " + env.name + " (" +
                        model::short_id(head) + ") declares " +
                        (names.empty() ? std::string("none") : util::join(names, ", ")) +
                        ", and no environment before it declares '" + name + "' either");
  }
  const VariableDecl& decl = found->decl;
  Value value;
  if (const std::string problem = content::parse_variable_text(decl.type, decl.values, text, value);
      !problem.empty()) {
    throw util::Refused("invalid value for " + name + " (type " + decl.type + ", " + decl.path +
                        " on " + found->env + "): " + problem);
  }
  // Values land in commits and the audit trail: no literal secret may.
  {
    Value holder;
    holder.type = Value::Type::mapping;
    holder.members.push_back(content::Entry{name, {1, 1}, value});
    const auto findings = content::scan_secrets(holder, "envflow var set");
    if (!findings.empty()) {
      throw util::Refused("refusing to store " + name + ": " + findings.front().message +
                          " (overrides are committed and audited; reference a secret with "
                          "${secrets.NAME} instead)");
    }
  }
  const Overrides before = read_overrides(pipeline, env.name);
  OverrideChange change;
  change.env = env.name;
  change.name = name;
  change.old_commit = before.commit;
  change.after = value;
  change.pending = found->pending;
  change.declared_on = found->env;
  if (const auto it = before.values.find(name); it != before.values.end()) {
    change.before = it->second;
    if (same_value(it->second, value)) {
      return change;
    }
  }
  auto values = before.values;
  values.insert_or_assign(name, value);
  pipeline::Operation operation;
  operation.updates.push_back(stage_overrides(session.repo(), env, before, values, session.actor(),
                                              "set " + name + "=" + emit_value(value)));
  change.new_commit = *operation.updates.back().target;
  session.apply(operation);
  change.changed = true;
  return change;
}

OverrideChange unset_override(pipeline::Session& session, const std::string& env_name,
                              const std::string& name) {
  const policy::PipelineConfig& config = session.config();
  const model::Pipeline pipeline = session.pipeline();
  const policy::Environment& env = require_environment(config, env_name);
  const Overrides before = read_overrides(pipeline, env.name);
  OverrideChange change;
  change.env = env.name;
  change.name = name;
  change.old_commit = before.commit;
  const auto it = before.values.find(name);
  if (it == before.values.end()) {
    if (!find_declaration(pipeline, env, pipeline.require_head(env), name)) {
      throw util::Refused("unknown variable '" + name + "': " + env.name +
                          " neither declares nor overrides it");
    }
    return change;
  }
  change.before = it->second;
  auto values = before.values;
  values.erase(name);
  pipeline::Operation operation;
  operation.updates.push_back(
      stage_overrides(session.repo(), env, before, values, session.actor(), "unset " + name));
  change.new_commit = *operation.updates.back().target;
  session.apply(operation);
  change.changed = true;
  return change;
}

std::string_view source_name(ValueSource source) {
  static constexpr auto k_names =
      std::to_array<util::EnumName<ValueSource>>({{ValueSource::default_value, "default"},
                                                  {ValueSource::override_value, "override"},
                                                  {ValueSource::unset, "unset"},
                                                  {ValueSource::undeclared, "undeclared"},
                                                  {ValueSource::pending, "pending"}});
  return util::name_of(k_names, source, "unset");
}

EffectiveVariables effective_variables(const model::Pipeline& pipeline, const std::string& env_name,
                                       const std::string& commit) {
  const policy::Environment& env = require_environment(pipeline.config, env_name);
  EffectiveVariables result;
  result.commit = commit.empty() ? pipeline.require_head(env) : commit;
  const auto declared = declared_variables(pipeline.repo, result.commit);
  const Overrides overrides = read_overrides(pipeline, env.name);
  result.local_commit = overrides.commit;
  const bool first = pipeline.config.index_of(env.name) == 0;

  for (const auto& [name, decl] : declared) {
    EffectiveVariable variable;
    variable.name = name;
    variable.type = decl.type;
    variable.default_value = decl.default_value;
    variable.environment_scope = decl.environment_scope;
    if (const auto it = overrides.values.find(name); it != overrides.values.end()) {
      variable.override_value = it->second;
      variable.effective = it->second;
      variable.source = ValueSource::override_value;
      variable.problem = content::check_variable_value(decl.type, decl.values, it->second);
    } else if (decl.default_value && (first || !decl.environment_scope)) {
      variable.effective = decl.default_value;
      variable.source = ValueSource::default_value;
    } else if (decl.environment_scope && !first) {
      variable.problem = "scope: environment, and " + env.name +
                         " has no value of its own: envflow var set --env " + env.name + " " +
                         name + " VALUE";
    }
    result.variables.push_back(std::move(variable));
  }
  for (const auto& [name, value] : overrides.values) {
    if (declared.contains(name)) {
      continue;
    }
    EffectiveVariable variable;
    variable.name = name;
    variable.override_value = value;
    if (const auto found = find_declaration(pipeline, env, "", name)) {
      variable.type = found->decl.type;
      variable.source = ValueSource::pending;
      variable.problem = content::check_variable_value(found->decl.type, found->decl.values, value);
    } else {
      variable.source = ValueSource::undeclared;
      variable.problem = "overrides a variable " + env.name +
                         " does not declare; remove it with envflow var unset --env " + env.name +
                         " " + name;
    }
    result.variables.push_back(std::move(variable));
  }
  std::sort(result.variables.begin(), result.variables.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return result;
}

} // namespace envflow::core::records
