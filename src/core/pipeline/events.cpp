#include "core/pipeline/events.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include <nlohmann/json.hpp>

#include "content/yaml.h"
#include "core/pipeline/checks.h"
#include "core/records/backport.h"
#include "core/release/release.h"
#include "util/crypto.h"
#include "util/json.h"
#include "util/strings.h"
#include "util/time.h"

namespace envflow::core::pipeline {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// Promoted commits listed in a body; `commits_total` says how many there were.
constexpr size_t k_max_commits = 100;
// How far past the deadline a receiver's thread is waited for before it is
// abandoned (libcurl ends every attempt by the deadline; this is a guard).
constexpr milliseconds k_grace{1000};

json id_or_null(const std::string& id) {
  return id.empty() || id == git::k_zero_id ? json(nullptr) : json(id);
}

json text_or_null(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

// The repository's name: its working tree's folder, or its git folder
// without ".git" when bare ("/srv/git/content.git" -> "content").
std::string repository_name(const git::Repository& repo) {
  std::string dir = repo.root();
  while (dir.size() > 1 && dir.back() == '/') {
    dir.pop_back();
  }
  std::string name = dir.substr(dir.rfind('/') + 1);
  if (name.ends_with(".git") && name.size() > 4) {
    name.resize(name.size() - 4);
  }
  return name;
}

// The `name` of workspace.yaml at `commit`, or "" when it cannot be read.
std::string workspace_name(const git::Repository& repo, const std::string& commit) {
  if (commit.empty()) {
    return {};
  }
  try {
    const auto text = repo.read_path(commit, "workspace.yaml");
    if (!text) {
      return {};
    }
    const content::YamlResult loaded = content::load_yaml(*text, "workspace.yaml");
    return loaded.value && loaded.value->is_mapping() ? loaded.value->string_at("name") : "";
  } catch (const std::exception&) {
    return {};
  }
}

// The release tag whose tag object is `id` ("" when none).
std::string tag_named_by(const git::Repository& repo, const std::string& id) {
  if (id.empty() || id == git::k_zero_id) {
    return {};
  }
  for (const std::string& ref : repo.list_refs("refs/tags/*")) {
    if (repo.ref_target(ref) == id) {
      return ref.substr(std::string_view("refs/tags/").size());
    }
  }
  return {};
}

struct BackportChangeOfRecord {
  std::string type; // backport-open or backport-close
  records::BackportIssue issue;
};

// Issues the move of refs/envflow/backports opened or closed, by id.
std::vector<BackportChangeOfRecord> backport_changes(const git::Repository& repo,
                                                     const model::RefMove& move) {
  std::vector<BackportChangeOfRecord> out;
  if (move.new_id == git::k_zero_id) {
    return out;
  }
  const std::string old_id = move.old_id == git::k_zero_id ? "" : move.old_id;
  for (const git::Change& change : repo.diff_trees(old_id, move.new_id)) {
    if (change.status == git::Change::Status::removed || !change.path.ends_with(".yaml") ||
        change.path.find('/') != std::string::npos) {
      continue;
    }
    const std::string where = std::string(model::k_backports_ref) + ":" + change.path;
    records::BackportIssue now =
        records::BackportIssue::parse(repo.read_blob(change.new_id), where);
    std::optional<records::BackportIssue> before;
    if (change.status == git::Change::Status::modified) {
      before = records::BackportIssue::parse(repo.read_blob(change.old_id), where);
    }
    if (now.is_open() && (!before || !before->is_open())) {
      out.push_back({"backport-open", std::move(now)});
    } else if (!now.is_open() && (!before || before->is_open())) {
      out.push_back({"backport-close", std::move(now)});
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.issue.id < b.issue.id;
  });
  return out;
}

// What every event of one record shares.
json common_body(const git::Repository& repo, const model::AuditRecord& record) {
  json refs = json::array();
  std::string release;
  std::string previous_release;
  const model::RefMove* branch_move = nullptr;
  for (const model::RefMove& move : record.moves) {
    refs.push_back({{"ref", move.ref}, {"old", id_or_null(move.old_id)},
                    {"new", id_or_null(move.new_id)}});
    if (move.ref == model::k_live_ref) {
      release = tag_named_by(repo, move.new_id);
      previous_release = tag_named_by(repo, move.old_id);
    }
    if (branch_move == nullptr && move.ref.starts_with("refs/heads/") &&
        move.new_id != git::k_zero_id) {
      branch_move = &move;
    }
  }
  for (const model::RefMove& move : record.moves) {
    if (release.empty() && move.ref.starts_with("refs/tags/") && move.new_id != git::k_zero_id) {
      release = move.ref.substr(std::string_view("refs/tags/").size());
    }
  }
  json commits = json::array();
  size_t total = 0;
  if (branch_move != nullptr) {
    const std::string from = branch_move->old_id == git::k_zero_id ? "" : branch_move->old_id;
    const std::vector<std::string> ids = repo.commits_between(from, branch_move->new_id);
    total = ids.size();
    // Newest first from git: keep the newest, list them oldest first.
    for (size_t i = std::min(ids.size(), k_max_commits); i-- > 0;) {
      commits.push_back({{"id", ids[i]}, {"summary", repo.commit(ids[i]).summary}});
    }
  }
  return json{{"time", util::iso_time(record.time)},
              {"repository", repository_name(repo)},
              {"workspace", text_or_null(workspace_name(repo, record.commit))},
              {"environment", text_or_null(record.env)},
              {"actor", text_or_null(record.actor)},
              {"commit", id_or_null(record.commit)},
              {"commits", commits},
              {"commits_total", total},
              {"release", text_or_null(release)},
              {"previous_release", text_or_null(previous_release)},
              {"refs", refs},
              {"audit_record", text_or_null(record.id)},
              {"note", record.note},
              {"tool", record.tool}};
}

Event make_event(const model::AuditRecord& record, json body, const std::string& type,
                 const json& backport, const std::string& check = "") {
  Event event;
  event.type = type;
  const std::string issue = backport.is_object() ? std::to_string(backport.value("id", 0)) : check;
  event.id = record.id.empty()
                 ? util::random_uuid()
                 : util::name_uuid("envflow event\n" + record.id + "\n" + type + "\n" + issue);
  body["type"] = type;
  body["id"] = event.id;
  body["backport"] = backport;
  // Text from commits may be any bytes: never let one stop the event.
  event.body = util::dump_json(body, -1, util::BadUtf8::replace);
  return event;
}

// --- sending ---

struct Verdict {
  bool delivered = false;
  bool retry = false;
  std::string why;
};

Verdict judge(const util::HttpResponse& response) {
  if (response.status >= 200 && response.status < 300) {
    return {true, false, ""};
  }
  if (response.status == 0) {
    return {false, true, response.error.empty() ? "no answer" : response.error};
  }
  const bool retry = response.status == 408 || response.status == 429 || response.status >= 500;
  return {false, retry, "HTTP " + std::to_string(response.status)};
}

// Deliver `events` to `receiver` one after the other until `deadline`.
ReceiverReport serve(const policy::EventReceiver& receiver, const std::vector<Event>& events,
                     const std::string& key, Clock::time_point deadline, int timeout_seconds,
                     const EventIo& io) {
  ReceiverReport report;
  report.url = receiver.url;
  report.events = static_cast<int>(events.size());
  const std::string ran_out = "events_timeout (" + std::to_string(timeout_seconds) + " s) ran out";
  std::vector<std::string> missed;
  std::string why;
  for (const Event& event : events) {
    util::HttpRequest request;
    request.url = receiver.url;
    request.body = event.body;
    request.headers = delivery_headers(event, key, io.delivery_id());
    milliseconds backoff{250};
    Verdict verdict;
    int tries = 0;
    bool out_of_time = false;
    for (;;) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - io.now());
      if (left <= milliseconds(0)) {
        out_of_time = true;
        break;
      }
      request.timeout = left;
      ++tries;
      ++report.attempts;
      verdict = judge(io.post(request));
      if (verdict.delivered || !verdict.retry || tries == k_event_max_attempts) {
        break;
      }
      if (io.now() + backoff >= deadline) {
        out_of_time = true;
        break;
      }
      io.sleep(backoff);
      backoff = std::min(backoff * 2, milliseconds(2000));
    }
    if (verdict.delivered) {
      ++report.delivered;
      continue;
    }
    missed.push_back(event.type);
    if (!why.empty()) {
      continue; // the first failure says why; the later ones follow from it
    }
    if (tries == 0) {
      why = "not sent: " + ran_out;
    } else if (verdict.retry) {
      why = verdict.why + " (" + std::to_string(tries) + " attempt" + (tries == 1 ? "" : "s") +
            (out_of_time ? ", then " + ran_out : "") + ")";
    } else {
      why = verdict.why + " (not retried)";
    }
  }
  if (!missed.empty()) {
    report.problem = std::to_string(missed.size()) + " of " + std::to_string(events.size()) +
                     " event" + (events.size() == 1 ? "" : "s") + " not delivered (" +
                     util::join(missed, ", ") + "): " + why;
  }
  return report;
}

// What the receivers' threads share with the caller, kept alive by the
// threads too, so one abandoned at the deadline reads nothing freed.
struct Shared {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::optional<ReceiverReport>> reports;
};

} // namespace

std::vector<Event> events_for_record(const git::Repository& repo,
                                     const model::AuditRecord& record) {
  std::vector<Event> events;
  const bool own = record.op == "sync" || record.op == "publish" || record.op == "rollback" ||
                   record.op == "hotfix";
  std::vector<BackportChangeOfRecord> backports;
  bool backports_read = true;
  for (const model::RefMove& move : record.moves) {
    if (move.ref == model::k_backports_ref) {
      try {
        backports = backport_changes(repo, move);
      } catch (const std::exception&) {
        backports_read = false;
      }
    }
  }
  const bool backport_op = record.op == "backport-open" || record.op == "backport-close" ||
                           record.op == "backport-apply";
  // A record of check results gives check-failed for each result that failed.
  std::vector<CheckResult> failed;
  if (record.op == "check") {
    for (const model::RefMove& move : record.moves) {
      if (util::starts_with(move.ref, model::k_checks_prefix) && !model::is_zero(move.new_id)) {
        if (auto result = read_check_result(repo, move.new_id); result && !result->passed()) {
          failed.push_back(std::move(*result));
        }
      }
    }
  }
  if (!own && backports.empty() && !(backport_op && !backports_read) && failed.empty()) {
    return events;
  }
  const json body = common_body(repo, record);
  for (const auto& result : failed) {
    json with_check = body;
    with_check["check"] = result.to_json();
    events.push_back(make_event(record, with_check, "check-failed", nullptr, result.name));
  }
  if (own) {
    events.push_back(make_event(record, body, record.op, nullptr));
  }
  for (const auto& change : backports) {
    events.push_back(make_event(record, body, change.type, change.issue.to_json()));
  }
  if (backport_op && !backports_read) {
    // The issues could not be read: still say that one opened or closed.
    events.push_back(make_event(record, body,
                                record.op == "backport-open" ? "backport-open" : "backport-close",
                                nullptr));
  }
  return events;
}

std::vector<std::pair<std::string, std::string>>
delivery_headers(const Event& event, const std::string& key, const std::string& delivery_id) {
  return {{"Content-Type", "application/json"},
          {"User-Agent", std::string("envflow/") + ENVFLOW_VERSION},
          {"X-Envflow-Event", event.type},
          {"X-Envflow-Delivery", delivery_id},
          {"X-Envflow-Signature-256", "sha256=" + util::hmac_sha256_hex(key, event.body)}};
}

EventIo EventIo::real() {
  EventIo io;
  io.post = util::http_post;
  io.now = [] { return Clock::now(); };
  io.sleep = [](milliseconds d) { std::this_thread::sleep_for(d); };
  io.getenv = [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    return value != nullptr ? std::optional<std::string>(value) : std::nullopt;
  };
  io.delivery_id = util::random_uuid;
  io.warn = [](const std::string& line) {
    std::fprintf(stderr, "envflow: warning: %s\n", line.c_str());
  };
  return io;
}

std::vector<ReceiverReport> send_events(const policy::EventPolicy& policy,
                                        const std::vector<Event>& events, const EventIo& io) {
  std::vector<ReceiverReport> reports;
  std::vector<std::thread> threads;
  std::vector<bool> finished; // per thread, once waited for
  try {
    const Clock::time_point deadline = io.now() + std::chrono::seconds(policy.timeout_seconds);
    const Clock::time_point last_wait =
        Clock::now() + std::chrono::seconds(policy.timeout_seconds) + k_grace;
    const auto shared = std::make_shared<Shared>();
    shared->reports.resize(policy.receivers.size());
    std::vector<size_t> running; // receivers served by threads[n]
    for (size_t i = 0; i < policy.receivers.size(); ++i) {
      const policy::EventReceiver& receiver = policy.receivers[i];
      std::vector<Event> mine;
      for (const Event& event : events) {
        if (receiver.wants(event.type)) {
          mine.push_back(event);
        }
      }
      ReceiverReport report;
      report.url = receiver.url;
      report.events = static_cast<int>(mine.size());
      if (mine.empty()) {
        shared->reports[i] = report;
        continue;
      }
      const std::optional<std::string> key = io.getenv(receiver.secret_env);
      if (!key || key->empty()) {
        report.problem = "$" + receiver.secret_env + " is " + (key ? "empty" : "not set") +
                         ", so " + std::to_string(mine.size()) + " event" +
                         (mine.size() == 1 ? " was" : "s were") +
                         " not sent (events are never sent unsigned)";
        shared->reports[i] = report;
        continue;
      }
      const std::function<void()> job = [shared, i, receiver, mine, key = *key, deadline,
                                         timeout = policy.timeout_seconds, io] {
        ReceiverReport done;
        try {
          done = serve(receiver, mine, key, deadline, timeout, io);
        } catch (const std::exception& e) {
          done.url = receiver.url;
          done.events = static_cast<int>(mine.size());
          done.problem = std::string("sending failed: ") + e.what();
        } catch (...) {
          done.url = receiver.url;
          done.events = static_cast<int>(mine.size());
          done.problem = "sending failed";
        }
        const std::lock_guard lock(shared->mutex);
        shared->reports[i] = std::move(done);
        shared->changed.notify_all();
      };
      try {
        threads.emplace_back(job);
        running.push_back(i);
      } catch (const std::system_error&) {
        job(); // no thread to be had: serve this receiver here, still by the deadline
      }
    }
    std::unique_lock lock(shared->mutex);
    shared->changed.wait_until(lock, last_wait, [&] {
      return std::all_of(running.begin(), running.end(),
                         [&](size_t i) { return shared->reports[i].has_value(); });
    });
    for (size_t i = 0; i < policy.receivers.size(); ++i) {
      if (shared->reports[i]) {
        reports.push_back(*shared->reports[i]);
      } else {
        ReceiverReport late;
        late.url = policy.receivers[i].url;
        late.problem = "still sending when events_timeout (" +
                       std::to_string(policy.timeout_seconds) + " s) ran out; abandoned";
        reports.push_back(late);
      }
    }
    for (const size_t i : running) {
      finished.push_back(shared->reports[i].has_value());
    }
    lock.unlock();
    for (const ReceiverReport& report : reports) {
      if (!report.problem.empty()) {
        io.warn("event receiver " + report.url + ": " + report.problem);
      }
    }
  } catch (const std::exception& e) {
    try {
      io.warn(std::string("events not sent: ") + e.what());
    } catch (...) {
    }
  } catch (...) {
  }
  // A thread that finished is joined; one still busy past the deadline is
  // left to the process's exit (it holds its own share of the state).
  for (size_t n = 0; n < threads.size(); ++n) {
    if (n < finished.size() && finished[n]) {
      threads[n].join();
    } else {
      threads[n].detach();
    }
  }
  return reports;
}

void emit_events_for_records(const git::Repository& repo, const policy::PipelineConfig& config,
                             const std::vector<model::AuditRecord>& records) noexcept {
  try {
    if (config.events.receivers.empty()) {
      return;
    }
    std::vector<Event> events;
    for (const model::AuditRecord& record : records) {
      for (Event& event : events_for_record(repo, record)) {
        events.push_back(std::move(event));
      }
    }
    if (!events.empty()) {
      send_events(config.events, events);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "envflow: warning: events not sent: %s\n", e.what());
  } catch (...) {
  }
}

} // namespace envflow::core::pipeline
