#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "git/repo.h"

namespace envflow::core {

inline constexpr const char* k_audit_ref = "refs/envflow/audit";

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
// compare-and-swap ref transaction. The record's moves are filled from
// `updates`. When only the audit ref moved meanwhile (another operation
// appended a record), the record is re-parented and the transaction tried
// again; any other moved ref throws git::RefConflict.
void commit_with_audit(git::Repository& repo, const std::vector<git::RefUpdate>& updates,
                       AuditRecord record);

// Every audit record, oldest first.
std::vector<AuditRecord> read_audit(const git::Repository& repo);

// Current time for records: $ENVFLOW_NOW (seconds) when set, else the clock.
std::int64_t now();

} // namespace envflow::core
