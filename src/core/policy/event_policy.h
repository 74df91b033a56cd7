#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "content/diagnostic.h"
#include "content/value.h"
#include "content/yaml_writer.h"

// The `events:` part of the policy (envflow.yaml): who receives signed event
// notifications, for which event types, and how long sending may take.
// Kept apart from config.cpp so the policy's other sections change
// independently; docs/events.md describes it for users.
namespace envflow::core::policy {

// Every event type, in the order docs/events.md lists them.
inline constexpr std::array<std::string_view, 7> k_event_types{
    "sync", "publish", "rollback", "hotfix", "backport-open", "backport-close", "check-failed"};

// Bounds of `events_timeout` (seconds): the time all receivers of one
// operation get together, retries included.
inline constexpr int k_events_timeout_default = 5;
inline constexpr int k_events_timeout_min = 1;
inline constexpr int k_events_timeout_max = 30;

// One item of `events:`.
struct EventReceiver {
  std::string url;             // http:// or https://
  std::string secret_env;      // name of the variable holding the HMAC key
  std::vector<std::string> on; // event types; empty = every type

  // True when this receiver wants events of `type`.
  bool wants(std::string_view type) const;
};

struct EventPolicy {
  std::vector<EventReceiver> receivers;
  int timeout_seconds = k_events_timeout_default;

  bool operator==(const EventPolicy&) const = default;
};

inline bool operator==(const EventReceiver& a, const EventReceiver& b) {
  return a.url == b.url && a.secret_env == b.secret_env && a.on == b.on;
}

// `events` and `events_timeout` of `root`, the policy document, once it has
// passed the pipeline schema (which checks their shape and unknown keys).
// Adds to `problems`, at the node concerned, what the schema cannot say: a
// URL that is not one, or carries a credential (a user, a password, a
// token), a receiver listed twice, a `secret_env` that holds a secret
// instead of naming a variable.
EventPolicy parse_event_policy(const content::Value& root, const std::string& path,
                               std::vector<content::Diagnostic>& problems);

// `policy` as the trailing entries of envflow.yaml's top-level mapping
// (none when it sets nothing), reading back through parse_event_policy as
// the same policy.
void write_event_policy(content::YamlWriter& out, const EventPolicy& policy);

} // namespace envflow::core::policy
