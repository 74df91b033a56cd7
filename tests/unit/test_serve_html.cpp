#include <doctest/doctest.h>

#include <set>

#include "serve/actions.h"
#include "serve/html.h"

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

TEST_CASE("serve::status_for") {
  CHECK(serve::status_for(0, true, false) == 200);
  CHECK(serve::status_for(2, true, false) == 400);
  CHECK(serve::status_for(1, false, false) == 403); // the policy said no
  CHECK(serve::status_for(1, true, false) == 409);  // a gate said no
  CHECK(serve::status_for(1, false, true) == 409);  // another writer won
  CHECK(serve::status_for(3, true, false) == 500);
}

TEST_CASE("serve::actions: one row per route") {
  std::set<std::string> names;
  for (const auto& action : serve::actions()) {
    CHECK(names.insert(action.name).second);
    CHECK(std::string(action.route).starts_with("/api/"));
    CHECK(static_cast<bool>(action.permitted));
    CHECK(static_cast<bool>(action.run));
  }
  CHECK(names.count("sync") == 1);
  CHECK(names.count("publish") == 1);
}
