#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "content/value.h"
#include "core/config.h"

namespace envflow::git {
class Repository;
}

namespace envflow::core {

// Environment-local data of `env` lives on refs/envflow/local/<env>: a chain
// of commits whose tree holds overrides.yaml (and, beside it, guardrails/ and
// evaluators/, which the functions below keep as they are).
inline constexpr const char* k_local_ref_prefix = "refs/envflow/local/";
inline constexpr const char* k_overrides_file = "overrides.yaml";

// "refs/envflow/local/<env>".
std::string local_ref(const std::string& env);

// A variable as the content of one commit declares it (variables/<name>.yaml).
struct VariableDecl {
  std::string name;                // the file's stem
  std::string path;                // "variables/<name>.yaml"
  std::string type;                // string, number, boolean, url, json, enum
  std::vector<std::string> values; // enum values
  std::optional<content::Value> default_value;
  std::string description;
};

// Variables declared by commit `commit`'s tree, by name. Files that do not
// load as YAML mappings are skipped (validation reports them).
std::map<std::string, VariableDecl> declared_variables(const git::Repository& repo,
                                                       const std::string& commit);

// The overrides of one environment.
struct Overrides {
  std::map<std::string, content::Value> values;
  std::optional<std::string> commit; // head of the local ref; nullopt when it does not exist
};

// Read the overrides of `env` from its local ref (none when the ref or the
// file is absent). Throws util::Refused, naming the file, line and column,
// when overrides.yaml is malformed.
Overrides read_overrides(const git::Repository& repo, const std::string& env);

// Parse overrides.yaml text (read from `path`, for messages). Throws
// util::Refused when it is not a mapping with a `variables` mapping.
std::map<std::string, content::Value> parse_overrides(std::string_view text,
                                                      const std::string& path);

// overrides.yaml for `env` holding `values`: a comment line, then
// `variables:` with one `name: value` line per override, sorted by name.
// Strings are written as JSON strings (valid YAML double-quoted scalars),
// numbers, booleans and null plain, sequences and mappings as JSON flow
// collections. The same input always gives the same bytes, and load_yaml
// reads back the same values and types.
std::string emit_overrides(const std::string& env,
                           const std::map<std::string, content::Value>& values);

// `value` on one line as YAML flow (JSON for every finite value): what
// emit_overrides writes after `name: `, and how messages and audit notes show it.
std::string emit_value(const content::Value& value);

// What `envflow var set` / `var unset` did.
struct OverrideChange {
  std::string env;
  std::string name;
  std::optional<content::Value> before;  // override before; nullopt: none
  std::optional<content::Value> after;   // override after; nullopt: none
  std::optional<std::string> old_commit; // local ref before
  std::string new_commit;                // local ref after ("" when nothing changed)
  bool changed = false;
};

// Set the override of variable `name` on `env` to `text`, parsed and checked
// against the type the head of `env`'s branch declares. Refused (util::Refused)
// for the first environment, an actor outside `env`'s `local` groups, an
// undeclared variable (naming the declared ones) or a value of the wrong type;
// util::UsageError for an unknown environment. Writes overrides.yaml in a new
// commit on the local ref (other files of its tree kept) and moves the ref
// compare-and-swap with one audit record (op "var-set", note "NAME=VALUE").
// Setting the value the override already has changes nothing.
OverrideChange set_override(git::Repository& repo, const PipelineConfig& config,
                            const std::string& env, const std::string& name,
                            const std::string& text, const std::string& actor);

// Remove the override of `name` on `env` (audit op "var-unset", note "NAME").
// Works for variables the content no longer declares, so a stale override can
// be cleared. No override: nothing changes; refused when `name` is neither
// overridden nor declared.
OverrideChange unset_override(git::Repository& repo, const PipelineConfig& config,
                              const std::string& env, const std::string& name,
                              const std::string& actor);

// Where a variable's effective value comes from.
enum class ValueSource { default_value, override_value, unset, undeclared };

// "default", "override", "unset", "undeclared".
std::string_view source_name(ValueSource source);

// One variable of an environment, as `var list` and `render` show it.
struct EffectiveVariable {
  std::string name;
  std::string type; // "" when undeclared
  std::optional<content::Value> default_value;
  std::optional<content::Value> override_value;
  std::optional<content::Value> effective; // nullopt when unset or undeclared
  ValueSource source = ValueSource::unset;
  std::string problem; // why the override does not fit the declared type; "" when it does
};

struct EffectiveVariables {
  std::string commit;                       // head of the environment's branch
  std::optional<std::string> local_commit;  // head of its local ref
  std::vector<EffectiveVariable> variables; // by name; overrides of undeclared variables included
};

// Every variable of `env`: declared by its branch head, with its overrides.
// util::UsageError for an unknown environment; util::Refused when its branch
// does not exist.
EffectiveVariables effective_variables(const git::Repository& repo, const PipelineConfig& config,
                                       const std::string& env);

// Overrides of environment `env` that `incoming_commit`'s content would make invalid: each entry
// names the variable and why ("variable removed", "type changed from number to string: value 12 is
// not a string"). Empty when all fine.
std::vector<std::string> incompatible_overrides(const git::Repository& repo,
                                                const PipelineConfig& config,
                                                const std::string& env,
                                                const std::string& incoming_commit);

// The environment named `name`, or util::UsageError listing the known ones.
const Environment& require_environment(const PipelineConfig& config, const std::string& name);

// Head commit of `env`'s branch; util::Refused when the branch is missing.
std::string environment_head(const git::Repository& repo, const Environment& env);

} // namespace envflow::core
