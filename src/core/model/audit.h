#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/model/refs.h"
#include "git/repo.h"

namespace envflow::core::model {

// One reference movement: ids are 40 hex digits, zeros for "none".
struct RefMove {
  std::string ref;
  std::string old_id;
  std::string new_id;
};

// One audit record: a commit on refs/envflow/audit whose message holds the
// fields below as `key: value` lines (see docs/audit.md).
struct AuditRecord {
  std::string op;       // init, sync, approve, var-set, publish, rollback, hotfix, ...
  std::string env;      // environment concerned, "" when none
  std::vector<RefMove> moves;
  std::string actor;
  std::int64_t time = 0; // seconds since the epoch (UTC)
  std::vector<std::string> approvals;
  std::string commit;   // the commit the operation is about (approve: the approved one)
  std::string tool;     // "envflow 0.1.0"
  std::string note;     // free text (reason, release, ...)
  std::string id;       // commit id, when read back

  // The commit message (docs/audit.md): one `key: value` line per field. A
  // line break inside a field becomes a space, so no value can add a field
  // and the record reads back (from_message) as written.
  std::string to_message() const;
  // Parse a record from an audit commit message; nullopt when it is not one.
  static std::optional<AuditRecord> from_message(const std::string& message);
};

// Write `updates` and one audit record describing them in a single atomic,
// compare-and-swap ref transaction, the record appended to `trail`
// (refs/envflow/audit, or a clone's refs/envflow/pending). The record's
// moves are filled from `updates` unless it has some. When only the trail
// moved meanwhile (another operation appended a record), the record is
// re-parented and the transaction tried again; any other moved ref throws
// util::RefConflict. Returns the record's commit id.
std::string commit_with_audit(git::Repository& repo, const std::vector<git::RefUpdate>& updates,
                              AuditRecord record, const std::string& trail = k_audit_ref);

// Every record of `trail` (a ref name, or a commit id), oldest first.
std::vector<AuditRecord> read_audit(const git::Repository& repo,
                                    const std::string& trail = k_audit_ref);

// The records of `trail` from its tip backwards: `visit` returns false to
// stop. Reads only as far as it goes (log's first page costs one page).
void walk_audit(const git::Repository& repo, const std::string& trail,
                const std::function<bool(const AuditRecord&)>& visit);

// Current time for records: $ENVFLOW_NOW (seconds) when set, else the clock.
std::int64_t now();

} // namespace envflow::core::model
