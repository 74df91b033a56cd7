#include <doctest/doctest.h>

#include <cmath>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "content/yaml.h"
#include "content/yaml_writer.h"

using envflow::content::Layout;
using envflow::content::load_yaml;
using envflow::content::Quote;
using envflow::content::Value;
using envflow::content::YamlWriter;
using Type = envflow::content::Value::Type;

namespace {

// Strings a careless writer gets wrong: what YAML types (booleans, null,
// numbers, YAML 1.1's words), indicators, comments and separators, spaces
// at the ends, escapes, line breaks, characters YAML refuses raw, Unicode.
std::vector<std::string> nasty_strings() {
  using namespace std::string_view_literals;
  // string_view literals: sizes come from the literal, so NUL stays in.
  static constexpr std::string_view k_texts[] = {
      ""sv,
      "plain"sv,
      "two words"sv,
      " leading"sv,
      "trailing "sv,
      "  "sv,
      "a: b"sv,
      "a:b"sv,
      "key:"sv,
      ":"sv,
      "- item"sv,
      "-"sv,
      "--"sv,
      "---"sv,
      "--- x"sv,
      "..."sv,
      "? q"sv,
      "#comment"sv,
      "a #comment"sv,
      "a# no comment"sv,
      "\"quoted\""sv,
      "'single'"sv,
      "it's"sv,
      "back\\slash"sv,
      "{flow: map}"sv,
      "[flow, seq]"sv,
      "a, b"sv,
      "&anchor"sv,
      "*alias"sv,
      "!tag"sv,
      "!!str"sv,
      "%directive"sv,
      "@at"sv,
      "`tick"sv,
      "|"sv,
      ">"sv,
      "<<"sv,
      "="sv,
      "yes"sv,
      "no"sv,
      "Yes"sv,
      "NO"sv,
      "on"sv,
      "off"sv,
      "y"sv,
      "n"sv,
      "true"sv,
      "false"sv,
      "True"sv,
      "FALSE"sv,
      "null"sv,
      "Null"sv,
      "NULL"sv,
      "~"sv,
      "0"sv,
      "12"sv,
      "-12"sv,
      "+12"sv,
      "007"sv,
      "0o17"sv,
      "0x1F"sv,
      "1_000"sv,
      "1:20"sv,
      "1.0"sv,
      ".5"sv,
      "-.5"sv,
      "1e3"sv,
      "1e+300"sv,
      ".inf"sv,
      "-.Inf"sv,
      ".nan"sv,
      ".NaN"sv,
      "2024-01-31"sv,
      "2024-01-31T12:00:00Z"sv,
      "v1.0.0"sv,
      "release/prod"sv,
      "alice@example.com"sv,
      "https://example.com/a?b=c#d"sv,
      "$ENVFLOW_BUNDLE"sv,
      "${secrets.TOKEN}"sv,
      "{{ vars.x }}"sv,
      "line\nbreak"sv,
      "ends with newline\n"sv,
      "\n"sv,
      "\n\nleading newlines"sv,
      "crlf\r\nline"sv,
      "cr\ronly"sv,
      "tab\there"sv,
      "\ttab first"sv,
      "trailing tab\t"sv,
      "nul\0byte"sv,
      "bell\x07"sv,
      "escape \x1b[31mred\x1b[0m"sv,
      "backspace\b formfeed\f vtab\v"sv,
      "del\x7f"sv,
      "caf\xC3\xA9"sv,
      "\xE2\x82\xAC euro"sv,
      "emoji \xF0\x9F\x98\x80"sv,
      "\xE4\xB8\xAD\xE6\x96\x87"sv,
      "nbsp\xC2\xA0here"sv,
      "nel\xC2\x85here"sv,
      "c1\xC2\x9B"sv,
      "line separator\xE2\x80\xA8here"sv,
      "paragraph separator\xE2\x80\xA9here"sv,
      "\xEF\xBB\xBF" "bom first"sv,
      "bom\xEF\xBB\xBF" "inside"sv,
      "right-to-left \xE2\x80\xAE override"sv,
      "caf\xC3\xA9 with del\x7f"sv,
  };
  std::vector<std::string> out(std::begin(k_texts), std::end(k_texts));
  // Built in place: GCC 12 at -O3 sees a false out-of-bounds copy
  // (-Warray-bounds) when a temporary std::string is moved in.
  out.emplace_back(1100, 'x');
  out.emplace_back(1100, ' ');
  out.back().push_back('x'); // a long key with spaces first
  return out;
}

Value string_value(const std::string& text) {
  Value v;
  v.type = Type::string;
  v.string = text;
  return v;
}

// `text` loaded, with no diagnostic.
Value reload(const std::string& text) {
  const auto loaded = load_yaml(text, "written.yaml");
  std::string problems;
  for (const auto& d : loaded.diagnostics) {
    problems += d.to_text() + "\n";
  }
  INFO(text);
  INFO(problems);
  REQUIRE(loaded.diagnostics.empty());
  REQUIRE(loaded.value.has_value());
  return *loaded.value;
}

} // namespace

TEST_CASE("content::YamlWriter: nasty strings read back as written") {
  const std::vector<std::string> strings = nasty_strings();
  for (const Quote quote : {Quote::when_needed, Quote::always}) {
    for (const Layout layout : {Layout::block, Layout::flow}) {
      // Each string as a key and as a value of a mapping, and as an item of
      // a sequence inside it.
      YamlWriter out;
      out.comment("nasty strings");
      out.begin_map();
      for (std::size_t i = 0; i < strings.size(); ++i) {
        out.key(strings[i], quote).string(strings[i], quote);
      }
      out.key("list", quote).strings(strings, quote, layout);
      out.end_map();
      const std::string text = out.text();
      const Value root = reload(text);
      INFO(text);
      REQUIRE(root.is_mapping());
      REQUIRE(root.members.size() == strings.size() + 1);
      for (std::size_t i = 0; i < strings.size(); ++i) {
        INFO("string #" << i);
        CHECK(root.members[i].key == strings[i]);
        CHECK(root.members[i].value.type == Type::string);
        CHECK(root.members[i].value.string == strings[i]);
      }
      const Value& list = root.members.back().value;
      REQUIRE(list.is_sequence());
      REQUIRE(list.items.size() == strings.size());
      for (std::size_t i = 0; i < strings.size(); ++i) {
        INFO("item #" << i);
        CHECK(list.items[i].type == Type::string);
        CHECK(list.items[i].string == strings[i]);
      }
    }
  }
}

TEST_CASE("content::YamlWriter: a string at the top level and in a flow mapping") {
  for (const std::string& s : nasty_strings()) {
    INFO(s);
    YamlWriter scalar;
    scalar.string(s);
    const Value top = reload(scalar.text());
    CHECK(top.type == Type::string);
    CHECK(top.string == s);

    Value map;
    map.type = Type::mapping;
    map.members.push_back(envflow::content::Entry{s, {}, string_value(s)});
    YamlWriter flow;
    flow.value(map, Quote::when_needed, Layout::flow);
    const Value back = reload(flow.text());
    REQUIRE(back.members.size() == 1);
    CHECK(back.members[0].key == s);
    CHECK(back.members[0].value.string == s);
  }
}

TEST_CASE("content::YamlWriter: what cannot be kept") {
  // Not UTF-8, and the non-characters U+FFFE and U+FFFF: U+FFFD, as yaml-cpp
  // writes them; load_yaml refuses them raw and as escapes, so no loaded
  // value holds one.
  YamlWriter out;
  out.begin_seq().string("a\xFF" "b").string("x\xEF\xBF\xBEy").end_seq();
  const Value back = reload(out.text());
  CHECK(back.items[0].string == "a\xEF\xBF\xBD" "b");
  CHECK(back.items[1].string == "x\xEF\xBF\xBDy");
  const auto escaped = load_yaml("a: \"\\uFFFE\"\n", "x.yaml");
  REQUIRE(escaped.diagnostics.size() == 1);
  CHECK(escaped.diagnostics[0].message == "invalid YAML: U+FFFE is not a character; remove its escape");
}

TEST_CASE("content::YamlWriter: scalars keep their types") {
  const double numbers[] = {0.0,  -0.0, 0.5, 3.0, -12.25, 1e300, 1e-300, 123456789.125,
                            std::numeric_limits<double>::infinity(),
                            -std::numeric_limits<double>::infinity(),
                            std::numeric_limits<double>::quiet_NaN()};
  YamlWriter out;
  out.begin_seq();
  for (double d : numbers) {
    out.number(d);
  }
  out.integer(0).integer(-12).integer(INT64_MAX).integer(INT64_MIN);
  out.boolean(true).boolean(false).null().string_or_null("").string_or_null("x");
  out.end_seq();
  const Value back = reload(out.text());
  const std::size_t n = std::size(numbers);
  REQUIRE(back.items.size() == n + 9);
  for (std::size_t i = 0; i < n; ++i) {
    INFO(out.text());
    CHECK(back.items[i].type == Type::number);
    if (std::isnan(numbers[i])) {
      CHECK(std::isnan(back.items[i].number));
    } else {
      CHECK(back.items[i].number == numbers[i]);
      CHECK(std::signbit(back.items[i].number) == std::signbit(numbers[i]));
    }
  }
  CHECK(back.items[n].integer == 0);
  CHECK(back.items[n + 1].integer == -12);
  CHECK(back.items[n + 2].integer == INT64_MAX);
  CHECK(back.items[n + 3].integer == INT64_MIN);
  CHECK(back.items[n + 4].type == Type::boolean);
  CHECK(back.items[n + 4].boolean);
  CHECK(back.items[n + 5].type == Type::boolean);
  CHECK_FALSE(back.items[n + 5].boolean);
  CHECK(back.items[n + 6].is_null());
  CHECK(back.items[n + 7].is_null());
  CHECK(back.items[n + 8].string == "x");
}

TEST_CASE("content::YamlWriter: loaded values written back") {
  const std::string source = "a: [1, \"two\", null, 2.5, true, {x: [], y: {}}]\n"
                             "\"odd key: yes\": {nested: {deep: [\"\\u0007\", '']}}\n"
                             "empty: []\n";
  const Value original = reload(source);
  for (const Quote quote : {Quote::when_needed, Quote::always}) {
    for (const Layout layout : {Layout::block, Layout::flow}) {
      YamlWriter out;
      out.value(original, quote, layout);
      const Value back = reload(out.text());
      CHECK(back.to_json() == original.to_json());
      // Mapping order is kept, which JSON does not show.
      CHECK(back.members[0].key == "a");
      CHECK(back.members[1].key == "odd key: yes");
    }
  }
}

TEST_CASE("content::YamlWriter: the layout people read") {
  YamlWriter out;
  out.comment("a file envflow writes\nsecond line");
  out.begin_map();
  out.key("version").integer(1);
  out.blank_line();
  out.comment("the list");
  out.key("environments").begin_seq();
  out.begin_map();
  out.key("name").string("dev");
  out.key("write").strings({"developers", "true"}, Quote::always).line_comment("who writes");
  out.key("empty").strings({});
  out.key("words").strings({"sync", "yes", "a b"});
  out.end_map();
  out.end_seq();
  out.blank_line();
  out.key("checks").line_comment("after a key").begin_seq().string("x").end_seq();
  out.key("none").null();
  out.key("flag").boolean(false);
  out.key("half").number(0.5);
  out.key("whole").number(3.0);
  out.end_map();
  CHECK(out.text() == "# a file envflow writes\n"
                      "# second line\n"
                      "version: 1\n"
                      "\n"
                      "# the list\n"
                      "environments:\n"
                      "  - name: dev\n"
                      "    write: [\"developers\", \"true\"]  # who writes\n"
                      "    empty: []\n"
                      "    words: [sync, \"yes\", a b]\n"
                      "\n"
                      "checks:  # after a key\n"
                      "  - x\n"
                      "none: null\n"
                      "flag: false\n"
                      "half: 0.5\n"
                      "whole: 3.0\n");
  CHECK(reload(out.text()).find("whole")->type == Type::number);
}

TEST_CASE("content::YamlWriter: escapes") {
  YamlWriter out;
  out.begin_seq(Layout::flow);
  out.string("a\x1b[0m\tb\n");
  out.string("caf\xC3\xA9");
  out.string("caf\xC3\xA9\x7f");
  out.string("c1\xC2\x85");
  out.end_seq();
  // JSON's escapes for control characters; UTF-8 kept, unless the string
  // holds DEL, U+2028 or U+2029, which yaml-cpp writes raw otherwise.
  CHECK(out.text() ==
        "[\"a\\u001b[0m\\tb\\n\", caf\xC3\xA9, \"caf\\xe9\\x7f\", \"c1\\u0085\"]\n");
}

TEST_CASE("content::YamlWriter: calls out of order are a bug") {
  YamlWriter unended;
  unended.begin_map().key("a");
  CHECK_THROWS_AS(unended.text(), std::logic_error);
  YamlWriter unbalanced;
  unbalanced.begin_seq().end_map();
  CHECK_THROWS_AS(unbalanced.text(), std::logic_error);
}

TEST_CASE("content::yaml_number") {
  CHECK(envflow::content::yaml_number(3.0) == "3.0");
  CHECK(envflow::content::yaml_number(0.5) == "0.5");
  CHECK(envflow::content::yaml_number(std::numeric_limits<double>::quiet_NaN()) == ".nan");
  CHECK(envflow::content::yaml_number(-std::numeric_limits<double>::infinity()) == "-.inf");
}
