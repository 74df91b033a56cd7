#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "content/kinds.h"
#include "content/references.h"
#include "content/schema.h"
#include "content/schema_failures.h"
#include "content/source.h"
#include "content/validator.h"
#include "content/yaml.h"
#include "core/policy/config.h"
#include "util/embedded.h"
#include "util/error.h"
#include "util/json.h"
#include "util/strings.h"

#include "support.h"

using envflow::content::Diagnostic;
using envflow::content::SchemaSet;
using envflow::content::Value;
using namespace envflow::test;

namespace {

using Sources = std::vector<std::pair<std::string, std::string>>;

const char* const k_schema_names[] = {"workspace",   "agent",   "workflow", "knowledge",
                                      "integration", "channel", "variable", "guardrail",
                                      "evaluator",   "pipeline"};

Value load(std::string_view text) {
  auto result = envflow::content::load_yaml(text, "test.yaml");
  REQUIRE(result.value.has_value());
  REQUIRE(result.diagnostics.empty());
  return *result.value;
}

std::vector<Diagnostic> check(std::string_view schema, std::string_view text) {
  return SchemaSet::builtin().validate(schema, load(text), "test.yaml");
}

// Exactly one diagnostic, with rule "schema", at `line`:`column`, whose
// message contains `needle`.
void expect_schema_error(std::string_view schema, std::string_view text, int line, int column,
                         const std::string& needle) {
  const auto diagnostics = check(schema, text);
  INFO(dump(diagnostics));
  REQUIRE(diagnostics.size() == 1);
  CHECK(diagnostics[0].rule == "schema");
  CHECK(diagnostics[0].path == "test.yaml");
  CHECK(diagnostics[0].mark.line == line);
  CHECK(diagnostics[0].mark.column == column);
  CHECK(diagnostics[0].message.find(needle) != std::string::npos);
}

void expect_schema_clean(std::string_view schema, std::string_view text) {
  const auto diagnostics = check(schema, text);
  INFO(dump(diagnostics));
  CHECK(diagnostics.empty());
}

nlohmann::json schema_json(const std::string& name) {
  const auto text = envflow::util::embedded_file("schemas/" + name + ".schema.json");
  REQUIRE(text.has_value());
  return envflow::util::parse_json(*text);
}

// Calls `visit(path, schema)` on every subschema of `schema`.
template <typename Visit>
void walk(const nlohmann::json& schema, const std::string& path, Visit&& visit) {
  if (!schema.is_object()) {
    return;
  }
  visit(path, schema);
  for (const char* keyword : {"properties", "definitions", "patternProperties"}) {
    if (schema.contains(keyword)) {
      for (const auto& [key, sub] : schema[keyword].items()) {
        walk(sub, path + "/" + keyword + "/" + key, visit);
      }
    }
  }
  for (const char* keyword : {"items", "additionalProperties", "then", "else", "if", "not"}) {
    if (schema.contains(keyword)) {
      walk(schema[keyword], path + "/" + keyword, visit);
    }
  }
  for (const char* keyword : {"allOf", "anyOf", "oneOf"}) {
    if (schema.contains(keyword)) {
      for (std::size_t i = 0; i < schema[keyword].size(); ++i) {
        walk(schema[keyword][i], path + "/" + keyword + "/" + std::to_string(i), visit);
      }
    }
  }
}

} // namespace

TEST_CASE("content::SchemaSet::builtin") {
  const SchemaSet& schemas = SchemaSet::builtin();
  for (const char* name : k_schema_names) {
    CHECK_MESSAGE(schemas.has(name), name);
  }
  CHECK_FALSE(schemas.has("conversation"));
  CHECK(&schemas == &SchemaSet::builtin());
  CHECK(std::regex_match(schemas.digest(), std::regex("[0-9a-f]{16}")));
  CHECK_THROWS_AS(schemas.validate("nope", load("a: 1"), "x.yaml"), envflow::util::IoError);

  SUBCASE("every content kind has its schema") {
    for (const auto& info : envflow::content::kinds()) {
      CHECK(schemas.has(info.schema));
    }
  }

  SUBCASE("digest follows the texts") {
    const SchemaSet a(Sources{{"x", R"({"type": "object"})"}});
    const SchemaSet b(Sources{{"x", R"({"type": "object"})"}});
    const SchemaSet c(Sources{{"x", R"({"type": "array"})"}});
    CHECK(a.digest() == b.digest());
    CHECK(a.digest() != c.digest());
    CHECK(a.digest() != schemas.digest());
  }

  SUBCASE("a bad schema is an error") {
    CHECK_THROWS_AS(SchemaSet(Sources{{"x", "{not json"}}), envflow::util::IoError);
    CHECK_THROWS_AS(SchemaSet(Sources{{"x", R"({"type": 3})"}}), envflow::util::IoError);
  }
}

TEST_CASE("content::schema_failures::pattern_matches") {
  using envflow::content::schema_failures::pattern_matches;
  // Searched, not anchored, as valijson does for patternProperties.
  CHECK(pattern_matches("x-team", "^x-"));
  CHECK(pattern_matches("my-x-team", "x-"));
  CHECK_FALSE(pattern_matches("team", "^x-"));
  CHECK(pattern_matches("a1", "\\d"));
  CHECK_THROWS_AS(pattern_matches("x", "(unclosed"), std::regex_error);
}

TEST_CASE("content::schema conventions") {
  for (const std::string name : k_schema_names) {
    CAPTURE(name);
    const nlohmann::json schema = schema_json(name);
    CHECK(schema.value("$schema", "") == "http://json-schema.org/draft-07/schema#");
    CHECK(schema.value("$id", "") == "https://envflow.dev/schemas/" + name + ".schema.json");
    CHECK(schema.contains("title"));
    CHECK(schema.contains("description"));
    if (name != "pipeline") {
      CHECK(schema["required"].size() >= 2);
      CHECK(schema["required"][0] == "kind");
      CHECK(schema["required"][1] == "name");
      CHECK(schema["properties"]["kind"].contains("const"));
    }
    walk(schema, "#", [&](const std::string& path, const nlohmann::json& sub) {
      CAPTURE(path);
      if (sub.contains("properties") && sub.value("type", "") == "object") {
        // Strict: every object that declares fields refuses the others.
        CHECK(sub.value("additionalProperties", true) == false);
        for (const auto& [key, property] : sub["properties"].items()) {
          CAPTURE(key);
          // Docs are generated from these.
          CHECK(property.contains("description"));
          CHECK(property.contains("title"));
        }
      }
      // valijson 1.0 checks only date/time formats; we use patterns.
      CHECK_FALSE(sub.contains("format"));
    });
  }
}

TEST_CASE("content::schema workspace") {
  expect_schema_clean("workspace",
                      "kind: Workspace\nname: shop\nschema_version: 1\ndescription: x\n");
  SUBCASE("missing required") {
    expect_schema_error("workspace", "kind: Workspace\nname: shop\n", 1, 1,
                        "missing required field 'schema_version' in Workspace");
  }
  SUBCASE("wrong const") {
    expect_schema_error("workspace", "kind: Workspace\nname: shop\nschema_version: 2\n", 3, 17,
                        "at schema_version: expected 1, got 2");
  }
  SUBCASE("wrong type") {
    expect_schema_error("workspace", "kind: Workspace\nname: shop\nschema_version: \"1\"\n", 3, 17,
                        "expected integer, got string '1'; remove the quotes");
  }
  SUBCASE("unknown field") {
    expect_schema_error("workspace", "kind: Workspace\nname: shop\nschema_version: 1\nversion: 1\n",
                        4, 1, "unknown field 'version' in Workspace");
  }
  SUBCASE("bad pattern") {
    expect_schema_error("workspace", "kind: Workspace\nname: Shop Front\nschema_version: 1\n", 2, 7,
                        "at name: 'Shop Front' is not valid");
  }
}

TEST_CASE("content::schema agent") {
  const std::string valid = "kind: Agent\n"
                            "name: support\n"
                            "model:\n"
                            "  provider: anthropic\n"
                            "  name: claude-3-5-sonnet\n"
                            "  temperature: 1\n"
                            "  max_tokens: 500\n"
                            "instructions: |\n"
                            "  Help.\n"
                            "behavior:\n"
                            "  max_turns: 10\n"
                            "  escalate_after_failures: 2\n"
                            "  allow_small_talk: false\n"
                            "  response_length: short\n"
                            "tone: formal\n"
                            "fallback:\n"
                            "  message: Sorry.\n"
                            "  handoff_agent: human-desk\n"
                            "tools:\n"
                            "  - integration: crm\n"
                            "    endpoint: lookup\n"
                            "knowledge: [faq, policies]\n";
  expect_schema_clean("agent", valid);

  SUBCASE("unknown field with a suggestion") {
    const auto diagnostics =
        check("agent", "kind: Agent\nname: a\ninstructions: x\ntonee: formal\n");
    REQUIRE(diagnostics.size() == 1);
    CHECK(diagnostics[0].to_text() ==
          "test.yaml:4:1: error: unknown field 'tonee' in Agent: did you mean 'tone'? (allowed: "
          "kind, name, description, model, instructions, behavior, tone, fallback, tools, "
          "knowledge) [schema]");
  }
  SUBCASE("every unknown field is reported, nested ones at their path") {
    const auto diagnostics =
        check("agent", "kind: Agent\nname: a\ninstructions: x\nfoo: 1\nmodel:\n  provider: local\n"
                       "  name: m\n  temprature: 1\nbar: 2\n");
    INFO(dump(diagnostics));
    REQUIRE(diagnostics.size() == 3);
    CHECK(diagnostics[0].mark.line == 4);
    CHECK(diagnostics[1].mark.line == 8);
    CHECK(diagnostics[1].mark.column == 3);
    CHECK(diagnostics[1].message.find("unknown field 'temprature' in model: did you mean "
                                      "'temperature'?") == 0);
    CHECK(diagnostics[2].mark.line == 9);
  }
  SUBCASE("missing instructions") {
    expect_schema_error("agent", "kind: Agent\nname: a\ntone: formal\n", 1, 1,
                        "missing required field 'instructions' in Agent");
  }
  SUBCASE("empty instructions") {
    expect_schema_error("agent", "kind: Agent\nname: a\ninstructions: \"\"\n", 3, 15,
                        "at instructions: must not be empty");
  }
  SUBCASE("instructions left empty") {
    expect_schema_error("agent", "kind: Agent\nname: a\ninstructions:\ntone: formal\n", 3, 1,
                        "at instructions: expected string, got null (the value is empty)");
  }
  SUBCASE("bad enum with a suggestion") {
    expect_schema_error("agent", "kind: Agent\nname: a\ninstructions: x\ntone: friendy\n", 4, 7,
                        "at tone: 'friendy' is not allowed; use one of: friendly, formal, neutral, "
                        "concise, empathetic, playful (did you mean 'friendly'?)");
  }
  SUBCASE("nested enum") {
    expect_schema_error(
        "agent", "kind: Agent\nname: a\ninstructions: x\nmodel:\n  provider: openia\n  name: m\n",
        5, 13, "at model.provider: 'openia' is not allowed");
  }
  SUBCASE("nested missing required points at the key") {
    expect_schema_error("agent", "kind: Agent\nname: a\ninstructions: x\nmodel:\n  name: m\n", 4, 1,
                        "missing required field 'provider' in model");
  }
  SUBCASE("number out of range") {
    expect_schema_error(
        "agent",
        "kind: Agent\nname: a\ninstructions: x\nmodel:\n  provider: local\n  name: m\n"
        "  temperature: 2.5\n",
        7, 16, "at model.temperature: 2.5 is too large; it must be at most 2");
  }
  SUBCASE("integer wanted") {
    expect_schema_error(
        "agent", "kind: Agent\nname: a\ninstructions: x\nbehavior:\n  max_turns: 2.5\n", 5, 14,
        "at behavior.max_turns: expected integer, got number 2.5; write a whole number");
  }
  SUBCASE("boolean wanted") {
    expect_schema_error(
        "agent", "kind: Agent\nname: a\ninstructions: x\nbehavior:\n  allow_small_talk: yes\n", 5,
        21, "at behavior.allow_small_talk: expected boolean, got string");
  }
  SUBCASE("wrong type in a list") {
    expect_schema_error("agent",
                        "kind: Agent\nname: a\ninstructions: x\nknowledge:\n  - faq\n  - 12\n", 6,
                        5, "at knowledge[1]: expected string, got integer 12; quote it");
  }
  SUBCASE("bad name pattern in a list") {
    expect_schema_error("agent",
                        "kind: Agent\nname: a\ninstructions: x\ntools:\n  - integration: CRM\n", 5,
                        18, "at tools[0].integration: 'CRM' is not valid");
  }
  SUBCASE("duplicate knowledge") {
    expect_schema_error("agent",
                        "kind: Agent\nname: a\ninstructions: x\nknowledge: [faq, docs, faq]\n", 4,
                        24, "at knowledge[2]: 'faq' repeats knowledge[0]");
  }
  SUBCASE("fallback needs a message") {
    expect_schema_error("agent",
                        "kind: Agent\nname: a\ninstructions: x\nfallback:\n  handoff_agent: b\n", 4,
                        1, "missing required field 'message' in fallback");
  }
  SUBCASE("not an object") {
    expect_schema_error("agent", "- kind: Agent\n", 1, 1,
                        "at the top level: expected object, got array");
  }
}

TEST_CASE("content::schema workflow") {
  const std::string head = "kind: Workflow\nname: w\ntrigger:\n  type: message\nsteps:\n";
  expect_schema_clean("workflow", head + "  - id: a\n    agent: triage\n    next: c\n"
                                         "  - id: b\n    integration: crm\n    endpoint: lookup\n"
                                         "    input: {email: x}\n    on_error: continue\n"
                                         "  - id: c\n    workflow: other\n    input: text\n"
                                         "    condition: x == 1\n");
  SUBCASE("a step with none of agent, integration, workflow") {
    expect_schema_error("workflow", head + "  - id: a\n    agent: x\n  - id: b\n    input: x\n", 8,
                        5, "steps[1] needs exactly one of 'agent', 'integration' or 'workflow'");
  }
  SUBCASE("a step with two targets") {
    expect_schema_error(
        "workflow", head + "  - id: a\n    agent: x\n    workflow: y\n", 8, 5,
        "steps[0] may set only one of 'agent', 'integration' or 'workflow', found 'agent' "
        "and 'workflow'");
  }
  SUBCASE("integration needs an endpoint") {
    expect_schema_error(
        "workflow", head + "  - id: a\n    integration: crm\n", 6, 5,
        "at steps[0]: missing field 'endpoint', needed together with 'integration'");
  }
  SUBCASE("wrong type") {
    expect_schema_error("workflow", head + "  - id: a\n    agent: 7\n", 7, 12,
                        "at steps[0].agent: expected string, got integer 7");
  }
  SUBCASE("input is a string or an object") {
    expect_schema_error("workflow", head + "  - id: a\n    agent: x\n    input: [1]\n", 8, 12,
                        "at steps[0].input: expected string or object, got array");
  }
  SUBCASE("bad step id") {
    expect_schema_error("workflow", head + "  - id: Step One\n    agent: x\n", 6, 9,
                        "at steps[0].id: 'Step One' is not valid");
  }
  SUBCASE("bad on_error") {
    expect_schema_error(
        "workflow", head + "  - id: a\n    agent: x\n    on_error: retry\n", 8, 15,
        "at steps[0].on_error: 'retry' is not allowed; use one of: fail, continue, fallback");
  }
  SUBCASE("no steps") {
    expect_schema_error("workflow",
                        "kind: Workflow\nname: w\ntrigger:\n  type: message\nsteps: []\n", 5, 8,
                        "at steps: needs at least 1 item(s), has 0");
  }
  SUBCASE("schedule trigger needs a schedule") {
    expect_schema_error(
        "workflow",
        "kind: Workflow\nname: w\ntrigger:\n  type: schedule\nsteps:\n  - id: a\n    agent: x\n", 3,
        1, "missing required field 'schedule' in trigger");
  }
  SUBCASE("cron pattern") {
    expect_schema_clean("workflow", "kind: Workflow\nname: w\ntrigger:\n  type: schedule\n"
                                    "  schedule: 0 6 * * 1-5\nsteps:\n  - id: a\n    agent: x\n");
    expect_schema_error(
        "workflow",
        "kind: Workflow\nname: w\ntrigger:\n  type: schedule\n  schedule: every day\n"
        "steps:\n  - id: a\n    agent: x\n",
        5, 13, "at trigger.schedule: 'every day' is not valid");
  }
  SUBCASE("unknown field in a step") {
    expect_schema_error("workflow", head + "  - id: a\n    agent: x\n    retries: 3\n", 8, 5,
                        "unknown field 'retries' in steps[0]");
  }
}

TEST_CASE("content::schema knowledge") {
  const std::string head = "kind: KnowledgeBase\nname: faq\nsources:\n";
  expect_schema_clean(
      "knowledge", head + "  - type: file\n    path: knowledge/faq/returns.md\n"
                          "  - type: url\n    url: https://example.com/help\n    refresh: daily\n"
                          "chunking:\n  size: 400\n  overlap: 40\n");
  SUBCASE("file needs a path") {
    expect_schema_error("knowledge", head + "  - type: file\n", 4, 5,
                        "missing required field 'path' in sources[0]");
  }
  SUBCASE("url needs a url") {
    expect_schema_error("knowledge", head + "  - type: sitemap\n", 4, 5,
                        "missing required field 'url' in sources[0]");
  }
  SUBCASE("url pattern") {
    expect_schema_error("knowledge", head + "  - type: url\n    url: ftp://example.com\n", 5, 10,
                        "at sources[0].url: 'ftp://example.com' is not valid");
  }
  SUBCASE("path pattern") {
    expect_schema_error("knowledge", head + "  - type: file\n    path: ../etc/passwd\n", 5, 11,
                        "at sources[0].path: '../etc/passwd' is not valid");
  }
  SUBCASE("bad enum") {
    expect_schema_error("knowledge", head + "  - type: pdf\n    path: knowledge/faq/a.pdf\n", 4, 11,
                        "at sources[0].type: 'pdf' is not allowed");
  }
  SUBCASE("negative overlap") {
    expect_schema_error(
        "knowledge",
        head + "  - type: file\n    path: knowledge/faq/a.md\nchunking:\n  overlap: -1\n", 7, 12,
        "at chunking.overlap: -1 is too small; it must be at least 0");
  }
  SUBCASE("no sources") {
    expect_schema_error("knowledge", "kind: KnowledgeBase\nname: faq\n", 1, 1,
                        "missing required field 'sources' in KnowledgeBase");
  }
}

TEST_CASE("content::schema integration") {
  const std::string head = "kind: Integration\nname: crm\n";
  expect_schema_clean("integration",
                      head + "base_url: https://crm.example.com/api\nauth:\n  type: api_key\n"
                             "  secret: ${secrets.CRM_KEY}\n  header: X-Api-Key\nendpoints:\n"
                             "  - name: lookup\n    method: GET\n    path: /customers/{id}\n"
                             "    timeout_ms: 3000\nrate_limit_per_minute: 60\n");
  expect_schema_clean("integration",
                      head + "base_url: \"{{ vars.crm_url }}/v2\"\nauth:\n  type: none\n");
  SUBCASE("literal secret, not repeated in the message") {
    const std::string text =
        head + "base_url: https://x.example\nauth:\n  type: bearer\n  secret: hunter2\n";
    expect_schema_error("integration", text, 6, 11,
                        "at auth.secret: the value is not valid: Reference to the credential");
    CHECK(check("integration", text)[0].message.find("hunter2") == std::string::npos);
  }
  SUBCASE("secret required unless none") {
    expect_schema_error("integration",
                        head + "base_url: https://x.example\nauth:\n  type: oauth2\n", 4, 1,
                        "missing required field 'secret' in auth");
  }
  SUBCASE("base_url pattern") {
    expect_schema_error("integration", head + "base_url: crm.example.com\n", 3, 11,
                        "at base_url: 'crm.example.com' is not valid");
  }
  SUBCASE("method enum") {
    expect_schema_error(
        "integration",
        head + "base_url: https://x.example\nendpoints:\n  - name: a\n    method: get\n"
               "    path: /a\n",
        6, 13, "at endpoints[0].method: 'get' is not allowed; use one of: GET, POST");
  }
  SUBCASE("path must start with a slash") {
    expect_schema_error(
        "integration",
        head + "base_url: https://x.example\nendpoints:\n  - name: a\n    method: GET\n"
               "    path: a\n",
        7, 11, "at endpoints[0].path: 'a' is not valid");
  }
  SUBCASE("missing base_url") {
    expect_schema_error("integration", head, 1, 1,
                        "missing required field 'base_url' in Integration");
  }
  SUBCASE("timeout type") {
    expect_schema_error(
        "integration",
        head + "base_url: https://x.example\nendpoints:\n  - name: a\n    method: GET\n"
               "    path: /a\n    timeout_ms: fast\n",
        8, 17, "at endpoints[0].timeout_ms: expected integer, got string");
  }
}

TEST_CASE("content::schema channel") {
  const std::string head = "kind: Channel\nname: web\ntype: web\n";
  expect_schema_clean("channel",
                      head + "agent: support\nwidget:\n  title: Help\n  greeting: Hi\n"
                             "  position: inline\n  theme:\n    primary_color: \"#a0B1c2\"\n"
                             "    dark_mode: true\n  launcher_text: Chat\n"
                             "settings:\n  origin: https://x.example\n  retries: 3\n  on: true\n");
  SUBCASE("needs an entry point") {
    expect_schema_error("channel", head, 1, 1,
                        "Channel needs exactly one of 'agent' or 'workflow'");
  }
  SUBCASE("only one entry point") {
    expect_schema_error("channel", head + "agent: a\nworkflow: w\n", 5, 1,
                        "Channel may set only one of 'agent' or 'workflow'");
  }
  SUBCASE("colour pattern") {
    expect_schema_error("channel", head + "agent: a\nwidget:\n  theme:\n    primary_color: blue\n",
                        7, 20, "at widget.theme.primary_color: 'blue' is not valid");
  }
  SUBCASE("settings hold scalars only") {
    expect_schema_error("channel", head + "agent: a\nsettings:\n  nested:\n    a: 1\n", 7, 5,
                        "at settings.nested: expected string or number or boolean, got object");
  }
  SUBCASE("type enum") {
    expect_schema_error("channel", "kind: Channel\nname: web\ntype: sms\nagent: a\n", 3, 7,
                        "at type: 'sms' is not allowed");
  }
  SUBCASE("unknown widget field") {
    expect_schema_error("channel", head + "agent: a\nwidget:\n  colour: red\n", 6, 3,
                        "unknown field 'colour' in widget");
  }
}

TEST_CASE("content::schema variable") {
  expect_schema_clean("variable", "kind: Variable\nname: support_email\ntype: string\n"
                                  "default: a@example.com\ndescription: x\nrequired: true\n");
  expect_schema_clean(
      "variable", "kind: Variable\nname: plan\ntype: enum\nvalues: [free, pro]\ndefault: free\n");
  expect_schema_clean("variable",
                      "kind: Variable\nname: limits\ntype: json\ndefault: {a: [1, 2]}\n");
  SUBCASE("enum needs values") {
    expect_schema_error("variable", "kind: Variable\nname: plan\ntype: enum\n", 1, 1,
                        "missing required field 'values' in Variable");
  }
  SUBCASE("values only for enum") {
    expect_schema_error("variable", "kind: Variable\nname: plan\ntype: string\nvalues: [a]\n", 4, 1,
                        "'values' is only allowed when type is enum");
  }
  SUBCASE("name pattern: no dashes") {
    expect_schema_error("variable", "kind: Variable\nname: support-email\ntype: string\n", 2, 7,
                        "at name: 'support-email' is not valid");
  }
  SUBCASE("type enum") {
    expect_schema_error("variable", "kind: Variable\nname: x\ntype: integer\n", 3, 7,
                        "at type: 'integer' is not allowed");
  }
  SUBCASE("values are strings") {
    expect_schema_error("variable", "kind: Variable\nname: x\ntype: enum\nvalues: [a, 2]\n", 4, 13,
                        "at values[1]: expected string, got integer");
  }
}

TEST_CASE("content::schema guardrail") {
  expect_schema_clean("guardrail",
                      "kind: Guardrail\nname: no-legal\ntype: topic_block\naction: block\n"
                      "applies_to: [support]\nconfig:\n  topics: [legal advice]\n");
  expect_schema_clean("guardrail",
                      "kind: Guardrail\nname: pii\ntype: pii_redaction\naction: redact\n");
  SUBCASE("config follows the type") {
    const auto diagnostics =
        check("guardrail", "kind: Guardrail\nname: g\ntype: max_length\naction: block\nconfig:\n"
                           "  max_chars: 10\n");
    INFO(dump(diagnostics));
    REQUIRE(diagnostics.size() == 2);
    CHECK(diagnostics[0].to_text() ==
          "test.yaml:5:1: error: missing required field "
          "'max_characters' in config: Longest reply allowed. [schema]");
    CHECK(diagnostics[1].to_text() == "test.yaml:6:3: error: unknown field 'max_chars' in config "
                                      "(allowed: max_characters) [schema]");
    expect_schema_error("guardrail",
                        "kind: Guardrail\nname: g\ntype: topic_block\naction: block\nconfig:\n"
                        "  topics: [a]\n  max_characters: 10\n",
                        7, 3,
                        "unknown field 'max_characters' in config (allowed: topics, message)");
  }
  SUBCASE("config required for topic_block") {
    expect_schema_error("guardrail", "kind: Guardrail\nname: g\ntype: topic_block\naction: block\n",
                        1, 1, "missing required field 'config' in Guardrail");
  }
  SUBCASE("action enum") {
    expect_schema_error("guardrail", "kind: Guardrail\nname: g\ntype: profanity\naction: drop\n", 4,
                        9, "at action: 'drop' is not allowed");
  }
  SUBCASE("applies_to holds names") {
    expect_schema_error(
        "guardrail",
        "kind: Guardrail\nname: g\ntype: profanity\naction: warn\napplies_to: support\n", 5, 13,
        "at applies_to: expected array, got string");
  }
}

TEST_CASE("content::schema evaluator") {
  expect_schema_clean("evaluator",
                      "kind: Evaluator\nname: e\ntarget:\n  agent: support\nmetric: accuracy\n"
                      "threshold: 0.8\ndataset: datasets/support.jsonl\nschedule: \"@daily\"\n");
  SUBCASE("target needs one of agent, workflow") {
    expect_schema_error("evaluator", "kind: Evaluator\nname: e\ntarget: {}\nmetric: latency\n", 3,
                        1, "target needs exactly one of 'agent' or 'workflow'");
  }
  SUBCASE("metric enum") {
    expect_schema_error("evaluator",
                        "kind: Evaluator\nname: e\ntarget:\n  agent: a\nmetric: speed\n", 5, 9,
                        "at metric: 'speed' is not allowed");
  }
  SUBCASE("threshold type") {
    expect_schema_error(
        "evaluator",
        "kind: Evaluator\nname: e\ntarget:\n  agent: a\nmetric: accuracy\nthreshold: high\n", 6, 12,
        "at threshold: expected number, got string");
  }
  SUBCASE("missing metric") {
    expect_schema_error("evaluator", "kind: Evaluator\nname: e\ntarget:\n  agent: a\n", 1, 1,
                        "missing required field 'metric' in Evaluator");
  }
}

TEST_CASE("content::schema pipeline") {
  const std::string valid = "version: 1\n"
                            "environments:\n"
                            "  - name: dev\n"
                            "    branch: dev\n"
                            "    write: [developers]\n"
                            "  - name: production\n"
                            "    branch: release/production\n"
                            "    promote: [release-managers]\n"
                            "    approvals: 1\n"
                            "    approvers: [qa]\n"
                            "    local: [operators]\n"
                            "    auto: false\n"
                            "groups:\n"
                            "  developers: [dev@example.com, alice]\n"
                            "  release-managers: [rm@example.com]\n"
                            "admins: [release-managers]\n"
                            "publishers: [release-managers]\n"
                            "hotfixers: [release-managers]\n"
                            "identity:\n"
                            "  env: [GITLAB_USER_EMAIL, GITHUB_ACTOR]\n"
                            "  required: true\n"
                            "validation:\n"
                            "  max_file_size: 1048576\n"
                            "release:\n"
                            "  sign: true\n"
                            "  format: ssh\n"
                            "  signing_key: ~/.ssh/release_ed25519\n"
                            "  allowed_signers: allowed_signers\n"
                            "  require_signature: true\n"
                            "backport:\n"
                            "  notify: oncall@example.com\n";
  expect_schema_clean("pipeline", valid);
  const std::string two = "version: 1\nenvironments:\n  - name: dev\n    branch: dev\n"
                          "  - name: prod\n    branch: prod\n";
  SUBCASE("'*' stands for everyone") {
    expect_schema_clean("pipeline", two + "admins: ['*']\n");
    expect_schema_error("pipeline", two + "admins: ['**']\n", 7, 10,
                        "at admins[0]: '**' is not valid");
  }
  SUBCASE("the envflow.yaml init writes") {
    const auto config = envflow::core::policy::default_config({"dev", "test", "uat", "staging", "production"},
                                                      "alice@example.com");
    expect_schema_clean("pipeline", envflow::core::policy::render_config(config));
  }
  SUBCASE("too few environments") {
    expect_schema_error("pipeline", "version: 1\nenvironments:\n  - name: dev\n    branch: dev\n",
                        3, 3, "at environments: needs at least 2 item(s), has 1");
  }
  SUBCASE("too many environments") {
    std::string text = "version: 1\nenvironments:\n";
    for (int i = 0; i < 9; ++i) {
      text += "  - {name: e" + std::to_string(i) + ", branch: b" + std::to_string(i) + "}\n";
    }
    expect_schema_error("pipeline", text, 3, 3, "at environments: allows at most 8 item(s), has 9");
  }
  SUBCASE("more branch names") {
    for (const char* bad : {"prod.lock", "a/.b", "prod.", "/prod", "a//b", "a b"}) {
      CAPTURE(bad);
      CHECK(check("pipeline", "version: 1\nenvironments:\n  - name: dev\n    branch: dev\n"
                              "  - name: prod\n    branch: \"" +
                                  std::string(bad) + "\"\n")
                .size() == 1);
    }
  }
  SUBCASE("environment name pattern") {
    expect_schema_error("pipeline",
                        "version: 1\nenvironments:\n  - name: Dev\n    branch: dev\n"
                        "  - name: prod\n    branch: prod\n",
                        3, 11, "at environments[0].name: 'Dev' is not valid");
  }
  SUBCASE("branch pattern") {
    expect_schema_error("pipeline",
                        "version: 1\nenvironments:\n  - name: dev\n    branch: dev..x\n"
                        "  - name: prod\n    branch: release/prod\n",
                        4, 13, "at environments[0].branch: 'dev..x' is not valid");
  }
  SUBCASE("bad group name") {
    expect_schema_error("pipeline", two + "groups:\n  Release Managers: [a]\n", 8, 3,
                        "key 'Release Managers' in groups is not a valid name");
  }
  SUBCASE("group members are strings") {
    expect_schema_error("pipeline", two + "groups:\n  qa: [a, 7]\n", 8, 11,
                        "at groups.qa[1]: expected string, got integer");
  }
  SUBCASE("release format enum") {
    expect_schema_error("pipeline", two + "release:\n  format: x509\n", 8, 11,
                        "at release.format: 'x509' is not allowed; use one of: openpgp, ssh");
  }
  SUBCASE("negative approvals") {
    expect_schema_error("pipeline",
                        "version: 1\nenvironments:\n  - name: dev\n    branch: dev\n"
                        "  - name: prod\n    branch: prod\n    approvals: -1\n",
                        7, 16, "at environments[1].approvals: -1 is too small");
  }
  SUBCASE("version const") {
    expect_schema_error("pipeline",
                        "version: 2\nenvironments:\n  - name: dev\n    branch: dev\n"
                        "  - name: prod\n    branch: prod\n",
                        1, 10, "at version: expected 1, got 2");
  }
  SUBCASE("unknown top-level field") {
    expect_schema_error("pipeline", two + "enviroments: []\n", 7, 1,
                        "unknown field 'enviroments' in Pipeline: did you mean 'environments'?");
  }
}

TEST_CASE("content::schema template workspace validates clean") {
  namespace fs = std::filesystem;
  const fs::path root = ENVFLOW_SOURCE_DIR "/templates/workspace";
  REQUIRE(fs::is_directory(root));
  std::vector<std::string> files;
  std::vector<std::unique_ptr<Value>> values;
  std::vector<envflow::content::Document> documents;
  envflow::content::Catalog catalog;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) {
      continue;
    }
    const std::string path = fs::relative(entry.path(), root).generic_string();
    CAPTURE(path);
    catalog.files.insert(path);
    files.push_back(path);
    CHECK(path != ".gitignore");
    if (!envflow::util::ends_with(path, ".yaml")) {
      continue;
    }
    const std::string text = read_file(entry.path());
    auto loaded = envflow::content::load_yaml(text, path);
    INFO(dump(loaded.diagnostics));
    REQUIRE(loaded.value.has_value());
    CHECK(loaded.diagnostics.empty());
    values.push_back(std::make_unique<Value>(*loaded.value));
    const Value& value = *values.back();
    const auto* info = envflow::content::kind_by_folder(envflow::util::first_component(path));
    const std::string schema = path == "workspace.yaml" ? "workspace" : std::string(info->schema);
    const auto diagnostics = SchemaSet::builtin().validate(schema, value, path);
    INFO(dump(diagnostics));
    CHECK(diagnostics.empty());
    if (info != nullptr) {
      CHECK(value.string_at("kind") == info->kind);
      CHECK(value.string_at("name") == envflow::util::path_stem(path));
      documents.push_back({path, std::string(info->kind), value.string_at("name"), &value});
    }
  }
  std::sort(files.begin(), files.end());
  CHECK(files == std::vector<std::string>{
                     "agents/support.yaml", "agents/triage.yaml", "channels/web-widget.yaml",
                     "integrations/crm.yaml", "knowledge/product-faq.yaml",
                     "knowledge/product-faq/returns.md", "variables/crm_base_url.yaml",
                     "variables/max_turns.yaml", "variables/support_email.yaml",
                     "workflows/support-request.yaml", "workspace.yaml"});

  // The references resolve too, and every variable is used somewhere.
  const auto merged = envflow::content::Catalog::from(documents);
  catalog.names = merged.names;
  catalog.variable_types = merged.variable_types;
  for (const auto& document : documents) {
    const auto diagnostics = envflow::content::check_references(document, catalog);
    INFO(dump(diagnostics));
    CHECK(diagnostics.empty());
  }
  for (const auto& [name, type] : catalog.variable_types) {
    CAPTURE(name);
    const std::regex use(R"(\{\{\s*vars\.)" + name + R"(\s*\}\})");
    const bool used = std::any_of(files.begin(), files.end(), [&](const std::string& path) {
      return std::regex_search(read_file(root / path), use);
    });
    CHECK(used);
  }
  CHECK(catalog.variable_types == std::map<std::string, std::string>{{"crm_base_url", "url"},
                                                                     {"max_turns", "number"},
                                                                     {"support_email", "string"}});
}

TEST_CASE("content::schema template workspace passes the whole validator") {
  namespace fs = std::filesystem;
  const fs::path root = ENVFLOW_SOURCE_DIR "/templates/workspace";
  envflow::content::MemorySource source;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) {
      source.add(fs::relative(entry.path(), root).generic_string(), read_file(entry.path()));
    }
  }
  const auto report = envflow::content::validate(source, {}, SchemaSet::builtin());
  INFO(dump(report.diagnostics));
  CHECK(report.ok());
  CHECK(report.diagnostics.empty());
  CHECK(report.files == 11);
}

TEST_CASE("content::schema docs mention every top-level property") {
  const std::string doc = read_file(ENVFLOW_SOURCE_DIR "/docs/content-reference.md");
  REQUIRE_FALSE(doc.empty());
  for (const std::string name : k_schema_names) {
    const nlohmann::json schema = schema_json(name);
    CAPTURE(name);
    // Each kind has its section, titled by the kind, that names every field.
    const std::string heading = "\n## " + schema["title"].get<std::string>() + "\n";
    const auto start = doc.find(heading);
    REQUIRE(start != std::string::npos);
    const auto end = doc.find("\n## ", start + heading.size());
    const std::string section = doc.substr(start, end == std::string::npos ? end : end - start);
    for (const auto& [property, sub] : schema["properties"].items()) {
      CAPTURE(property);
      CHECK(section.find("`" + property + "`") != std::string::npos);
      if (sub.contains("enum")) {
        for (const auto& value : sub["enum"]) {
          CHECK(section.find(value.get<std::string>()) != std::string::npos);
        }
      }
    }
  }
}

TEST_CASE("content::schema docs list every field of an environment and of its checks") {
  const std::string doc = read_file(ENVFLOW_SOURCE_DIR "/docs/content-reference.md");
  const nlohmann::json schema = schema_json("pipeline");
  const nlohmann::json& env = schema["properties"]["environments"]["items"];
  for (const auto& [property, sub] : env["properties"].items()) {
    CAPTURE(property);
    CHECK(doc.find("| `environments[]." + property + "` |") != std::string::npos);
  }
  const nlohmann::json& check = env["properties"]["checks"]["items"];
  REQUIRE(check["properties"].contains("run"));
  for (const auto& [property, sub] : check["properties"].items()) {
    CAPTURE(property);
    CHECK(doc.find("| `environments[].checks[]." + property + "` |") != std::string::npos);
  }
}
