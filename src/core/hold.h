#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/audit.h"
#include "core/config.h"

namespace envflow::git {
class Repository;
}

namespace envflow::core {

// Audit operations that put a hold on auto-promotion into an environment,
// and the one that releases it (see docs/commands/hold.md).
inline constexpr const char* k_op_rollback = "rollback";
inline constexpr const char* k_op_hold = "hold";
inline constexpr const char* k_op_hold_release = "hold-release";

// A hold on auto-promotion into one environment. Holds are not stored
// anywhere but in the audit trail: a `rollback` or `hold` record for the
// environment sets one; a `hold-release` record that names it (its `commit`
// field holds the id of the record that set the hold) releases it.
struct Hold {
  enum class Kind { rollback, manual };
  std::string env;
  Kind kind = Kind::rollback;
  std::string actor;      // who rolled back / set it
  std::int64_t time = 0;  // when (seconds since the epoch, UTC)
  std::string reason;     // rollback: "live v1.1.0 -> v1.0.0"; manual: the reason given
  std::string commit;     // rollback: the commit live went back to; manual: ""
  std::string record;     // id of the audit record that set the hold

  // "rollback" or "manual".
  std::string kind_name() const;
  // One line: "rollback by dana@example.com at 2026-01-01T00:00:00Z: live v1.1.0 -> v1.0.0".
  std::string describe() const;
  nlohmann::json to_json() const;
};

// The holds in force on the environments of `config`, derived from `trail`
// (oldest record first, as read_audit returns it), in pipeline order. A hold
// on an environment the config no longer has is moot and not listed.
std::vector<Hold> holds_in_force(const std::vector<AuditRecord>& trail,
                                 const PipelineConfig& config);

// The hold in force on `env`, if any. Scans `trail` once.
std::optional<Hold> hold_on(const std::vector<AuditRecord>& trail, const std::string& env);

// True when `actor` may set or release a hold on `env`: a publisher, or a
// member of the environment's promote groups.
bool may_hold(const PipelineConfig& config, const Environment& env, const std::string& actor);

struct HoldChange {
  std::string env;
  bool changed = false;     // false: nothing written (already held / not held)
  std::optional<Hold> hold; // set: the hold now in force; release: the hold released
};

// `envflow hold set`: put a manual hold on `env` with `reason` (one audit
// record, op `hold`). Not for the first environment (nothing is promoted
// into it: util::UsageError), nor with an empty reason (util::UsageError).
// Refused (util::Refused) for an actor who may not hold (see may_hold).
// When `env` is already held, writes nothing and returns that hold.
HoldChange set_hold(git::Repository& repo, const PipelineConfig& config, const std::string& env,
                    const std::string& reason, const std::string& actor);

// `envflow hold release`: release the hold in force on `env` (one audit
// record, op `hold-release`, whose `commit` is the id of the record that set
// the hold, so a hold set meanwhile by a later rollback stays in force).
// `reason` (may be empty) goes into the record's note. When `env` is not
// held, writes nothing. Same errors as set_hold.
HoldChange release_hold(git::Repository& repo, const PipelineConfig& config,
                        const std::string& env, const std::string& reason,
                        const std::string& actor);

// "2026-01-01T00:00:00Z".
std::string hold_time_text(std::int64_t seconds);

} // namespace envflow::core
