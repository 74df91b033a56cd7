#include <doctest/doctest.h>

#include "content/yaml.h"
#include "core/diff_values.h"

using namespace envflow;

namespace {

content::Value parse(const char* text) { return *content::load_yaml(text, "t.yaml").value; }

} // namespace

TEST_CASE("core::value_at") {
  const content::Value doc = parse("kind: Agent\n"
                                   "model:\n  temperature: 0.2\n"
                                   "steps:\n  - agent: a\n  - agent: b\n"
                                   "\"odd key\": 1\n"
                                   "'q\"k': 2\n");
  CHECK(core::value_at(doc, "(document)") == &doc);
  REQUIRE(core::value_at(doc, "kind") != nullptr);
  CHECK(core::value_at(doc, "kind")->string == "Agent");
  REQUIRE(core::value_at(doc, "model.temperature") != nullptr);
  CHECK(core::value_at(doc, "model.temperature")->number == doctest::Approx(0.2));
  REQUIRE(core::value_at(doc, "steps[1].agent") != nullptr);
  CHECK(core::value_at(doc, "steps[1].agent")->string == "b");
  REQUIRE(core::value_at(doc, "[\"odd key\"]") != nullptr);
  CHECK(core::value_at(doc, "[\"odd key\"]")->integer == 1);
  REQUIRE(core::value_at(doc, "[\"q\\\"k\"]") != nullptr);
  CHECK(core::value_at(doc, "[\"q\\\"k\"]")->integer == 2);
  CHECK(core::value_at(doc, "missing") == nullptr);
  CHECK(core::value_at(doc, "steps[2].agent") == nullptr);
  CHECK(core::value_at(doc, "steps[x]") == nullptr);
  CHECK(core::value_at(doc, "kind.sub") == nullptr);
  CHECK(core::value_at(doc, "steps[99999999999999999999]") == nullptr);
}
