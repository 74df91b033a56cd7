#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "content/diagnostic.h"
#include "core/model/refs.h"
#include "core/policy/event_policy.h"

namespace envflow::git {
class Repository;
}

namespace envflow::core::policy {

// A verification check (docs/checks.md): a command run on the bundle about
// to be promoted into its environment; exit 0 is a pass.
struct Check {
  std::string name;
  std::vector<std::string> run; // argv (no shell)
  int timeout_seconds = 60;

  // The command as one line ("sh checks/x.sh").
  std::string command() const;
};

struct Environment {
  std::string name;
  std::string branch;
  std::vector<std::string> write;     // groups that may commit (first environment)
  std::vector<std::string> promote;   // groups that may sync into it
  int approvals = 0;                  // distinct approvals required to sync into it
  std::vector<std::string> approvers; // groups whose approvals count
  std::vector<std::string> local;     // groups that may change its local data
  bool auto_promote = false;
  std::vector<Check> checks;          // run for what is promoted into it (not on the first)
};

// A literal secret the policy accepts: a known false positive, named by the
// fingerprint its finding prints (content/secrets.h), and why it is safe.
struct AllowedSecret {
  std::string fingerprint;
  std::string reason;
};

// The pipeline and policy: `envflow.yaml` at refs/envflow/config.
struct PipelineConfig {
  // Out of line: copying and destroying all these containers would be
  // generated again in every file (docs/performance.md, "Build cost").
  PipelineConfig();
  PipelineConfig(const PipelineConfig&);
  PipelineConfig(PipelineConfig&&) noexcept;
  PipelineConfig& operator=(const PipelineConfig&);
  PipelineConfig& operator=(PipelineConfig&&) noexcept;
  ~PipelineConfig();

  std::vector<Environment> environments;
  std::map<std::string, std::vector<std::string>> groups; // group -> actors
  // person -> every name they act under (server login, email, ...), besides their own.
  std::map<std::string, std::vector<std::string>> people;
  std::vector<std::string> admins;
  std::vector<std::string> publishers;
  std::vector<std::string> hotfixers;
  int hotfix_approvals = 0;                  // distinct approvals a hotfix commit needs
  std::vector<std::string> hotfix_approvers; // groups whose hotfix approvals count
  std::vector<std::string> identity_env{"GL_USERNAME", "GITEA_PUSHER_NAME", "GL_USER",
                                        "REMOTE_USER"};
  bool identity_required = false;
  std::uint64_t max_file_size = 1024 * 1024;
  std::vector<AllowedSecret> secret_allowlist;
  bool release_sign = true;
  std::string release_format;          // "openpgp" or "ssh"; "" = git config gpg.format
  std::string release_signing_key;     // "" = git config user.signingKey
  std::string release_allowed_signers; // path inside the config ref's tree
  std::string backport_notify;
  EventPolicy events; // `events:` and `events_timeout` (core/policy/event_policy.h)

  // The environment named `name`, or nullptr.
  const Environment* find(const std::string& name) const;
  // The environment whose branch is `branch`, or nullptr.
  const Environment* by_branch(const std::string& branch) const;
  // Position of `name` in the pipeline, or -1.
  int index_of(const std::string& name) const;
  const Environment& first() const { return environments.front(); }
  const Environment& last() const { return environments.back(); }
  // True when `actor` belongs to one of `groups` (a group "*" admits everyone);
  // names are compared as the people they belong to.
  bool member(const std::string& actor, const std::vector<std::string>& groups) const;
  // The person `name` belongs to (`people:`): their one name; `name` itself
  // when the policy maps it to nobody.
  std::string person(const std::string& name) const;
  // "a, b" or "none": how messages name a list of groups.
  static std::string groups_text(const std::vector<std::string>& groups);
};

// The default pipeline for `envs` with `actor` in every group and no approvals.
PipelineConfig default_config(const std::vector<std::string>& envs, const std::string& actor);

// What a config is parsed for. A new config (config edit, a pushed config)
// must also grant what it asks for: approvers at least as many as the
// approvals they must give, an admin group with a member. The config in force is only read, so a
// repository whose config predates those rules keeps working and can be mended.
enum class ConfigUse { new_config, in_force };

// Parse and validate `text` (from `path`). Diagnostics are returned in
// `problems`; the config is returned only when there are none.
std::optional<PipelineConfig> parse_config(const std::string& text, const std::string& path,
                                           std::vector<content::Diagnostic>& problems,
                                           ConfigUse use = ConfigUse::new_config);

// Things `config` grants nobody, one sentence each: an environment nobody may
// promote into (no promoter, or approvals only the promoters themselves
// could give), a first environment nobody may write, nobody who may publish
// or finish a hotfix. Legal (an environment can be frozen on purpose, a CI
// identity added later), so `config edit` warns and goes ahead.
std::vector<std::string> policy_warnings(const PipelineConfig& config);

// A check offered to the policy's readers, commented out: `note` says what
// it is for (envflow init's starter policy).
struct SuggestedCheck {
  std::string note;
  Check check;
};

// `config` as envflow.yaml text (written with content::YamlWriter), with
// comments that explain each field; `suggested`, when given, commented out
// at the end of the second environment, each of its lines one '#' away from
// being in force.
std::string render_config(const PipelineConfig& config,
                          const SuggestedCheck* suggested = nullptr);

// Load the config from refs/envflow/config (or from commit `rev` of it).
// Returns nullopt when the ref does not exist; throws util::Refused with the
// diagnostics when it is invalid.
// What is wrong with the pipeline config stored at `commit` (a config
// commit being pushed or written): no envflow.yaml, a policy that does not
// parse or validate, an allowed-signers file it names and lacks. nullopt
// when it is fine. Reads objects only.
std::optional<std::string> config_commit_problem(const git::Repository& repo,
                                                 const std::string& commit);

std::optional<PipelineConfig> load_config(const git::Repository& repo,
                                          const std::string& rev = "");

// load_config, but refuse with a helpful message when the repository has no
// envflow config ("run envflow init or envflow setup").
PipelineConfig require_config(const git::Repository& repo);

} // namespace envflow::core::policy
