#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/audit.h"
#include "core/backport.h"
#include "core/hold.h"
#include "core/overrides.h"
#include "core/release.h"
#include "core/remote.h"
#include "core/sync.h"

namespace envflow::git {
class Repository;
}

// The JSON documents of the commands (docs/json.md), each built by one
// function that the command's `--format json` output and `envflow serve`'s
// JSON API both call, so the two can never disagree. Each is defined in its
// command's file; the actions serve runs are the core functions the commands
// call (see src/serve/actions.cpp).
namespace envflow::cli {

// --- Reading ---

// `envflow status --format json`: the pipeline of the repository's config.
nlohmann::json status_document(const git::Repository& repo);

// `envflow releases --format json`: `releases` oldest first (list_releases).
nlohmann::json releases_document(const std::vector<core::Release>& releases);

// `envflow backport list --format json`.
nlohmann::json backports_document(const std::vector<core::BackportIssue>& issues);

// `envflow hold list --format json`: {"holds": [...]}.
nlohmann::json holds_document(const std::vector<core::Hold>& holds,
                              const core::PipelineConfig& config);

// `envflow var list --env ENV --format json`.
nlohmann::json variables_document(const core::EffectiveVariables& variables);

// Which audit records `envflow log` shows. Empty fields match everything.
struct LogFilter {
  std::string env;   // --env: records naming it, or moving its branch or local ref
  std::string op;    // --op
  std::string actor; // --by
};

// The records of `repo`'s audit trail that `filter` keeps, oldest first.
// Throws util::UsageError for an environment the pipeline lacks, and, like
// require_config, util::Refused when there is neither a config nor a trail.
std::vector<core::AuditRecord> log_records(const git::Repository& repo, const LogFilter& filter);

// `envflow log --format json`: one object per record.
nlohmann::json log_document(const std::vector<core::AuditRecord>& records);

// `envflow diff FROM TO [--values] --format json`: the semantic diff between
// two environments or revisions, with `from_rev` / `to_rev`; with `values`,
// each changed item also carries the old and new value of every changed field.
nlohmann::json diff_document(const git::Repository& repo, const std::string& from_rev,
                             const std::string& to_rev, bool values);

// --- Acting ---

// What `envflow sync ENV [--rev REV] [--dry-run]` did.
struct SyncOutcome {
  core::SyncPlan plan;
  bool dry_run = false;
  bool moved = false;
};

// `envflow sync ENV`: run every gate (core::plan_sync) and, unless the
// target is already in sync or `dry_run`, move it (core::apply_sync).
// Throws what those throw. `config` must outlive the outcome.
SyncOutcome sync_environment(git::Repository& repo, const core::PipelineConfig& config,
                             const core::SyncRequest& request, core::DryRun dry_run);

// `envflow sync ENV --format json`.
nlohmann::json sync_document(const SyncOutcome& outcome);

// `envflow approve ENV --format json`.
nlohmann::json approve_document(const core::ApproveResult& result);

// The options of `envflow publish` from its words: `bump` (auto, patch, minor,
// major) and `version` ("" or vX.Y.Z). Throws util::UsageError for others.
core::PublishOptions publish_options(const std::string& bump, const std::string& version);

// `envflow publish --format json`.
nlohmann::json publish_document(const core::PublishResult& result);

// `envflow rollback TAG --format json`.
nlohmann::json rollback_document(const core::RollbackResult& result);

// `envflow hold set|release ENV --format json`; `action` is "set" or "release".
nlohmann::json hold_change_document(const core::HoldChange& change, const std::string& action,
                                    const core::PipelineConfig& config);

// `envflow var set|unset --format json`.
nlohmann::json var_change_document(const core::OverrideChange& change);

// `envflow backport apply ID --format json`.
nlohmann::json backport_apply_document(const core::BackportApplyResult& result);

// The `pushed` member a command run with `--push` adds to its document
// (defined in app.cpp, which runs --push).
nlohmann::json pushed_document(const core::PushOutcome& outcome);

} // namespace envflow::cli
