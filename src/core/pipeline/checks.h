#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/model/view.h"
#include "core/policy/config.h"
#include "git/repo.h"

// Verification checks (docs/checks.md): commands the policy lists per
// environment (`checks:`), run on the bundle that a promotion would give
// that environment. Each result is a ref of its own,
// refs/envflow/checks/<env>/<commit>/<check>, pointing at a result commit
// (no parent) whose tree holds one file, result.yaml. The rulebook judges
// those refs and refuses a promotion into an environment with checks until
// each has a passing result for that commit and bundle digest
// (check_blockers). The server only reads results; it never runs a check.
namespace envflow::core::pipeline {

// The file a result commit's tree holds.
inline constexpr const char* k_check_result_file = "result.yaml";
// Beside it when the policy requires signed results: a detached signature of
// result.yaml by the release signer.
inline constexpr const char* k_check_signature_file = "result.yaml.sig";
// Bytes of a check's output kept in its result (the last ones).
inline constexpr size_t k_check_output_max = 4000;

struct CheckResult {
  std::string env;     // the environment it guards
  std::string commit;  // the candidate commit
  std::string name;    // the check's name in the policy
  std::string command; // the command as run, one line
  std::string from;    // the environment's head when it ran ("" none)
  int exit_status = -1; // -1: could not run, was killed, or timed out
  bool timed_out = false;
  std::int64_t duration_ms = 0;
  std::string bundle_digest; // "sha256:<hex>" of the bundle it checked (bundle_digest)
  std::string actor;
  std::int64_t time = 0;
  std::string output;  // the tail of stdout and stderr
  std::string id;      // the result commit ("" before it is written)
  std::string signature; // result.yaml.sig ("" when unsigned)

  bool passed() const { return exit_status == 0 && !timed_out; }
  // "passed", "failed (exit 1)", "failed (timed out after 3 s)".
  std::string outcome() const;
  nlohmann::json to_json() const;
  // result.yaml as envflow writes it: strings double-quoted, fixed key order.
  std::string to_yaml() const;
  // Parse result.yaml; nullopt unless it reads back byte for byte as to_yaml writes it.
  static std::optional<CheckResult> parse(const std::string& text);
};

// True when the policy wants check results signed by an allowed signer:
// signed releases (release.sign) with allowed signers named.
bool check_signatures_required(const policy::PipelineConfig& config);

// The result commit `id`, checked: no parent, a tree with result.yaml (and
// result.yaml.sig, nothing else),
// a result that parse accepts. nullopt when it is none.
std::optional<CheckResult> read_check_result(const git::Repository& repo, const std::string& id);

// The bundle promoting `commit` into `env` gives it (render_bundle of that
// commit with `env`'s local data as `pipeline` reads it), and its digest:
// "sha256:" + SHA-256 of bundle_text without `generated_by` (so the version
// of envflow that renders it does not matter).
nlohmann::json candidate_bundle(const model::Pipeline& pipeline, const policy::Environment& env,
                                const std::string& commit);
std::string bundle_digest(const nlohmann::json& bundle);

// One check of an environment, as the results read for a commit.
struct CheckState {
  enum class State { passed, failed, stale, missing };
  std::string name;
  State state = State::missing;
  std::optional<CheckResult> result; // the recorded result, when there is one

  // "passed", "failed", "stale", "missing".
  std::string state_name() const;
};

// The state of each of `env`'s checks for `commit` whose bundle has
// `digest` (a result for another digest is stale), in policy order.
std::vector<CheckState> check_states(const model::Pipeline& pipeline,
                                     const policy::Environment& env, const std::string& commit,
                                     const std::string& digest);

// Why promoting `commit` into `env` is not allowed yet as far as checks go,
// one line per check that has no passing result for that commit and its
// bundle; empty when every check passed (or `env` has none). util::Refused
// when the bundle cannot be rendered. The rule the rulebook applies.
std::vector<std::string> check_blockers(const model::Pipeline& pipeline,
                                        const policy::Environment& env, const std::string& commit);

class Session;

// One check `run_checks` went through.
struct CheckRun {
  CheckResult result;
  bool ran = false; // false: a passing result for this commit and bundle was kept
};

struct CheckReport {
  std::string env;
  std::string source; // the environment it is promoted from
  std::string commit;
  std::string digest;
  std::vector<CheckRun> runs;
  bool ok() const;
};

// `envflow check ENV [--rev REV]`: render the bundle promoting `rev`
// (default: the previous environment's head) into `env` would give, write
// it to a temporary file, run each check without a passing result for it
// (ENVFLOW_BUNDLE, ENVFLOW_ENV, ENVFLOW_COMMIT, ENVFLOW_FROM set; its
// timeout; output bounded), and record the results through `session`
// (first removing results they replace, then one operation creating a ref
// per result). util::UsageError for the first environment, an unknown one,
// one without checks, or an unknown revision.
CheckReport run_checks(Session& session, const std::string& env, const std::string& rev = "");

// The candidate of a promotion from `source`: the commit `rev` names, or
// `source`'s head in `pipeline` when `rev` is "" (what approve and check
// take). Throws util::UsageError for a revision that names no commit.
std::string candidate_commit(Session& session, const model::Pipeline& pipeline,
                             const policy::Environment& source, const std::string& rev);

} // namespace envflow::core::pipeline
