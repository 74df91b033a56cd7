#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/model/view.h"
#include "core/policy/config.h"
#include "git/repo.h"

// Holds on auto-promotion into an environment: each one a ref of its own,
// refs/envflow/holds/<env>/<id>, pointing at a hold commit (empty tree, no
// parent) whose message says who holds, when and why. A rollback puts one on
// the last environment; `envflow hold set` puts a manual one anywhere after
// the first. Releasing deletes the newest; an older hold is in force again.
// sync --auto stops at a hold; a person may sync through it.
namespace envflow::core::pipeline {}

namespace envflow::core::pipeline {
class Session;
}

namespace envflow::core::records {

struct Hold {
  enum class Kind { rollback, manual };
  std::string env;
  Kind kind = Kind::manual;
  std::string actor;     // the person who set it
  std::int64_t time = 0; // seconds since the epoch, UTC
  std::string reason;    // rollback: "live v1.1.0 -> v1.0.0"; manual: the reason given
  std::string commit;    // rollback: the commit live went back to; manual: ""
  std::string id;        // the hold commit's id ("" before it is written)

  // "rollback" or "manual".
  std::string kind_name() const;
  // One line: "rollback by dana at 2026-01-01T00:00:00Z: live v1.1.0 -> v1.0.0".
  std::string describe() const;
  nlohmann::json to_json() const;
  // The hold commit's message (`key: value` lines, one line each).
  std::string to_message() const;
  // Parse a hold commit's message; nullopt when it is not one envflow writes.
  static std::optional<Hold> parse(const std::string& message);
};

// The largest hold commit message accepted.
inline constexpr size_t k_max_hold_message = 4096;

// The hold commit `id`, checked (empty tree, no parent, a message parse
// reads back byte for byte); nullopt when it is none.
std::optional<Hold> read_hold(const git::Repository& repo, const std::string& id);

// Holds in force on `env`, oldest first (the newest is the one shown).
std::vector<Hold> holds_on(const model::Pipeline& pipeline, const std::string& env);
// The newest hold in force on `env`.
std::optional<Hold> hold_on(const model::Pipeline& pipeline, const std::string& env);
// The newest hold of each environment that has one, in pipeline order.
std::vector<Hold> holds_in_force(const model::Pipeline& pipeline);

// Write `hold`'s commit and return the update that creates its ref.
git::RefUpdate stage_hold(git::Repository& repo, Hold& hold);

struct HoldChange {
  std::string env;
  bool changed = false;     // false: nothing written (already held / not held)
  std::optional<Hold> hold; // set: the hold now in force; release: the hold released
};

// `envflow hold set`: a manual hold on `env` with `reason`. Not for the first
// environment, nor with an empty reason (util::UsageError). When `env` is
// held already, writes nothing and returns that hold.
HoldChange set_hold(pipeline::Session& session, const std::string& env, const std::string& reason);

// `envflow hold release`: release the newest hold on `env` (its ref is
// deleted compare-and-swap, so a hold set meanwhile stays). `reason` goes into
// the record. When `env` is not held, writes nothing.
HoldChange release_hold(pipeline::Session& session, const std::string& env,
                        const std::string& reason);

} // namespace envflow::core::records
