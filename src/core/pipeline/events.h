#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/model/audit.h"
#include "core/policy/config.h"
#include "util/http.h"

// Events (docs/events.md): after an operation moves refs, one JSON body per
// event is POSTed to each receiver of the policy's `events:` that takes its
// type, signed with HMAC-SHA256 under the key in the receiver's
// `secret_env` variable. Sending is bounded in time and never fails, blocks
// or changes the operation: what could not be delivered is one warning per
// receiver on stderr.
namespace envflow::core::pipeline {

// One event, ready to send.
struct Event {
  std::string type; // one of k_event_types
  std::string id;   // UUID; the same audit record always gives the same ids
  std::string body; // compact JSON (docs/json.md, "event"): the exact bytes signed
};

// The events `record` stands for (docs/events.md, "What sends what"): a
// sync, publish, rollback or hotfix record gives one of its own type; a
// record that moves refs/envflow/backports gives backport-open or
// backport-close for each issue it opened or closed (so a hotfix record
// gives hotfix, then backport-open; backport apply gives backport-close).
// Other records give none. Release names, promoted commits, the back-port
// issue and the workspace name are read from `repo`; what cannot be read is
// null in the body.
std::vector<Event> events_for_record(const git::Repository& repo, const model::AuditRecord& record);

// The headers of one delivery of `event` signed with `key`, in the order
// they are sent: Content-Type, User-Agent, X-Envflow-Event,
// X-Envflow-Delivery (`delivery_id`), X-Envflow-Signature-256.
std::vector<std::pair<std::string, std::string>>
delivery_headers(const Event& event, const std::string& key, const std::string& delivery_id);

// What sending takes from the world; tests replace parts of it.
struct EventIo {
  std::function<util::HttpResponse(const util::HttpRequest&)> post;
  std::function<std::chrono::steady_clock::time_point()> now;
  std::function<void(std::chrono::milliseconds)> sleep;
  // The value of an environment variable, nullopt when unset.
  std::function<std::optional<std::string>(const std::string&)> getenv;
  std::function<std::string()> delivery_id;
  // Print one warning (the text after "envflow: warning: ").
  std::function<void(const std::string&)> warn;

  // The real network, clock, environment and stderr.
  static EventIo real();
};

// How sending to one receiver went.
struct ReceiverReport {
  std::string url;
  int events = 0;    // events it takes among those sent
  int delivered = 0; // answered 2xx
  int attempts = 0;  // POSTs made, retries included
  std::string problem; // why some were not delivered ("" when all were)
};

// Retries: a connection error, a timeout, 408, 429 or 5xx is tried again
// after 250 ms, then 500 ms, 1 s, 2 s, 2 s (at most 5 attempts per event),
// as long as the attempt can start before the deadline; other answers are
// final (2xx delivered, any other status not). Every attempt ends by the
// deadline.
inline constexpr int k_event_max_attempts = 5;

// Send `events` to every receiver of `policy` that takes their type: each
// receiver gets its events in order, receivers are served side by side, and
// everything ends `policy.timeout_seconds` after the call (a receiver still
// busy then is abandoned). A receiver whose `secret_env` is unset or empty
// gets nothing (events are never sent unsigned). Calls `io.warn` once for
// each receiver that missed an event, saying how many and why. Never throws.
std::vector<ReceiverReport> send_events(const policy::EventPolicy& policy,
                                        const std::vector<Event>& events,
                                        const EventIo& io = EventIo::real());

// --- Entry points for code that moved refs ---

// Send the events of `records` (audit records as written, `id` set to the
// record's commit when known) to the receivers of `config`. Never throws;
// problems are warnings on stderr.
void emit_events_for_records(const git::Repository& repo, const policy::PipelineConfig& config,
                             const std::vector<model::AuditRecord>& records) noexcept;

} // namespace envflow::core::pipeline
