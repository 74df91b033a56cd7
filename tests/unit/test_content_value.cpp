#include <doctest/doctest.h>

#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "content/value.h"
#include "content/yaml.h"

using envflow::content::load_yaml;
using envflow::content::Value;
using Type = envflow::content::Value::Type;

namespace {

Value load_value(const std::string& text) {
  auto result = load_yaml(text, "t.yaml");
  REQUIRE(result.diagnostics.empty());
  REQUIRE(result.value);
  return std::move(*result.value);
}

const char* const k_onboarding = "kind: Workflow\n"
                                 "name: onboarding\n"
                                 "count: 3\n"
                                 "steps:\n"
                                 "  - agent: greeter\n"
                                 "    retries: 2\n"
                                 "  - agent: helper\n"
                                 "    with: {ratio: 0.5, on: true, none: ~}\n";

} // namespace

TEST_CASE("content::Value") {
  const Value root = load_value(k_onboarding);

  SUBCASE("find and string_at") {
    REQUIRE(root.find("name") != nullptr);
    CHECK(root.find("name")->string == "onboarding");
    CHECK(root.find("missing") == nullptr);
    CHECK(root.string_at("kind") == "Workflow");
    CHECK(root.string_at("count").empty()); // an integer, not a string
    CHECK(root.string_at("missing").empty());
    CHECK(root.find("steps")->find("agent") == nullptr); // not a mapping
  }

  SUBCASE("locate follows a valijson context path") {
    const Value& agent = root.locate({"<root>", "[steps]", "[1]", "[agent]"});
    CHECK(agent.string == "helper");
    CHECK(agent.mark.line == 7);
    CHECK(agent.mark.column == 12);

    CHECK(&root.locate({"<root>"}) == &root);
    CHECK(&root.locate({}) == &root);
    CHECK(root.locate({"<root>", "[steps]", "[0]", "[retries]"}).integer == 2);
    CHECK(root.locate({"<root>", "[steps]", "[1]", "[with]", "[ratio]"}).number == 0.5);
  }

  SUBCASE("locate stops at the deepest node that exists") {
    const Value* steps = root.find("steps");
    CHECK(&root.locate({"<root>", "[steps]", "[7]", "[agent]"}) == steps);
    CHECK(&root.locate({"<root>", "[steps]", "[x]"}) == steps);
    CHECK(&root.locate({"<root>", "[steps]", "[-1]"}) == steps);
    CHECK(&root.locate({"<root>", "[nope]", "[1]"}) == &root);
    CHECK(&root.locate({"<root>", "[steps]", "[0]", "[agent]", "[deeper]"}) ==
          &steps->items[0].find("agent")[0]);
  }

  SUBCASE("locate reads numeric-looking keys of a mapping as keys") {
    const Value numbered = load_value("'1': one\n2: two\n");
    CHECK(numbered.locate({"<root>", "[1]"}).string == "one");
    CHECK(numbered.locate({"<root>", "[2]"}).string == "two");
  }

  SUBCASE("to_json keeps the core schema types") {
    const nlohmann::json json = root.to_json();
    CHECK(json["kind"] == "Workflow");
    CHECK(json["count"].is_number_integer());
    CHECK(json["count"].get<std::int64_t>() == 3);
    CHECK(json["steps"].is_array());
    CHECK(json["steps"].size() == 2);
    CHECK(json["steps"][1]["with"]["ratio"].is_number_float());
    CHECK(json["steps"][1]["with"]["on"].is_boolean());
    CHECK(json["steps"][1]["with"]["none"].is_null());
    CHECK(json["steps"][0].is_object());

    const Value big = load_value("max: 9223372036854775807\nmin: -9223372036854775808\nhuge: "
                                 "99999999999999999999\nstr: '8080'\nempty: {}\nlist: []\n");
    const nlohmann::json b = big.to_json();
    CHECK(b["max"].get<std::int64_t>() == std::numeric_limits<std::int64_t>::max());
    CHECK(b["min"].get<std::int64_t>() == std::numeric_limits<std::int64_t>::min());
    CHECK(b["huge"].is_number_float());
    CHECK(b["str"].is_string());
    CHECK(b["empty"].is_object());
    CHECK(b["empty"].empty());
    CHECK(b["list"].is_array());
    CHECK(Value().to_json().is_null());
  }

  SUBCASE("type_name uses JSON Schema names") {
    CHECK(Value::type_name(Type::null) == "null");
    CHECK(Value::type_name(Type::boolean) == "boolean");
    CHECK(Value::type_name(Type::integer) == "integer");
    CHECK(Value::type_name(Type::number) == "number");
    CHECK(Value::type_name(Type::string) == "string");
    CHECK(Value::type_name(Type::sequence) == "array");
    CHECK(Value::type_name(Type::mapping) == "object");
  }
}
