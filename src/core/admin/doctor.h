#pragma once

#include <string>
#include <vector>

#include "core/model/view.h"

namespace envflow::git {
class Repository;
}

namespace envflow::core::pipeline {
class Session;
}

namespace envflow::core::admin {

// One result of `envflow doctor`: what was checked, what was found, and
// how to mend it ("" when there is nothing to mend).
struct Finding {
  enum class Level { ok, warning, error };
  Level level = Level::ok;
  std::string check; // "config", "branches", "invariant-1", "audit-chain", ...
  std::string message;
  std::string mend;

  // "ok", "warning" or "error".
  static const char* level_name(Level level);
};

// Check the invariants (docs/concepts.md) and the installation of `repo`:
// - "config": refs/envflow/config exists, loads and validates;
// - "branches": every environment branch exists;
// - "content": every environment head validates (the rulebook's options);
// - "invariant-1": for consecutive environments A -> B, B's head is an
//   ancestor of A's head, except hotfix commits on the last environment
//   whose back-port (refs/envflow/backports) is still open;
// - "audit-chain": refs/envflow/audit is a linear chain of parseable records
//   of records envflow writes (a message on the empty tree, small), and,
//   per ref, each record's old id is the previous record's new id;
// - "audit-authority": each record's actor was allowed its moves by the
//   policy in force before it, as the rulebook's judge_authority decides;
// - "invariant-2": every environment branch, the config ref, local refs,
//   the live pointer and release tags are where the trail last moved them;
// - "hooks": the pre-commit hook is envflow's (non-bare repositories);
// - "remote": the remote (envflow.remote, else origin) fetches its envflow
//   refs into this clone's tracking namespace, not onto its own refs.
// Each check reports at least one finding; one finding per problem found.
// Never throws for what it finds, only for I/O failures reading `repo`.
// Refs are read through `refs`: a repository's own, or in a clone the
// server's as fetched (the checks of this clone's set-up read the clone).
// Validations use `cache` (model::Pipeline::cache; nullptr: none).
std::vector<Finding> run_doctor(const git::Repository& repo, const model::RefView& refs,
                                content::ResultCache* cache);
// The same through a session: its repository, the refs it reads, its cache.
std::vector<Finding> run_doctor(const pipeline::Session& session);

} // namespace envflow::core::admin
