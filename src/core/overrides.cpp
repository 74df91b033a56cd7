#include "core/overrides.h"

#include "content/secrets.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include <nlohmann/json.hpp>

#include "content/variables.h"
#include "content/yaml.h"
#include "core/audit.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::core {

namespace {

using content::Value;

constexpr std::string_view k_variables_folder = "variables/";

// `text` as a JSON string, which is also a YAML double-quoted scalar: control
// characters, DEL, C1 controls and the BOM are escaped (YAML forbids them raw),
// other UTF-8 is kept as it is.
std::string quote(std::string_view text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    char buffer[8];
    switch (c) {
    case '"':
      out += "\\\"";
      continue;
    case '\\':
      out += "\\\\";
      continue;
    case '\n':
      out += "\\n";
      continue;
    case '\t':
      out += "\\t";
      continue;
    case '\r':
      out += "\\r";
      continue;
    default:
      break;
    }
    if (c < 0x20 || c == 0x7f) {
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      out += buffer;
      continue;
    }
    // U+0080..U+009F are 0xC2 0x80..0x9F; U+FEFF is 0xEF 0xBB 0xBF.
    if (c == 0xC2 && i + 1 < text.size()) {
      const auto next = static_cast<unsigned char>(text[i + 1]);
      if (next >= 0x80 && next <= 0x9F) {
        std::snprintf(buffer, sizeof buffer, "\\u%04x", next);
        out += buffer;
        ++i;
        continue;
      }
    }
    if (c == 0xEF && text.substr(i, 3) == "\xEF\xBB\xBF") {
      out += "\\ufeff";
      i += 2;
      continue;
    }
    out += static_cast<char>(c);
  }
  return out + "\"";
}

// Keys that YAML reads back as the same string without quotes.
bool plain_key(std::string_view key) {
  static const std::set<std::string_view> k_reserved{"true", "false", "null", "y",  "n",
                                                     "yes",  "no",    "on",   "off"};
  if (key.empty() || k_reserved.contains(key)) {
    return false;
  }
  if (!(key[0] == '_' || (key[0] >= 'a' && key[0] <= 'z'))) {
    return false;
  }
  return std::all_of(key.begin(), key.end(), [](char c) {
    return c == '_' || c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
  });
}

std::string emit_key(std::string_view key) {
  return plain_key(key) ? std::string(key) : quote(key);
}

std::string emit_number(double number) {
  if (std::isnan(number)) {
    return ".nan";
  }
  if (std::isinf(number)) {
    return number > 0 ? ".inf" : "-.inf";
  }
  // nlohmann writes the shortest text that reads back as the same double,
  // always with a '.' or an exponent, so YAML types it as a float.
  return nlohmann::json(number).dump();
}

std::string groups_text(const std::vector<std::string>& groups) {
  return groups.empty() ? std::string("(none)") : util::join(groups, ", ");
}

std::string overrides_label(const std::string& env) {
  return local_ref(env) + ":" + k_overrides_file;
}

// "a string", "an url" -> "a url": the article for a type name.
std::string with_article(const std::string& type) {
  if (type == "enum") {
    return "one of the enum's values";
  }
  const bool vowel = !type.empty() && std::string_view("aeio").find(type[0]) != std::string::npos;
  return (vowel ? "an " : "a ") + type;
}

bool same_value(const Value& a, const Value& b) { return emit_value(a) == emit_value(b); }

git::Person author_of(const std::string& actor) {
  return git::Person{actor, actor.find('@') != std::string::npos ? actor : "envflow@localhost"};
}

void require_local_member(const PipelineConfig& config, const Environment& env,
                          const std::string& actor) {
  if (!config.member(actor, env.local)) {
    throw util::Refused(actor + " may not change the local data of " + env.name +
                        ": only members of its local groups (" + groups_text(env.local) +
                        ", in envflow.yaml) may");
  }
}

// Write `values` as the local ref's new overrides.yaml and move the ref with
// its audit record. `before` is what read_overrides returned at the start.
std::string write_overrides(git::Repository& repo, const Environment& env, const Overrides& before,
                            const std::map<std::string, Value>& values, const std::string& actor,
                            const std::string& op, const std::string& note) {
  const std::string blob = repo.write_blob(emit_overrides(env.name, values));
  const std::string base = before.commit ? repo.tree_of(*before.commit) : std::string();
  const std::string tree = repo.update_tree(base, {{k_overrides_file, git::NewFile{blob}}});
  std::vector<std::string> parents;
  if (before.commit) {
    parents.push_back(*before.commit);
  }
  const std::string message = "envflow " + op + " " + env.name + ": " + note + "\n";
  const std::int64_t time = now();
  const std::string commit = repo.write_commit(tree, parents, message, author_of(actor), time);

  AuditRecord record;
  record.op = op;
  record.env = env.name;
  record.actor = actor;
  record.time = time;
  record.note = note;
  try {
    commit_with_audit(repo, {git::RefUpdate{local_ref(env.name), before.commit, commit}},
                      std::move(record));
  } catch (const git::RefConflict& conflict) {
    throw util::Refused(conflict.ref() + " moved since this command began; run it again");
  }
  return commit;
}

} // namespace

std::string local_ref(const std::string& env) { return k_local_ref_prefix + env; }

const Environment& require_environment(const PipelineConfig& config, const std::string& name) {
  if (const Environment* env = config.find(name); env != nullptr) {
    return *env;
  }
  std::vector<std::string> names;
  for (const auto& e : config.environments) {
    names.push_back(e.name);
  }
  throw util::UsageError("unknown environment '" + name +
                         "' (environments: " + util::join(names, ", ") + ")");
}

std::string environment_head(const git::Repository& repo, const Environment& env) {
  const auto head = repo.resolve_commit("refs/heads/" + env.branch);
  if (!head) {
    throw util::Refused("branch '" + env.branch + "' of environment " + env.name +
                        " does not exist; run envflow doctor");
  }
  return *head;
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

Overrides read_overrides(const git::Repository& repo, const std::string& env) {
  Overrides overrides;
  overrides.commit = repo.ref_target(local_ref(env));
  if (!overrides.commit) {
    return overrides;
  }
  const auto text = repo.read_path(*overrides.commit, k_overrides_file);
  if (text) {
    overrides.values = parse_overrides(*text, overrides_label(env));
  }
  return overrides;
}

std::string emit_value(const Value& value) {
  switch (value.type) {
  case Value::Type::null:
    return "null";
  case Value::Type::boolean:
    return value.boolean ? "true" : "false";
  case Value::Type::integer:
    return std::to_string(value.integer);
  case Value::Type::number:
    return emit_number(value.number);
  case Value::Type::string:
    return quote(value.string);
  case Value::Type::sequence: {
    std::string out = "[";
    for (std::size_t i = 0; i < value.items.size(); ++i) {
      out += (i == 0 ? "" : ", ") + emit_value(value.items[i]);
    }
    return out + "]";
  }
  case Value::Type::mapping: {
    // Keys always quoted: the collection then is JSON as well as YAML.
    std::string out = "{";
    for (std::size_t i = 0; i < value.members.size(); ++i) {
      out += (i == 0 ? "" : ", ") + quote(value.members[i].key) + ": " +
             emit_value(value.members[i].value);
    }
    return out + "}";
  }
  }
  return "null";
}

std::string emit_overrides(const std::string& env, const std::map<std::string, Value>& values) {
  std::string out = "# envflow variable overrides for " + env + "\n";
  if (values.empty()) {
    return out + "variables: {}\n";
  }
  out += "variables:\n";
  for (const auto& [name, value] : values) {
    out += "  " + emit_key(name) + ": " + emit_value(value) + "\n";
  }
  return out;
}

OverrideChange set_override(git::Repository& repo, const PipelineConfig& config,
                            const std::string& env_name, const std::string& name,
                            const std::string& text, const std::string& actor) {
  const Environment& env = require_environment(config, env_name);
  if (env.name == config.first().name) {
    throw util::Refused(env.name +
                        " is the first environment and takes no overrides: change the "
                        "default in variables/" +
                        name + ".yaml on " + config.first().name + " instead");
  }
  require_local_member(config, env, actor);
  const std::string head = environment_head(repo, env);
  const auto declared = declared_variables(repo, head);
  const auto found = declared.find(name);
  if (found == declared.end()) {
    std::vector<std::string> names;
    for (const auto& [declared_name, decl] : declared) {
      names.push_back(declared_name);
    }
    throw util::Refused("unknown variable '" + name + "': " + env.name + " (" + head.substr(0, 7) +
                        ") declares " +
                        (names.empty() ? std::string("none") : util::join(names, ", ")));
  }
  const VariableDecl& decl = found->second;
  Value value;
  if (const std::string problem = content::parse_variable_text(decl.type, decl.values, text, value);
      !problem.empty()) {
    throw util::Refused("invalid value for " + name + " (type " + decl.type + ", " + decl.path +
                        "): " + problem);
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
  const Overrides before = read_overrides(repo, env.name);
  OverrideChange change;
  change.env = env.name;
  change.name = name;
  change.old_commit = before.commit;
  change.after = value;
  if (const auto it = before.values.find(name); it != before.values.end()) {
    change.before = it->second;
    if (same_value(it->second, value)) {
      return change;
    }
  }
  auto values = before.values;
  values.insert_or_assign(name, value);
  change.new_commit =
      write_overrides(repo, env, before, values, actor, "var-set", name + "=" + emit_value(value));
  change.changed = true;
  return change;
}

OverrideChange unset_override(git::Repository& repo, const PipelineConfig& config,
                              const std::string& env_name, const std::string& name,
                              const std::string& actor) {
  const Environment& env = require_environment(config, env_name);
  require_local_member(config, env, actor);
  const Overrides before = read_overrides(repo, env.name);
  OverrideChange change;
  change.env = env.name;
  change.name = name;
  change.old_commit = before.commit;
  const auto it = before.values.find(name);
  if (it == before.values.end()) {
    const auto declared = declared_variables(repo, environment_head(repo, env));
    if (!declared.contains(name)) {
      throw util::Refused("unknown variable '" + name + "': " + env.name +
                          " neither declares nor overrides it");
    }
    return change;
  }
  change.before = it->second;
  auto values = before.values;
  values.erase(name);
  change.new_commit = write_overrides(repo, env, before, values, actor, "var-unset", name);
  change.changed = true;
  return change;
}

std::string_view source_name(ValueSource source) {
  switch (source) {
  case ValueSource::default_value:
    return "default";
  case ValueSource::override_value:
    return "override";
  case ValueSource::unset:
    return "unset";
  case ValueSource::undeclared:
    return "undeclared";
  }
  return "unset";
}

EffectiveVariables effective_variables(const git::Repository& repo, const PipelineConfig& config,
                                       const std::string& env_name) {
  const Environment& env = require_environment(config, env_name);
  EffectiveVariables result;
  result.commit = environment_head(repo, env);
  const auto declared = declared_variables(repo, result.commit);
  const Overrides overrides = read_overrides(repo, env.name);
  result.local_commit = overrides.commit;

  for (const auto& [name, decl] : declared) {
    EffectiveVariable variable;
    variable.name = name;
    variable.type = decl.type;
    variable.default_value = decl.default_value;
    if (const auto it = overrides.values.find(name); it != overrides.values.end()) {
      variable.override_value = it->second;
      variable.effective = it->second;
      variable.source = ValueSource::override_value;
      variable.problem = content::check_variable_value(decl.type, decl.values, it->second);
    } else if (decl.default_value) {
      variable.effective = decl.default_value;
      variable.source = ValueSource::default_value;
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
    variable.source = ValueSource::undeclared;
    variable.problem = "overrides a variable " + env.name +
                       " does not declare; remove it with "
                       "envflow var unset --env " +
                       env.name + " " + name;
    result.variables.push_back(std::move(variable));
  }
  std::sort(result.variables.begin(), result.variables.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return result;
}

std::vector<std::string> incompatible_overrides(const git::Repository& repo,
                                                const PipelineConfig& config,
                                                const std::string& env,
                                                const std::string& incoming_commit) {
  std::vector<std::string> problems;
  const Overrides overrides = read_overrides(repo, env);
  if (overrides.values.empty()) {
    return problems;
  }
  const auto incoming = declared_variables(repo, incoming_commit);
  std::map<std::string, VariableDecl> current;
  if (const Environment* target = config.find(env); target != nullptr) {
    if (const auto head = repo.resolve_commit("refs/heads/" + target->branch)) {
      current = declared_variables(repo, *head);
    }
  }
  for (const auto& [name, value] : overrides.values) {
    const auto it = incoming.find(name);
    if (it == incoming.end()) {
      problems.push_back(name + ": variable removed");
      continue;
    }
    const VariableDecl& decl = it->second;
    const std::string problem = content::check_variable_value(decl.type, decl.values, value);
    if (problem.empty()) {
      continue;
    }
    const auto old = current.find(name);
    if (old != current.end() && old->second.type != decl.type) {
      problems.push_back(name + ": type changed from " + old->second.type + " to " + decl.type +
                         ": value " + emit_value(value) + " is not " + with_article(decl.type));
    } else {
      problems.push_back(name + ": value " + emit_value(value) + " no longer fits " + decl.path +
                         ": " + problem);
    }
  }
  return problems;
}

} // namespace envflow::core
