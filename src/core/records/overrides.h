#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "content/value.h"
#include "core/model/view.h"
#include "core/policy/config.h"
#include "git/repo.h"

namespace envflow::core::pipeline {
class Session;
}

namespace envflow::core::records {

// Environment-local data of `env` lives on refs/envflow/local/<env>: a chain
// of commits whose tree holds overrides.yaml (and, beside it, guardrails/ and
// evaluators/, which the functions below keep as they are).
inline constexpr const char* k_overrides_file = "overrides.yaml";


// A variable as the content of one commit declares it (variables/<name>.yaml).
struct VariableDecl {
  std::string name;                // the file's stem
  std::string path;                // "variables/<name>.yaml"
  std::string type;                // string, number, boolean, url, json, enum
  std::vector<std::string> values; // enum values
  std::optional<content::Value> default_value;
  std::string description;
  // `scope: environment`: the default serves the first environment only;
  // every later one needs a value of its own before the variable reaches it.
  bool environment_scope = false;
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

// Read the overrides of `env` from its local ref as `pipeline` sees it (none
// when the ref or the file is absent). Throws util::Refused, naming the
// file, line and column, when overrides.yaml is malformed.
Overrides read_overrides(const model::Pipeline& pipeline, const std::string& env);

// Parse overrides.yaml text (read from `path`, for messages). Throws
// util::Refused when it is not a mapping with a `variables` mapping.
std::map<std::string, content::Value> parse_overrides(std::string_view text,
                                                      const std::string& path);

// overrides.yaml for `env` holding `values` (written with
// content::YamlWriter): a comment line, then `variables:` with one
// `name: value` line per override, sorted by name, each value as emit_value
// writes it. The same input always gives the same bytes, and load_yaml reads
// back the same values and types.
std::string emit_overrides(const std::string& env,
                           const std::map<std::string, content::Value>& values);

// `value` on one line as YAML flow: strings and mapping keys double-quoted,
// numbers, booleans and null plain, sequences and mappings as flow
// collections in their order. That is JSON for every finite value whose
// strings hold no DEL, U+2028 or U+2029 (those strings have all non-ASCII
// characters escaped YAML's way, `\x7f`). What emit_overrides writes after
// `name: `, and how messages and audit notes show it.
std::string emit_value(const content::Value& value);
// True when `a` and `b` are the same value (as emit_value writes them).
bool same_value(const content::Value& a, const content::Value& b);

// Where environment `env` finds variable `name`: declared by `commit` (its
// content), or else, pending, by the nearest earlier environment's head (a
// value may be set before the variable arrives).
struct Declaration {
  VariableDecl decl;
  std::string env;      // the environment whose content declares it
  bool pending = false; // not declared by `commit` yet
};
std::optional<Declaration> find_declaration(const model::Pipeline& pipeline,
                                            const policy::Environment& env,
                                            const std::string& commit, const std::string& name);

// Rulebook helper (the overrides gate, core/pipeline/rules.cpp): the overrides `env`
// has in `after` that content `tip` would serve wrongly, one line each naming
// the variable: a value that does not fit its type, an override of a variable
// no environment up to `env` declares, a `scope: environment` variable
// without a value of its own.
std::vector<std::string> override_problems(const model::Pipeline& after,
                                           const policy::Environment& env, const std::string& tip);

// The same for a change of `env`'s local data: its overrides in `after`
// against its branch head there.
std::vector<std::string> local_override_problems(const model::Pipeline& after,
                                                 const policy::Environment& env);

// Overrides of `env` that a promotion bringing `incoming` would leave
// without a variable (no environment up to `env` declares it any more): the
// sync drops them in the same move.
std::vector<std::string> dropped_overrides(const model::Pipeline& before,
                                           const policy::Environment& env,
                                           const std::string& incoming);

// The update of `env`'s local ref that writes `values` as its overrides
// (other files of its tree kept), on top of `before`. Writes the objects,
// moves nothing.
git::RefUpdate stage_overrides(git::Repository& repo, const policy::Environment& env,
                               const Overrides& before,
                               const std::map<std::string, content::Value>& values,
                               const std::string& actor, const std::string& summary);

// What `envflow var set` / `var unset` did.
struct OverrideChange {
  std::string env;
  std::string name;
  std::optional<content::Value> before;  // override before; nullopt: none
  std::optional<content::Value> after;   // override after; nullopt: none
  std::optional<std::string> old_commit; // local ref before
  std::string new_commit;                // local ref after ("" when nothing changed)
  bool changed = false;
  bool pending = false;                  // the variable has not reached `env` yet
  std::string declared_on;               // the environment whose content declares it
};

// Set the override of variable `name` on `env` to `text`, parsed and checked
// against the type `env`'s content declares, or, when the variable has not
// reached `env` yet, the nearest earlier environment's (a pending value).
// Refused for the first environment, an undeclared variable (naming the
// declared ones) or a value of the wrong type or holding a literal secret;
// util::UsageError for an unknown environment. One operation on the local
// ref, judged by the rulebook (who may change `env`'s local data). Setting the
// value the override already has changes nothing.
OverrideChange set_override(pipeline::Session& session, const std::string& env,
                            const std::string& name, const std::string& text);

// Remove the override of `name` on `env`. Works for variables the content no
// longer declares, so a stale override can be cleared. No override: nothing
// changes; refused when `name` is neither overridden nor declared.
OverrideChange unset_override(pipeline::Session& session, const std::string& env,
                              const std::string& name);

// Where a variable's effective value comes from.
enum class ValueSource { default_value, override_value, unset, undeclared, pending };

// "default", "override", "unset", "undeclared", "pending".
std::string_view source_name(ValueSource source);

// One variable of an environment, as `var list` and `render` show it.
struct EffectiveVariable {
  std::string name;
  std::string type; // "" when undeclared
  std::optional<content::Value> default_value;
  std::optional<content::Value> override_value;
  std::optional<content::Value> effective; // nullopt when unset, undeclared or pending
  ValueSource source = ValueSource::unset;
  bool environment_scope = false;
  std::string problem; // why the override does not fit the declared type; "" when it does
};

struct EffectiveVariables {
  std::string commit;                       // the content they are resolved for
  std::optional<std::string> local_commit;  // head of the local ref
  std::vector<EffectiveVariable> variables; // by name; pending and undeclared overrides included
};

// Every variable `env` serves with content `commit` ("" = its branch head):
// declared by that content, with the environment's overrides; overrides of
// variables that have not arrived yet are listed as pending. util::UsageError
// for an unknown environment; util::Refused when its branch does not exist.
EffectiveVariables effective_variables(const model::Pipeline& pipeline, const std::string& env,
                                       const std::string& commit = "");

// The environment named `name`, or util::UsageError listing the known ones
// (with a suggestion when one is close).
const policy::Environment& require_environment(const policy::PipelineConfig& config,
                                               const std::string& name);

} // namespace envflow::core::records
