#include <doctest/doctest.h>

#include "util/strings.h"

using namespace envflow;

TEST_CASE("util::strings") {
  SUBCASE("edit_distance") {
    CHECK(util::edit_distance("", "") == 0);
    CHECK(util::edit_distance("sync", "sync") == 0);
    CHECK(util::edit_distance("valdiate", "validate") == 2);
    CHECK(util::edit_distance("suport", "support") == 1);
    CHECK(util::edit_distance("", "abc") == 3);
    CHECK(util::edit_distance("kitten", "sitting") == 3);
  }
  SUBCASE("split and join") {
    CHECK(util::split("a,b,,c", ',') == std::vector<std::string>{"a", "b", "", "c"});
    CHECK(util::join({"dev", "test"}, " -> ") == "dev -> test");
  }
  SUBCASE("paths") {
    CHECK(util::path_stem("agents/support.yaml") == "support");
    CHECK(util::first_component("agents/support.yaml") == "agents");
    CHECK(util::first_component("workspace.yaml").empty());
  }
  SUBCASE("is_valid_utf8") {
    CHECK(util::is_valid_utf8("plain"));
    CHECK(util::is_valid_utf8("caf\xc3\xa9"));
    CHECK_FALSE(util::is_valid_utf8("\xc3"));         // truncated
    CHECK_FALSE(util::is_valid_utf8("\xc0\xaf"));     // overlong
    CHECK_FALSE(util::is_valid_utf8("\xed\xa0\x80")); // surrogate
    CHECK_FALSE(util::is_valid_utf8("\xff"));
  }
}
