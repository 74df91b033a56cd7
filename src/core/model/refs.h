#pragma once

#include <optional>
#include <string>
#include <string_view>

// The names envflow gives things in git, each defined once: ref names and
// prefixes, what kind of pipeline ref a name is, short ids. See
// docs/architecture.md ("The data model in git").
namespace envflow::core::policy {
struct PipelineConfig;
}

namespace envflow::core::policy {
struct Environment;
}

namespace envflow::core::model {

inline constexpr std::string_view k_heads_prefix = "refs/heads/";
inline constexpr std::string_view k_tags_prefix = "refs/tags/";
inline constexpr std::string_view k_envflow_prefix = "refs/envflow/";

inline constexpr const char* k_config_ref = "refs/envflow/config";
inline constexpr const char* k_config_file = "envflow.yaml";
inline constexpr const char* k_audit_ref = "refs/envflow/audit";
inline constexpr const char* k_live_ref = "refs/envflow/live";
inline constexpr const char* k_backports_ref = "refs/envflow/backports";
inline constexpr const char* k_local_ref_prefix = "refs/envflow/local/";
// refs/envflow/approvals/<env>/<commit>/<person> -> the approved commit.
inline constexpr const char* k_approvals_prefix = "refs/envflow/approvals/";
// refs/envflow/holds/<env>/<hold commit id> -> the hold commit.
inline constexpr const char* k_holds_prefix = "refs/envflow/holds/";
// refs/envflow/checks/<env>/<commit>/<check> -> a check result commit (core/pipeline/checks.h).
inline constexpr const char* k_checks_prefix = "refs/envflow/checks/";
// In a clone: the chain of operations made offline and not pushed yet.
inline constexpr const char* k_pending_ref = "refs/envflow/pending";
inline constexpr const char* k_hotfix_branch_prefix = "hotfix/";

// "refs/heads/<branch>" of an environment.
std::string branch_ref(const policy::Environment& env);
// "refs/tags/<name>".
std::string tag_ref(std::string_view name);
// "refs/envflow/local/<env>".
std::string local_ref(std::string_view env);

// True when `name` is a release tag name as envflow writes it: "vMAJOR.MINOR.PATCH"
// with no leading zeros (v1.2.3; not v01.2.3, not 1.2.3).
bool is_release_tag_name(std::string_view name);

// True for the forty zeros git uses for "no object", and for "".
bool is_zero(std::string_view id);
// True for an object id as git writes it: 40 lowercase hex digits.
bool is_object_id(std::string_view text);
// First seven hex digits of `id`; "(none)" for a zero or empty id.
std::string short_id(std::string_view id);
// A revision as a person reads it in a hint: an object id shortened (short_id),
// any other revision (a branch name, a tag, HEAD~2) as it was given.
std::string short_rev(std::string_view rev);

// A person's name (or another free string) as one ref name component:
// letters, digits and "-_+@" stay, everything else (".", "/", "%", spaces,
// non-ASCII ...) becomes %XX, so no name can make an invalid or ambiguous
// ref ("..", ".lock", "@{", a leading "."). decode_component reverses it;
// nullopt when `text` is not something encode_component writes.
std::string encode_component(std::string_view text);
std::optional<std::string> decode_component(std::string_view text);

// What a ref is to the pipeline.
enum class RefKind {
  environment, // refs/heads/<branch of an environment>
  release_tag, // refs/tags/vX.Y.Z
  live,
  local,       // refs/envflow/local/<env>
  config,
  audit,
  backports,
  approval,    // refs/envflow/approvals/<env>/<commit>/<person>
  hold,        // refs/envflow/holds/<env>/<id>
  check,       // refs/envflow/checks/<env>/<commit>/<check>
  hotfix_branch, // refs/heads/hotfix/<name>
  envflow_other, // anything else under refs/envflow/
  other,         // not the pipeline's business (feature branches, other tags, notes)
};

struct ClassifiedRef {
  RefKind kind = RefKind::other;
  int env_index = -1;  // environment, local, approval, hold: position in the pipeline (-1: unknown)
  std::string env;     // environment, local, approval, hold: the environment's name as written
  std::string name;    // release tag / hotfix name; approval: the person; hold: the id; check: its name
  std::string commit;  // approval, check: the commit named in the ref
};

// Classify `ref` against `config`'s environments.
ClassifiedRef classify_ref(const policy::PipelineConfig& config, const std::string& ref);

// "refs/envflow/approvals/<env>/<commit>/<person>".
std::string approval_ref(std::string_view env, std::string_view commit, std::string_view person);
// "refs/envflow/approvals/<env>/<commit>/": every approval of `commit` into `env`.
std::string approvals_prefix(std::string_view env, std::string_view commit);
// "refs/envflow/holds/<env>/<id>" and "refs/envflow/holds/<env>/".
std::string hold_ref(std::string_view env, std::string_view id);
std::string holds_prefix(std::string_view env);
// "refs/envflow/checks/<env>/<commit>/<check>" and "refs/envflow/checks/<env>/<commit>/".
std::string check_ref(std::string_view env, std::string_view commit, std::string_view check);
std::string checks_prefix(std::string_view env, std::string_view commit);
// True for a check name the policy allows ([a-z0-9][a-z0-9_-]{0,62}).
bool is_check_name(std::string_view name);

} // namespace envflow::core::model
