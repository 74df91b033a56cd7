// The `events:` section of the policy (issue 17): what is accepted, what is
// refused where it is written (a credential in git above all), and that
// render_config writes it back as it was.

#include "core/policy/config.h"

#include <doctest/doctest.h>

#include "support.h"

#include <string>
#include <vector>

using namespace envflow;
using namespace envflow::test;

namespace {

std::string events_policy(const std::string& events) {
  return "version: 1\n"
         "environments:\n"
         "  - name: dev\n"
         "    branch: dev\n"
         "  - name: test\n"
         "    branch: test\n"
         "groups:\n"
         "  admins: [adam]\n"
         "admins: [admins]\n" +
         events;
}

// The problems of one receiver, http://127.0.0.1/hook with secret_env S,
// with `lines` added to it.
std::string hook_problems(const std::string& lines) {
  return problems_of(events_policy("events:\n"
                                   "  - url: http://127.0.0.1/hook\n"
                                   "    secret_env: S\n" +
                                   lines));
}

core::policy::EventPolicy parsed(const std::string& events) {
  std::vector<content::Diagnostic> problems;
  const auto config = core::policy::parse_config(events_policy(events), "envflow.yaml", problems);
  INFO(problems_of(events_policy(events)));
  REQUIRE(config);
  return config->events;
}

} // namespace

TEST_CASE("core::policy::parse_config: events") {
  SUBCASE("receivers, types and the timeout") {
    const auto p = parsed("events:\n"
                          "  - url: http://127.0.0.1:9000/hook\n"
                          "    secret_env: ENVFLOW_HOOK_SECRET\n"
                          "    on: [sync, publish]\n"
                          "  - url: https://hooks.example.com/envflow\n"
                          "    secret_env: OTHER\n"
                          "events_timeout: 12\n");
    REQUIRE(p.receivers.size() == 2);
    CHECK(p.receivers[0].url == "http://127.0.0.1:9000/hook");
    CHECK(p.receivers[0].secret_env == "ENVFLOW_HOOK_SECRET");
    CHECK(p.receivers[0].on == std::vector<std::string>{"sync", "publish"});
    CHECK(p.receivers[0].wants("sync"));
    CHECK_FALSE(p.receivers[0].wants("rollback"));
    CHECK(p.receivers[1].on.empty());
    CHECK(p.receivers[1].wants("check-failed"));
    CHECK(p.timeout_seconds == 12);
  }
  SUBCASE("no events: nothing to send, the default bound") {
    const auto p = parsed("");
    CHECK(p.receivers.empty());
    CHECK(p.timeout_seconds == core::policy::k_events_timeout_default);
  }
  SUBCASE("an unknown key, at its line and column") {
    const auto p = hook_problems("    secret: hunter2hunter2\n");
    CHECK(has(p, "envflow.yaml:13:5: error: unknown field 'secret'"));
  }
  SUBCASE("secret_env is required") {
    CHECK(has(problems_of(events_policy("events:\n  - url: http://127.0.0.1/hook\n")),
              "envflow.yaml:11:5: error:"));
    CHECK(
        has(problems_of(events_policy("events:\n  - url: http://127.0.0.1/hook\n")), "secret_env"));
  }
  SUBCASE("an event type that does not exist") {
    const auto p = hook_problems("    on: [sync, pubish]\n");
    CHECK(has(p, "envflow.yaml:13:16: error:"));
    CHECK(has(p, "did you mean 'publish'?"));
  }
  SUBCASE("an empty `on`") {
    CHECK(has(
        problems_of(events_policy("events:\n  - url: http://h/x\n    secret_env: S\n    on: []\n")),
        "envflow.yaml:13:9: error:"));
  }
  SUBCASE("schemes other than http and https, spaces, controls") {
    for (const char* url : {"ftp://h/x", "file:///etc/passwd", "\"http://h/a b\"",
                            "\"http://h/\\e[31m\""}) {
      CAPTURE(url);
      CHECK(has(problems_of(events_policy("events:\n  - url: " + std::string(url) +
                                          "\n    secret_env: S\n")),
                "envflow.yaml:11:10: error:"));
    }
  }
  SUBCASE("a URL without host, or with a bad port") {
    CHECK(has(problems_of(events_policy("events:\n  - url: http:///x\n    secret_env: S\n")),
              "envflow.yaml:11:10: error: events: the URL names no host"));
    CHECK(has(problems_of(events_policy("events:\n  - url: http://h:99999/x\n    secret_env: S\n")),
              "port '99999' is not a number from 1 to 65535"));
    CHECK(problems_of(events_policy("events:\n  - url: http://[::1]:8080/x\n    secret_env: S\n"))
              .empty());
  }
  SUBCASE("no credential in the URL") {
    const auto user = problems_of(events_policy(
        "events:\n  - url: https://bot:hunter2@hooks.example.com/x\n    secret_env: S\n"));
    CHECK(has(user, "envflow.yaml:11:10: error: events: the URL carries a user or password"));
    CHECK_FALSE(has(user, "hunter2"));
    CHECK(has(problems_of(events_policy(
                  "events:\n  - url: https://h.example.com/x?api_token=abc\n    secret_env: S\n")),
              "query parameter 'api_token' looks like a credential"));
    CHECK(has(
        problems_of(events_policy("events:\n  - url: "
                                  "https://h.example.com/ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789\n"
                                  "    secret_env: S\n")),
        "the URL looks like it holds a credential"));
  }
  SUBCASE("secret_env holding the secret itself") {
    const auto p = problems_of(
        events_policy("events:\n  - url: http://h/x\n    secret_env: Zx8kQ2mN7pL4vR9tW3yB\n"));
    CHECK(has(p, "envflow.yaml:12:17: error: events: secret_env must name an environment "
                 "variable"));
    CHECK(
        has(problems_of(events_policy("events:\n  - url: http://h/x\n    secret_env: \"1ABC\"\n")),
            "envflow.yaml:12:17: error:"));
  }
  SUBCASE("a receiver listed twice") {
    CHECK(has(problems_of(events_policy("events:\n"
                                        "  - {url: http://h/x, secret_env: A, on: [sync]}\n"
                                        "  - {url: http://h/x, secret_env: A, on: [publish]}\n")),
              "envflow.yaml:12:11: error: events: receiver http://h/x is listed twice"));
  }
  SUBCASE("events_timeout within 1 to 30 seconds") {
    CHECK(has(problems_of(events_policy("events_timeout: 0\n")), "envflow.yaml:10:17: error:"));
    CHECK(has(problems_of(events_policy("events_timeout: 31\n")), "envflow.yaml:10:17: error:"));
    CHECK(has(problems_of(events_policy("events_timeout: 2.5\n")), "envflow.yaml:10:17: error:"));
  }
  SUBCASE("render_config writes it back as it was") {
    std::vector<content::Diagnostic> problems;
    auto config =
        core::policy::parse_config(events_policy("events:\n"
                                         "  - url: \"http://127.0.0.1:9000/hook?a=1&b=#x\"\n"
                                         "    secret_env: \"null\"\n"
                                         "    on: [backport-open, check-failed]\n"
                                         "  - url: https://h/x\n"
                                         "    secret_env: B\n"
                                         "events_timeout: 2\n"),
                           "envflow.yaml", problems);
    REQUIRE(config);
    const std::string text = core::policy::render_config(*config);
    INFO(text);
    // `on` quoted: a YAML 1.1 reader (PyYAML) would read the key as `true`.
    CHECK(has(text, "\"on\": [backport-open, check-failed]"));
    std::vector<content::Diagnostic> again_problems;
    const auto again = core::policy::parse_config(text, "rendered.yaml", again_problems);
    REQUIRE(again);
    CHECK(again->events == config->events);
    CHECK(core::policy::render_config(*again) == text);
  }
}
