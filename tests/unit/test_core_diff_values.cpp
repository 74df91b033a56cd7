#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "content/yaml.h"
#include "core/workspace/diff_values.h"

using namespace envflow;

namespace {

content::Value parse(const char* text) { return *content::load_yaml(text, "t.yaml").value; }

} // namespace

TEST_CASE("core::workspace::value_at") {
  const content::Value doc = parse("kind: Agent\n"
                                   "model:\n  temperature: 0.2\n"
                                   "steps:\n  - agent: a\n  - agent: b\n"
                                   "\"odd key\": 1\n"
                                   "'q\"k': 2\n");
  CHECK(core::workspace::value_at(doc, "(document)") == &doc);
  REQUIRE(core::workspace::value_at(doc, "kind") != nullptr);
  CHECK(core::workspace::value_at(doc, "kind")->string == "Agent");
  REQUIRE(core::workspace::value_at(doc, "model.temperature") != nullptr);
  CHECK(core::workspace::value_at(doc, "model.temperature")->number == doctest::Approx(0.2));
  REQUIRE(core::workspace::value_at(doc, "steps[1].agent") != nullptr);
  CHECK(core::workspace::value_at(doc, "steps[1].agent")->string == "b");
  REQUIRE(core::workspace::value_at(doc, "[\"odd key\"]") != nullptr);
  CHECK(core::workspace::value_at(doc, "[\"odd key\"]")->integer == 1);
  REQUIRE(core::workspace::value_at(doc, "[\"q\\\"k\"]") != nullptr);
  CHECK(core::workspace::value_at(doc, "[\"q\\\"k\"]")->integer == 2);
  CHECK(core::workspace::value_at(doc, "missing") == nullptr);
  CHECK(core::workspace::value_at(doc, "steps[2].agent") == nullptr);
  CHECK(core::workspace::value_at(doc, "steps[x]") == nullptr);
  CHECK(core::workspace::value_at(doc, "kind.sub") == nullptr);
  CHECK(core::workspace::value_at(doc, "steps[99999999999999999999]") == nullptr);
}

namespace {

using Lines = std::vector<std::string>;

} // namespace

TEST_CASE("core::workspace::text_diff") {
  SUBCASE("equal texts: nothing") {
    CHECK(core::workspace::text_diff("a\nb\n", "a\nb\n").empty());
    CHECK(core::workspace::text_diff("", "").empty());
  }
  SUBCASE("one line changed, with three lines of context as diff -u") {
    CHECK(core::workspace::text_diff("1\n2\n3\n4\n5\n6\n7\n8\n", "1\n2\n3\n4\nFIVE\n6\n7\n8\n") ==
          Lines{"@@ -2,7 +2,7 @@", " 2", " 3", " 4", "-5", "+FIVE", " 6", " 7", " 8"});
  }
  SUBCASE("a single line") {
    CHECK(core::workspace::text_diff("old", "new") == Lines{"@@ -1 +1 @@", "-old", "+new"});
  }
  SUBCASE("from and to empty text") {
    CHECK(core::workspace::text_diff("", "a\nb\n") == Lines{"@@ -0,0 +1,2 @@", "+a", "+b"});
    CHECK(core::workspace::text_diff("a\n", "") == Lines{"@@ -1 +0,0 @@", "-a"});
  }
  SUBCASE("far apart changes make two hunks; near ones one") {
    std::string before;
    for (int i = 1; i <= 20; ++i) {
      before += std::to_string(i) + "\n";
    }
    std::string after = before;
    after.replace(after.find("2\n"), 2, "two\n");
    after.replace(after.find("\n19\n"), 4, "\nnineteen\n");
    const Lines diff = core::workspace::text_diff(before, after);
    REQUIRE(diff.size() == 14);
    CHECK(diff[0] == "@@ -1,5 +1,5 @@");
    CHECK(diff[7] == "@@ -16,5 +16,5 @@");
    CHECK(core::workspace::text_diff("1\n2\n3\n4\n5\n6\n7\n8\n", "X\n2\n3\n4\n5\n6\n7\nY\n") ==
          Lines{"@@ -1,8 +1,8 @@", "-1", "+X", " 2", " 3", " 4", " 5", " 6", " 7", "-8", "+Y"});
  }
  SUBCASE("insertions keep the common lines aligned") {
    CHECK(core::workspace::text_diff("a\nc\n", "a\nb\nc\n") ==
          Lines{"@@ -1,2 +1,3 @@", " a", "+b", " c"});
    CHECK(core::workspace::text_diff("x\na\ny\nb\n", "a\nb\n") ==
          Lines{"@@ -1,4 +1,2 @@", "-x", " a", "-y", " b"});
  }
  SUBCASE("a missing last line break counts as one") {
    CHECK(core::workspace::text_diff("a\nb", "a\nb\n").empty());
  }
}

TEST_CASE("core::workspace::is_long_text") {
  const content::Value doc =
      parse("short: a few words\n"
            "lines: \"one\\ntwo\"\n"
            "long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n");
  CHECK_FALSE(core::workspace::is_long_text(*doc.find("short")));
  CHECK(core::workspace::is_long_text(*doc.find("lines")));
  CHECK(core::workspace::is_long_text(*doc.find("long")));
}
