#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "content/variables.h"
#include "content/yaml.h"

using namespace envflow::content;

namespace {

Value yaml_value(const std::string& text) {
  YamlResult result = load_yaml("v: " + text + "\n", "variables/v.yaml");
  REQUIRE_MESSAGE(result.value.has_value(), text);
  REQUIRE_MESSAGE(result.diagnostics.empty(), text);
  const Value* value = result.value->find("v");
  REQUIRE(value != nullptr);
  return *value;
}

const std::vector<std::string> k_tiers = {"free", "pro", "enterprise"};
const std::vector<std::string> k_levels = {"1", "2", "3"};

} // namespace

TEST_CASE("content::check_variable_value") {
  struct Case {
    std::string type;
    std::vector<std::string> values;
    std::string yaml;
    std::string expected; // "" when acceptable, else a part of the message
  };
  const std::vector<Case> cases = {
      {"string", {}, "hello", ""},
      {"string", {}, "\"42\"", ""},
      {"string", {}, "''", ""},
      {"string", {}, "42", "expected a string, got integer 42"},
      {"string", {}, "true", "expected a string, got boolean true"},
      {"string", {}, "[a, b]", "expected a string, got a sequence"},
      {"string", {}, "~", "expected a string, got null"},
      {"number", {}, "42", ""},
      {"number", {}, "-0.5", ""},
      {"number", {}, "1e3", ""},
      {"number", {}, "0x1F", ""},
      {"number", {}, "\"42\"", "expected a number, got '42'"},
      {"number", {}, ".inf", "expected a finite number"},
      {"number", {}, ".nan", "expected a finite number"},
      {"number", {}, "{a: 1}", "expected a number, got a mapping"},
      {"boolean", {}, "true", ""},
      {"boolean", {}, "False", ""},
      {"boolean", {}, "yes", "expected a boolean (true or false), got 'yes'"},
      {"boolean", {}, "1", "expected a boolean (true or false), got integer 1"},
      {"url", {}, "https://api.example.com/v1", ""},
      {"url", {}, "http://localhost:8080", ""},
      {"url", {}, "HTTPS://Example.COM", ""},
      {"url", {}, "https://user@[::1]:443/path?q=1#f", ""},
      {"url", {}, "ftp://x", "expected a url (absolute http or https URL), got 'ftp://x'"},
      {"url", {}, "example.com", "not an absolute URL"},
      {"url", {}, "https://", "no host"},
      {"url", {}, "https:///path", "no host"},
      {"url", {}, "\"https://exa mple.com\"", "blank"},
      {"url", {}, "https://example.com:99999", "port"},
      {"url", {}, "https://example.com:http", "port"},
      {"url", {}, "\"https://{{ vars.HOST }}\"", "percent-encode"},
      {"url", {}, "42", "expected a url (absolute http or https URL), got integer 42"},
      {"json", {}, "{a: 1, b: [1, 2]}", ""},
      {"json", {}, "[1, two]", ""},
      {"json", {}, "plain", ""},
      {"json", {}, "~", ""},
      {"enum", k_tiers, "pro", ""},
      {"enum", k_tiers, "Pro", "expected one of 'free', 'pro', 'enterprise', got 'Pro'"},
      {"enum", k_tiers, "[pro]", "got a sequence"},
      {"enum", k_levels, "\"2\"", ""},
      {"enum", k_levels, "2", "(quote it: \"2\")"},
      {"enum", {}, "x", "declares none"},
      {"integer", {}, "1", "unknown variable type 'integer'"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.type);
    CAPTURE(c.yaml);
    const std::string message = check_variable_value(c.type, c.values, yaml_value(c.yaml));
    if (c.expected.empty()) {
      CHECK(message == "");
    } else {
      CHECK_MESSAGE(message.find(c.expected) != std::string::npos, message);
    }
  }
}

TEST_CASE("content::parse_variable_text") {
  struct Case {
    std::string type;
    std::vector<std::string> values;
    std::string text;
    std::string expected; // "" when accepted, else a part of the message
    Value::Type result_type = Value::Type::null;
  };
  const std::vector<Case> cases = {
      {"string", {}, "hello world", "", Value::Type::string},
      {"string", {}, "", "", Value::Type::string},
      {"string", {}, "42", "", Value::Type::string},
      {"number", {}, "42", "", Value::Type::integer},
      {"number", {}, "-7", "", Value::Type::integer},
      {"number", {}, " 3 ", "", Value::Type::integer},
      {"number", {}, "0.25", "", Value::Type::number},
      {"number", {}, "6.02e23", "", Value::Type::number},
      {"number", {}, "12345678901234567890", "", Value::Type::number},
      {"number", {}, "abc", "expected a number"},
      {"number", {}, "", "expected a number"},
      {"number", {}, "0x1F", "expected a number"},
      {"number", {}, "01", "expected a number"},
      {"number", {}, "1.", "expected a number"},
      {"number", {}, "+1", "expected a number"},
      {"number", {}, "NaN", "expected a number"},
      {"number", {}, "1e999", "out of range"},
      {"boolean", {}, "true", "", Value::Type::boolean},
      {"boolean", {}, "false", "", Value::Type::boolean},
      {"boolean", {}, "yes", "expected a boolean (true or false), got 'yes'"},
      {"boolean", {}, "True", "expected a boolean"},
      {"json", {}, "{\"a\": [1, 2.5, \"x\", null, true]}", "", Value::Type::mapping},
      {"json", {}, "[]", "", Value::Type::sequence},
      {"json", {}, "\"text\"", "", Value::Type::string},
      {"json", {}, "17", "", Value::Type::integer},
      {"json", {}, "null", "", Value::Type::null},
      {"json", {}, "hello", "expected JSON text, got 'hello'"},
      {"json", {}, "{\"a\": 1", "expected JSON text"},
      {"url", {}, "https://api.example.com", "", Value::Type::string},
      {"url", {}, "ftp://x", "expected a url (absolute http or https URL), got 'ftp://x'"},
      {"url", {}, " https://api.example.com", "blank"},
      {"enum", k_tiers, "enterprise", "", Value::Type::string},
      {"enum", k_tiers, "gold", "expected one of 'free', 'pro', 'enterprise', got 'gold'"},
      {"enum", k_levels, "2", "", Value::Type::string},
      {"color", {}, "red", "unknown variable type 'color'"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.type);
    CAPTURE(c.text);
    Value out;
    out.string = "untouched";
    const std::string message = parse_variable_text(c.type, c.values, c.text, out);
    if (c.expected.empty()) {
      CHECK(message == "");
      CHECK(out.type == c.result_type);
      // What parses is what checks.
      CHECK(check_variable_value(c.type, c.values, out) == "");
    } else {
      CHECK_MESSAGE(message.find(c.expected) != std::string::npos, message);
      CHECK(out.string == "untouched");
    }
  }

  SUBCASE("typed results") {
    Value out;
    REQUIRE(parse_variable_text("number", {}, "42", out) == "");
    CHECK(out.integer == 42);
    REQUIRE(parse_variable_text("number", {}, "-0.5", out) == "");
    CHECK(out.number == doctest::Approx(-0.5));
    REQUIRE(parse_variable_text("boolean", {}, "true", out) == "");
    CHECK(out.boolean);
    REQUIRE(parse_variable_text("json", {}, "{\"z\": 1, \"a\": {\"b\": [true]}}", out) == "");
    REQUIRE(out.members.size() == 2);
    CHECK(out.members[0].key == "z"); // document order is kept
    CHECK(out.members[0].value.integer == 1);
    CHECK(out.members[1].value.members[0].value.items[0].boolean);
    REQUIRE(parse_variable_text("string", {}, "  spaced  ", out) == "");
    CHECK(out.string == "  spaced  ");
  }
}
