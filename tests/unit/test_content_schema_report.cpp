#include <doctest/doctest.h>

#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "content/schema_failures.h"

#include "support.h"

using envflow::content::schema_failures::indexes_in;
using envflow::content::schema_failures::looks_numeric;

namespace {

// Strings of up to three of `pieces`, each piece once per position.
std::vector<std::string> joined_pieces(const std::vector<std::string>& pieces) {
  std::vector<std::string> texts = {""};
  std::size_t shorter = 0;
  for (int length = 1; length <= 3; ++length) {
    const std::size_t known = texts.size();
    for (std::size_t i = shorter; i < known; ++i) {
      for (const std::string& piece : pieces) {
        texts.push_back(texts[i] + piece);
      }
    }
    shorter = known;
  }
  return texts;
}

bool numeric_by_regex(const std::string& text) {
  static const std::regex k_number(R"(^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$)");
  return std::regex_match(text, k_number);
}

std::vector<std::size_t> indexes_by_regex(const std::string& text) {
  static const std::regex k_index(R"(#(\d+))");
  std::vector<std::size_t> found;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), k_index);
       it != std::sregex_iterator(); ++it) {
    found.push_back(std::stoul((*it)[1].str()));
  }
  return found;
}

} // namespace

TEST_CASE("content::schema_failures::looks_numeric") {
  SUBCASE("what the regex matches") {
    const std::string texts[] = {
        "",      "0",     "42",    "-1",    "+1",   "1.",   "1.5",    ".5",   ".",   "-.",
        "-.5",   "+.5e3", "1e5",   "1E5",   "1e+5", "1e-5", "1.5e10", "1.e5", ".e5", "e5",
        "1e",    "1e+",   "1e5.5", "1.2.3", "--1",  "+-1",  " 1",     "1 ",   "1\n", "0x10",
        "1_000", "١",     "inf",   "nan",   "1,5",  "12a",  "007",    "1e05", "- 1", "+",
    };
    for (const std::string& text : texts) {
      INFO(text);
      CHECK(looks_numeric(text) == numeric_by_regex(text));
    }
  }
  SUBCASE("on generated strings") {
    for (const std::string& text :
         joined_pieces({"1", "23", ".", "-", "+", "e", "E", "x", " ", "e-"})) {
      INFO(text);
      REQUIRE(looks_numeric(text) == numeric_by_regex(text));
    }
  }
}

TEST_CASE("content::schema_failures::indexes_in") {
  SUBCASE("what the regex finds") {
    const std::string texts[] = {
        "",
        "no positions",
        "#",
        "#1",
        "item #0",
        "Failed to validate item #12 in array.",
        "Elements at indexes #1 and #3 violate uniqueness constraint.",
        "##2",
        "#a#7",
        "#007",
        "#1#2",
        "# 3",
        "#12x34",
        "#-1",
    };
    for (const std::string& text : texts) {
      INFO(text);
      CHECK(indexes_in(text) == indexes_by_regex(text));
    }
  }
  SUBCASE("on generated strings") {
    for (const std::string& text : joined_pieces({"#", "1", "20", " ", "a", "##", "#3"})) {
      INFO(text);
      REQUIRE(indexes_in(text) == indexes_by_regex(text));
    }
  }
  SUBCASE("a number past std::size_t throws, as std::stoul does") {
    CHECK_THROWS_AS(indexes_in("#99999999999999999999999"), std::out_of_range);
  }
}
