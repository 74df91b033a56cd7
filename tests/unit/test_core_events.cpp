// Events (issue 17): the body built from an audit record, and sending —
// signature, filtering by `on`, retries and the time bound — through a fake
// transport and clock (no network, no waiting).

#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/pipeline/events.h"
#include "core/policy/config.h"
#include "core/records/backport.h"
#include "support.h"
#include "util/crypto.h"
#include "util/json.h"

using namespace envflow;
using test::has;
using nlohmann::json;
using std::chrono::milliseconds;

namespace {

// A fake world: a clock that moves only when slept on or when `post` says,
// a transport answering from a script, recorded requests and warnings.
struct FakeWorld {
  std::atomic<long long> clock_ms{0};
  std::mutex mutex;
  std::vector<util::HttpRequest> requests;
  std::vector<long long> sent_at;
  std::vector<std::string> warnings;
  std::vector<long long> sleeps;
  std::map<std::string, std::string> environment{{"HOOK_SECRET", "s3cret"}};
  // Answer to the n-th request to a URL (the last one repeats); a response
  // with status -1 hangs: the clock runs to the request's timeout, no answer.
  std::map<std::string, std::vector<util::HttpResponse>> script;
  int next_id = 0;

  core::pipeline::EventIo io() {
    core::pipeline::EventIo io;
    io.now = [this] {
      return std::chrono::steady_clock::time_point(milliseconds(clock_ms.load()));
    };
    io.sleep = [this](milliseconds d) {
      const std::lock_guard lock(mutex);
      sleeps.push_back(d.count());
      clock_ms += d.count();
    };
    io.getenv = [this](const std::string& name) -> std::optional<std::string> {
      const auto it = environment.find(name);
      return it == environment.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    io.delivery_id = [this] {
      const std::lock_guard lock(mutex);
      return "delivery-" + std::to_string(++next_id);
    };
    io.warn = [this](const std::string& line) {
      const std::lock_guard lock(mutex);
      warnings.push_back(line);
    };
    io.post = [this](const util::HttpRequest& request) {
      util::HttpResponse response;
      {
        const std::lock_guard lock(mutex);
        size_t n = 0;
        for (const auto& r : requests) {
          n += r.url == request.url ? 1 : 0;
        }
        requests.push_back(request);
        sent_at.push_back(clock_ms.load());
        const auto& answers = script[request.url];
        response = answers.empty() ? util::HttpResponse{204, ""}
                                   : answers[std::min(n, answers.size() - 1)];
      }
      if (response.status == -1) {
        clock_ms += request.timeout.count();
        return util::HttpResponse{0, "Operation timed out"};
      }
      return response;
    };
    return io;
  }

  std::string header(size_t request, const std::string& name) {
    for (const auto& [key, value] : requests.at(request).headers) {
      if (key == name) {
        return value;
      }
    }
    return "";
  }
};

core::pipeline::Event event(const std::string& type, const std::string& body = "{\"x\":1}") {
  return core::pipeline::Event{type, "id-" + type, body};
}

core::policy::EventPolicy one_receiver(const std::string& url, std::vector<std::string> on = {},
                                       int timeout = 5) {
  core::policy::EventPolicy p;
  p.receivers.push_back(core::policy::EventReceiver{url, "HOOK_SECRET", std::move(on)});
  p.timeout_seconds = timeout;
  return p;
}

} // namespace

TEST_CASE("core::pipeline::events_for_record") {
  test::TempRepo temp;
  git::Repository& repo = temp.repo();
  const std::string base = temp.commit({{"workspace.yaml", "kind: Workspace\nname: acme\n"}});
  const std::string c1 = temp.commit({{"workspace.yaml", "kind: Workspace\nname: acme\n"},
                                      {"a.txt", "1"}},
                                     {base}, "Add a\n");
  const std::string c2 = temp.commit({{"workspace.yaml", "kind: Workspace\nname: acme\n"},
                                      {"a.txt", "2"}},
                                     {c1}, "Change a\n");
  core::model::AuditRecord record;
  record.op = "sync";
  record.env = "test";
  record.actor = "alice@example.com";
  record.time = 1'767'225'600;
  record.tool = "envflow 0.1.0";
  record.commit = c2;
  record.note = "dev -> test";
  record.id = std::string(40, 'e');
  record.moves.push_back(core::model::RefMove{"refs/heads/test", base, c2});

  SUBCASE("a sync: the body") {
    const auto events = core::pipeline::events_for_record(repo, record);
    REQUIRE(events.size() == 1);
    CHECK(events[0].type == "sync");
    const json body = util::parse_json(events[0].body);
    CHECK(body["type"] == "sync");
    CHECK(body["id"] == events[0].id);
    CHECK(body["time"] == "2026-01-01T00:00:00Z");
    CHECK(body["environment"] == "test");
    CHECK(body["actor"] == "alice@example.com");
    CHECK(body["commit"] == c2);
    CHECK(body["workspace"] == "acme");
    CHECK(body["repository"].is_string());
    CHECK(body["audit_record"] == record.id);
    CHECK(body["release"].is_null());
    CHECK(body["previous_release"].is_null());
    CHECK(body["backport"].is_null());
    CHECK(body["note"] == "dev -> test");
    CHECK(body["tool"] == "envflow 0.1.0");
    CHECK(body["refs"] == util::parse_json(R"([{"ref":"refs/heads/test","old":")" + base +
                                      R"(","new":")" + c2 + R"("}])"));
    CHECK(body["commits_total"] == 2);
    REQUIRE(body["commits"].size() == 2);
    CHECK(body["commits"][0]["id"] == c1); // oldest first
    CHECK(body["commits"][0]["summary"] == "Add a");
    CHECK(body["commits"][1]["id"] == c2);
    // Compact, and the same bytes every time: what is signed.
    CHECK(events[0].body.find('\n') == std::string::npos);
    CHECK(core::pipeline::events_for_record(repo, record)[0].body == events[0].body);
  }
  SUBCASE("the id is the record's, stable wherever it is computed") {
    const auto first = core::pipeline::events_for_record(repo, record);
    CHECK(first[0].id == core::pipeline::events_for_record(repo, record)[0].id);
    core::model::AuditRecord other = record;
    other.id = std::string(40, 'f');
    CHECK(core::pipeline::events_for_record(repo, other)[0].id != first[0].id);
  }
  SUBCASE("records that are no event") {
    for (const char* op : {"approve", "var-set", "init", "hotfix-start", "config", "hold"}) {
      core::model::AuditRecord r = record;
      r.op = op;
      CAPTURE(op);
      CHECK(core::pipeline::events_for_record(repo, r).empty());
    }
  }
  SUBCASE("a publish names its release; a rollback both") {
    const auto tag_object = [&](const std::string& name) {
      const std::string raw = "object " + c2 + "\ntype commit\ntag " + name +
                              "\ntagger T <t@example.com> 1700000000 +0000\n\n" + name + "\n";
      const std::string id = repo.write_tag_object(raw);
      repo.update_refs({git::RefUpdate{"refs/tags/" + name, std::nullopt, id}}, "test");
      return id;
    };
    const std::string v1 = tag_object("v1.0.0");
    const std::string v2 = tag_object("v1.1.0");
    core::model::AuditRecord publish = record;
    publish.op = "publish";
    publish.env = "production";
    publish.moves = {core::model::RefMove{"refs/tags/v1.1.0", std::string(git::k_zero_id), v2},
                     core::model::RefMove{"refs/envflow/live", v1, v2}};
    json body = util::parse_json(core::pipeline::events_for_record(repo, publish).at(0).body);
    CHECK(body["type"] == "publish");
    CHECK(body["release"] == "v1.1.0");
    CHECK(body["previous_release"] == "v1.0.0");
    CHECK(body["refs"][0]["old"].is_null());
    CHECK(body["commits"].empty());
    core::model::AuditRecord rollback = record;
    rollback.op = "rollback";
    rollback.moves = {core::model::RefMove{"refs/envflow/live", v2, v1}};
    body = util::parse_json(core::pipeline::events_for_record(repo, rollback).at(0).body);
    CHECK(body["type"] == "rollback");
    CHECK(body["release"] == "v1.0.0");
    CHECK(body["previous_release"] == "v1.1.0");
  }
  SUBCASE("a hotfix opens a back-port issue: hotfix, then backport-open") {
    core::records::BackportIssue issue{.id = 3,
                                       .status = core::records::BackportIssue::Status::open,
                                       .hotfix = "fix-tone",
                                       .hotfix_tag = "v1.0.1",
                                       .commits = {c2},
                                       .changes = {},
                                       .summary = "Friendlier tone",
                                       .environment = "production",
                                       .target = "dev",
                                       .opened_by = "alice@example.com",
                                       .opened_at = 1'767'225'600,
                                       .closed_by = "",
                                       .closed_at = 0,
                                       .closed_in = ""};
    const git::RefUpdate opened =
        core::records::stage_backports(repo, std::nullopt, {issue}, "open\n", "alice@example.com");
    core::model::AuditRecord hotfix = record;
    hotfix.op = "hotfix";
    hotfix.env = "production";
    hotfix.moves = {core::model::RefMove{"refs/heads/production", c1, c2},
                    core::model::RefMove{core::model::k_backports_ref, std::string(git::k_zero_id),
                                         *opened.target}};
    const auto events = core::pipeline::events_for_record(repo, hotfix);
    REQUIRE(events.size() == 2);
    CHECK(events[0].type == "hotfix");
    CHECK(util::parse_json(events[0].body)["backport"].is_null());
    CHECK(events[1].type == "backport-open");
    CHECK(events[1].id != events[0].id);
    const json body = util::parse_json(events[1].body);
    CHECK(body["backport"]["id"] == 3);
    CHECK(body["backport"]["status"] == "open");
    CHECK(body["backport"]["hotfix_tag"] == "v1.0.1");

    // backport apply closes it: one backport-close.
    issue.status = core::records::BackportIssue::Status::closed;
    issue.closed_by = "bob@example.com";
    issue.closed_at = 1'767'225'700;
    issue.closed_in = c2;
    const git::RefUpdate closed =
        core::records::stage_backports(repo, opened.target, {issue}, "close\n", "bob@example.com");
    core::model::AuditRecord apply = record;
    apply.op = "backport-apply";
    apply.env = "dev";
    apply.moves = {
        core::model::RefMove{core::model::k_backports_ref, *opened.target, *closed.target}};
    const auto after = core::pipeline::events_for_record(repo, apply);
    REQUIRE(after.size() == 1);
    CHECK(after[0].type == "backport-close");
    CHECK(util::parse_json(after[0].body)["backport"]["closed_by"] == "bob@example.com");
  }
  SUBCASE("text that is not UTF-8 does not stop the event") {
    core::model::AuditRecord odd = record;
    odd.note = "caf\xe9";
    const auto events = core::pipeline::events_for_record(repo, odd);
    REQUIRE(events.size() == 1);
    CHECK(util::parse_json(events[0].body)["note"] == "caf\xef\xbf\xbd");
  }
}

TEST_CASE("core::pipeline::send_events") {
  FakeWorld world;
  const std::string url = "http://127.0.0.1:9000/hook";

  SUBCASE("headers and a signature over the exact body") {
    const std::string body = R"({"type":"sync","x":"é"})";
    const auto reports =
        core::pipeline::send_events(one_receiver(url), {event("sync", body)}, world.io());
    REQUIRE(world.requests.size() == 1);
    CHECK(world.requests[0].url == url);
    CHECK(world.requests[0].body == body);
    CHECK(world.header(0, "Content-Type") == "application/json");
    CHECK(world.header(0, "User-Agent") == std::string("envflow/") + ENVFLOW_VERSION);
    CHECK(world.header(0, "X-Envflow-Event") == "sync");
    CHECK(world.header(0, "X-Envflow-Delivery") == "delivery-1");
    CHECK(world.header(0, "X-Envflow-Signature-256") ==
          "sha256=" + util::hmac_sha256_hex("s3cret", body));
    REQUIRE(reports.size() == 1);
    CHECK(reports[0].delivered == 1);
    CHECK(reports[0].problem.empty());
    CHECK(world.warnings.empty());
  }
  SUBCASE("the signature is GitHub's: a known HMAC test vector") {
    world.environment["HOOK_SECRET"] = "It's a Secret to Everybody";
    core::pipeline::send_events(one_receiver(url), {event("sync", "Hello, World!")}, world.io());
    CHECK(world.header(0, "X-Envflow-Signature-256") ==
          "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
  }
  SUBCASE("only the types a receiver takes, in order") {
    core::pipeline::send_events(
        one_receiver(url, {"publish", "rollback"}),
        {event("sync"), event("publish"), event("hotfix"), event("rollback")}, world.io());
    REQUIRE(world.requests.size() == 2);
    CHECK(world.header(0, "X-Envflow-Event") == "publish");
    CHECK(world.header(1, "X-Envflow-Event") == "rollback");
    CHECK(world.header(0, "X-Envflow-Delivery") != world.header(1, "X-Envflow-Delivery"));
  }
  SUBCASE("nothing to send: no request, no warning") {
    core::pipeline::send_events(one_receiver(url, {"publish"}), {event("sync")}, world.io());
    CHECK(world.requests.empty());
    CHECK(world.warnings.empty());
  }
  SUBCASE("5xx and 429 are retried with backoff, the delivery id kept") {
    world.script[url] = {{503, ""}, {429, ""}, {200, ""}};
    const auto reports =
        core::pipeline::send_events(one_receiver(url), {event("sync")}, world.io());
    CHECK(world.requests.size() == 3);
    CHECK(world.sleeps == std::vector<long long>{250, 500});
    CHECK(world.header(0, "X-Envflow-Delivery") == world.header(2, "X-Envflow-Delivery"));
    CHECK(world.requests[0].body == world.requests[2].body);
    CHECK(reports[0].delivered == 1);
    CHECK(world.warnings.empty());
  }
  SUBCASE("4xx other than 408 and 429 is final") {
    world.script[url] = {{404, ""}};
    const auto reports =
        core::pipeline::send_events(one_receiver(url), {event("sync")}, world.io());
    CHECK(world.requests.size() == 1);
    CHECK(world.sleeps.empty());
    REQUIRE(world.warnings.size() == 1);
    CHECK(world.warnings[0] == "event receiver " + url +
                                   ": 1 of 1 event not delivered (sync): HTTP 404 (not retried)");
  }
  SUBCASE("a dead receiver: bounded attempts, within the time bound") {
    world.script[url] = {{0, "Couldn't connect to server"}};
    const auto reports =
        core::pipeline::send_events(one_receiver(url, {}, 30), {event("sync")}, world.io());
    CHECK(world.requests.size() == core::pipeline::k_event_max_attempts);
    CHECK(world.sleeps == std::vector<long long>{250, 500, 1000, 2000});
    CHECK(reports[0].delivered == 0);
    REQUIRE(world.warnings.size() == 1);
    CHECK(world.warnings[0] == "event receiver " + url +
                                   ": 1 of 1 event not delivered (sync): Couldn't connect to "
                                   "server (5 attempts)");
  }
  SUBCASE("retries stop when the bound would be passed; every attempt ends by it") {
    world.script[url] = {{0, "Couldn't connect to server"}};
    core::pipeline::send_events(one_receiver(url, {}, 1), {event("sync"), event("publish")},
                                world.io());
    // sync at 0, 250 and 750 ms (the next would start at 1750 ms, past the
    // 1 s bound), then publish once with what is left.
    CHECK(world.sent_at == std::vector<long long>{0, 250, 750, 750});
    for (size_t i = 0; i < world.requests.size(); ++i) {
      CHECK(world.sent_at[i] + world.requests[i].timeout.count() <= 1000);
    }
    REQUIRE(world.warnings.size() == 1);
    CHECK(world.warnings[0] ==
          "event receiver " + url +
              ": 2 of 2 events not delivered (sync, publish): Couldn't connect to server (3 "
              "attempts, then events_timeout (1 s) ran out)");
  }
  SUBCASE("a receiver that never answers takes the bound, no more") {
    world.script[url] = {{-1, ""}};
    core::pipeline::send_events(one_receiver(url, {}, 5), {event("sync")}, world.io());
    CHECK(world.requests.size() == 1);
    CHECK(world.requests[0].timeout == milliseconds(5000));
    CHECK(world.clock_ms.load() == 5000);
    REQUIRE(world.warnings.size() == 1);
    CHECK(world.warnings[0] == "event receiver " + url +
                                   ": 1 of 1 event not delivered (sync): Operation timed out "
                                   "(1 attempt, then events_timeout (5 s) ran out)");
    // The events after it are not sent at all.
    world.warnings.clear();
    world.requests.clear();
    world.clock_ms = 0;
    core::pipeline::send_events(one_receiver(url, {}, 5), {event("sync"), event("publish")},
                                world.io());
    CHECK(world.requests.size() == 1);
    CHECK(has(world.warnings.at(0), "2 of 2 events not delivered (sync, publish): Operation timed "
                                    "out (1 attempt, then events_timeout (5 s) ran out)"));
  }
  SUBCASE("no secret, nothing sent: never unsigned") {
    world.environment.clear();
    core::pipeline::send_events(one_receiver(url), {event("sync"), event("publish")}, world.io());
    CHECK(world.requests.empty());
    REQUIRE(world.warnings.size() == 1);
    CHECK(world.warnings[0] == "event receiver " + url +
                                   ": $HOOK_SECRET is not set, so 2 events were not sent (events "
                                   "are never sent unsigned)");
    world.environment["HOOK_SECRET"] = "";
    world.warnings.clear();
    core::pipeline::send_events(one_receiver(url), {event("sync")}, world.io());
    CHECK(world.requests.empty());
    CHECK(has(world.warnings.at(0), "$HOOK_SECRET is empty, so 1 event was not sent"));
  }
  SUBCASE("several receivers: one warning for each that failed, in policy order") {
    core::policy::EventPolicy p = one_receiver("http://a/hook");
    p.receivers.push_back(core::policy::EventReceiver{"http://b/hook", "HOOK_SECRET", {}});
    p.receivers.push_back(core::policy::EventReceiver{"http://c/hook", "NOT_SET", {}});
    p.receivers.push_back(core::policy::EventReceiver{"http://d/hook", "HOOK_SECRET", {}});
    world.script["http://a/hook"] = {{410, ""}};
    world.script["http://d/hook"] = {{400, ""}};
    const auto reports = core::pipeline::send_events(p, {event("sync")}, world.io());
    REQUIRE(reports.size() == 4);
    CHECK(reports[1].delivered == 1);
    REQUIRE(world.warnings.size() == 3);
    CHECK(has(world.warnings[0], "event receiver http://a/hook: 1 of 1 event not delivered (sync): HTTP 410"));
    CHECK(has(world.warnings[1], "event receiver http://c/hook: $NOT_SET is not set"));
    CHECK(has(world.warnings[2], "event receiver http://d/hook: 1 of 1 event not delivered (sync): HTTP 400"));
  }
  SUBCASE("a transport that throws is a warning, not a failure") {
    core::pipeline::EventIo io = world.io();
    io.post = [](const util::HttpRequest&) -> util::HttpResponse {
      throw std::runtime_error("boom");
    };
    const auto reports = core::pipeline::send_events(one_receiver(url), {event("sync")}, io);
    REQUIRE(world.warnings.size() == 1);
    CHECK(world.warnings[0] == "event receiver " + url + ": sending failed: boom");
  }
}
