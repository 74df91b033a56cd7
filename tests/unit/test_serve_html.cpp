#include <doctest/doctest.h>

#include <set>

#include "serve/actions.h"
#include "serve/html.h"
#include "util/error.h"

using namespace envflow;

TEST_CASE("serve::escape") {
  CHECK(serve::escape("<script>alert('x')</script> & \"y\"") ==
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;");
  CHECK(serve::escape("café ☕") == "café ☕");
  CHECK(serve::escape("a\x01" "b") == "a\xEF\xBF\xBD" "b");
  CHECK(serve::escape("bad \xC3") == "bad \xEF\xBF\xBD");
  CHECK(serve::escape("line\nbreak\ttab") == "line\nbreak\ttab");
}

TEST_CASE("serve::url_encode and url_decode") {
  CHECK(serve::url_encode("dev") == "dev");
  CHECK(serve::url_encode("a b/c?d") == "a%20b%2Fc%3Fd");
  CHECK(serve::url_decode("a%20b%2Fc") == "a b/c");
  CHECK(serve::url_decode("100%") == "100%");
  CHECK(serve::url_decode("%zz") == "%zz");
}

TEST_CASE("serve::fill") {
  CHECK(serve::fill("<t>{{a}}</t>{{b}}", {{"a", "{{b}}"}, {"b", "B"}}) == "<t>{{b}}</t>B");
  CHECK(serve::fill("{{unknown}}x{{", {}) == "x{{");
}

TEST_CASE("serve::http_status") {
  const auto error = [](const char* code, int exit) {
    return serve::CommandReply{exit, {{"error", {{"code", code}, {"exit", exit}}}}};
  };
  CHECK(serve::http_status({0, nlohmann::json::object()}) == 200);
  CHECK(serve::http_status(error("usage", 2)) == 400);
  CHECK(serve::http_status(error("forbidden", 1)) == 403); // the policy said no
  CHECK(serve::http_status(error("refused", 1)) == 409);   // a gate said no
  CHECK(serve::http_status(error("lost-race", 1)) == 409); // another writer won
  CHECK(serve::http_status(error("io", 3)) == 500);
  CHECK(serve::http_status(error("gate", 1)) == 409);                // a gate, by its name
  CHECK(serve::http_status(error("unknown-environment", 2)) == 400); // a finer usage error
  CHECK(serve::http_status(error("not-a-repository", 3)) == 500);
}

TEST_CASE("serve::actions: a press is the command line it names") {
  const auto command = [](const char* name, serve::ActionRequest request) {
    for (const auto& action : serve::actions()) {
      if (std::string(action.name) == name) {
        return action.command(request);
      }
    }
    return std::vector<std::string>{};
  };
  CHECK(command("sync", {{"dev"}, {{"rev", "abc"}, {"dry_run", true}}}) ==
        std::vector<std::string>{"sync", "dev", "--rev=abc", "--dry-run"});
  // A value that looks like an option stays a value.
  CHECK(command("var-set", {{"test", "x"}, {{"value", "--force"}}}) ==
        std::vector<std::string>{"var", "set", "--env", "test", "--", "x", "--force"});
  CHECK_THROWS_AS(command("sync", {{"--help"}, {}}), util::UsageError);
  CHECK_THROWS_AS(command("backport-apply", {{"1; rm"}, {}}), util::UsageError);
  CHECK_THROWS_AS(command("sync", {{"dev"}, {{"rev", 42}}}), util::UsageError);
}

TEST_CASE("serve::actions: one row per route") {
  std::set<std::string> names;
  for (const auto& action : serve::actions()) {
    CHECK(names.insert(action.name).second);
    CHECK(std::string(action.route).starts_with("/api/"));
    CHECK(static_cast<bool>(action.command));
  }
  CHECK(names.count("sync") == 1);
  CHECK(names.count("publish") == 1);
}
