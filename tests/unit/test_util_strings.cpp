#include <doctest/doctest.h>

#include "util/strings.h"

#include <set>
#include <string>
#include <vector>

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
  SUBCASE("closest and did_you_mean") {
    const std::vector<std::string> envs{"dev", "test", "uat", "staging", "production"};
    CHECK(util::closest("prodution", envs) == "production");
    CHECK(util::closest("tset", envs) == "test");
    CHECK(util::closest("qa", envs).empty());       // replacing every letter is no typo
    CHECK(util::closest("deployment", envs).empty()); // too far from every one
    CHECK(util::closest("test", envs) == "test");
    CHECK(util::closest("v1.0.1", std::set<std::string>{"v1.0.0", "v2.0.0"}) == "v1.0.0");
    CHECK(util::did_you_mean("stagign", envs) == "did you mean 'staging'?");
    CHECK(util::did_you_mean("nothing-like-it", envs).empty());
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
  SUBCASE("printable") {
    CHECK(util::printable("agents/caf\xc3\xa9.yaml") == "agents/caf\xc3\xa9.yaml");
    CHECK(util::printable("a\x1b[2Jb") == "a\\x1b[2Jb");
    CHECK(util::printable("tab\tnew\nline\x7f") == "tab\\x09new\\x0aline\\x7f");
    CHECK(util::printable("next\xc2\x85line") == "next\\u0085line"); // C1 control
    CHECK(util::printable("bad\xff" "byte") == "bad\\xffbyte");
    CHECK(util::is_valid_utf8(util::printable("\xc3\x28\xa0\xa1")));
  }
  SUBCASE("shell_quoted") {
    CHECK(util::shell_quoted("fix-tone") == "fix-tone");
    CHECK(util::shell_quoted("hotfix/2026.01_tone") == "hotfix/2026.01_tone");
    CHECK(util::shell_quoted("") == "''");
    CHECK(util::shell_quoted("a b") == "'a b'");
    CHECK(util::shell_quoted("$(rm -rf ~)") == "'$(rm -rf ~)'");
    CHECK(util::shell_quoted("it's") == "'it'\\''s'");
    CHECK(util::shell_quoted("a;b|c&d`e`") == "'a;b|c&d`e`'");
    CHECK(util::shell_quoted("fix-tone", util::Quote::always) == "'fix-tone'");
    CHECK(util::shell_quoted("it's", util::Quote::always) == "'it'\\''s'");
  }
}
