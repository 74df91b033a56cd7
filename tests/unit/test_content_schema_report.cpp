#include <doctest/doctest.h>

#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "content/schema_failures.h"

#include "support.h"

using envflow::content::schema_failures::indexes_in;

TEST_CASE("content::schema_failures::indexes_in") {
  // The regex the hand-written scanner replaced is the oracle.
  const auto indexes_by_regex = [](const std::string& text) {
    static const std::regex k_index(R"(#(\d+))");
    std::vector<std::size_t> found;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), k_index);
         it != std::sregex_iterator(); ++it) {
      found.push_back(std::stoul((*it)[1].str()));
    }
    return found;
  };
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
    for (const std::string& text :
         envflow::test::joined_pieces({"#", "1", "20", " ", "a", "##", "#3"}, 4)) {
      INFO(text);
      REQUIRE(indexes_in(text) == indexes_by_regex(text));
    }
  }
  SUBCASE("a number past std::size_t throws, as std::stoul does") {
    CHECK_THROWS_AS(indexes_in("#99999999999999999999999"), std::out_of_range);
  }
}
