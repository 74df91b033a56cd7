#include <doctest/doctest.h>

#include <deque>
#include <regex>
#include <string>
#include <tuple>
#include <vector>

#include "content/references.h"
#include "content/yaml.h"

#include "support.h"

using envflow::content::Catalog;
using envflow::content::Diagnostic;
using envflow::content::Document;
using envflow::content::Value;
using envflow::test::dump;

namespace {

// A small workspace: documents loaded from YAML, plus the files of the snapshot.
class Workspace {
public:
  Workspace& add(const std::string& path, const std::string& kind, std::string_view text) {
    auto result = envflow::content::load_yaml(text, path);
    REQUIRE(result.value.has_value());
    REQUIRE(result.diagnostics.empty());
    m_values.push_back(*result.value);
    const Value& value = m_values.back();
    m_documents.push_back({path, kind, value.string_at("name"), &value});
    m_files.push_back(path);
    return *this;
  }

  Workspace& file(const std::string& path) {
    m_files.push_back(path);
    return *this;
  }

  Catalog catalog() const {
    Catalog catalog = Catalog::from(m_documents);
    catalog.files.insert(m_files.begin(), m_files.end());
    return catalog;
  }

  // Diagnostics for the document at `path`.
  std::vector<Diagnostic> check(const std::string& path) const {
    const Catalog c = catalog();
    for (const auto& document : m_documents) {
      if (document.path == path) {
        return envflow::content::check_references(document, c);
      }
    }
    FAIL("no document " << path);
    return {};
  }

private:
  std::deque<Value> m_values;
  std::vector<Document> m_documents;
  std::vector<std::string> m_files;
};

void expect_one(const std::vector<Diagnostic>& diagnostics, const std::string& rule, int line,
                int column, const std::string& needle) {
  INFO(dump(diagnostics));
  REQUIRE(diagnostics.size() == 1);
  CHECK(diagnostics[0].rule == rule);
  CHECK(diagnostics[0].mark.line == line);
  CHECK(diagnostics[0].mark.column == column);
  CHECK(diagnostics[0].message.find(needle) != std::string::npos);
}

void expect_clean(const std::vector<Diagnostic>& diagnostics) {
  INFO(dump(diagnostics));
  CHECK(diagnostics.empty());
}

Workspace base() {
  Workspace w;
  w.add("agents/triage.yaml", "Agent", "kind: Agent\nname: triage\ninstructions: x\n")
      .add("agents/support.yaml", "Agent", "kind: Agent\nname: support\ninstructions: x\n")
      .add("knowledge/faq.yaml", "KnowledgeBase",
           "kind: KnowledgeBase\nname: faq\nsources:\n  - type: url\n    url: https://x.example\n")
      .add("integrations/crm.yaml", "Integration",
           "kind: Integration\nname: crm\nbase_url: https://x.example\nendpoints:\n"
           "  - name: lookup\n    method: GET\n    path: /a\n"
           "  - name: create_ticket\n    method: POST\n    path: /t\n")
      .add("workflows/escalate.yaml", "Workflow",
           "kind: Workflow\nname: escalate\ntrigger: {type: event, event: x}\n"
           "steps:\n  - id: a\n    agent: support\n")
      .add("channels/web.yaml", "Channel", "kind: Channel\nname: web\ntype: web\nagent: triage\n")
      .add("variables/support_email.yaml", "Variable",
           "kind: Variable\nname: support_email\ntype: string\n")
      .add("variables/max_turns.yaml", "Variable",
           "kind: Variable\nname: max_turns\ntype: number\n");
  return w;
}

} // namespace

TEST_CASE("content::Catalog") {
  const Catalog catalog = base().catalog();
  CHECK(catalog.has("Agent", "triage"));
  CHECK(catalog.has("Agent", "support"));
  CHECK_FALSE(catalog.has("Agent", "crm"));
  CHECK_FALSE(catalog.has("Robot", "triage"));
  CHECK(catalog.has("Integration", "crm"));
  CHECK(catalog.has("KnowledgeBase", "faq"));
  CHECK(catalog.variable_types ==
        std::map<std::string, std::string>{{"max_turns", "number"}, {"support_email", "string"}});
  CHECK(catalog.files.count("agents/triage.yaml") == 1);
}

TEST_CASE("content::check_references workflow steps") {
  Workspace w = base();
  SUBCASE("all resolve") {
    w.add("workflows/w.yaml", "Workflow",
          "kind: Workflow\nname: w\ntrigger:\n  type: message\n  channel: web\nsteps:\n"
          "  - id: a\n    agent: triage\n    next: c\n"
          "  - id: b\n    integration: crm\n    endpoint: lookup\n"
          "  - id: c\n    workflow: escalate\n");
    expect_clean(w.check("workflows/w.yaml"));
  }
  SUBCASE("missing agent, did you mean") {
    w.add(
        "workflows/w.yaml", "Workflow",
        "kind: Workflow\nname: w\ntrigger: {type: message}\nsteps:\n  - id: a\n    agent: triag\n");
    expect_one(w.check("workflows/w.yaml"), "ref-agent", 6, 12,
               "steps[0].agent: no agent named 'triag' (expected agents/triag.yaml); did you mean "
               "'triage'?");
  }
  SUBCASE("missing agent, declared names listed") {
    w.add("workflows/w.yaml", "Workflow",
          "kind: Workflow\nname: w\ntrigger: {type: message}\nsteps:\n  - id: a\n    agent: "
          "billing\n");
    expect_one(w.check("workflows/w.yaml"), "ref-agent", 6, 12, "declared agents: support, triage");
  }
  SUBCASE("missing integration") {
    w.add("workflows/w.yaml", "Workflow",
          "kind: Workflow\nname: w\ntrigger: {type: message}\nsteps:\n"
          "  - id: a\n    integration: erp\n    endpoint: lookup\n");
    expect_one(w.check("workflows/w.yaml"), "ref-integration", 6, 18, "no integration named 'erp'");
  }
  SUBCASE("missing endpoint") {
    w.add("workflows/w.yaml", "Workflow",
          "kind: Workflow\nname: w\ntrigger: {type: message}\nsteps:\n"
          "  - id: a\n    integration: crm\n    endpoint: create-ticket\n");
    expect_one(w.check("workflows/w.yaml"), "ref-endpoint", 7, 15,
               "integration 'crm' has no endpoint named 'create-ticket'; did you mean "
               "'create_ticket'?");
  }
  SUBCASE("missing workflow") {
    w.add("workflows/w.yaml", "Workflow",
          "kind: Workflow\nname: w\ntrigger: {type: message}\nsteps:\n  - id: a\n    workflow: "
          "escalation\n");
    expect_one(w.check("workflows/w.yaml"), "ref-workflow", 6, 15,
               "no workflow named 'escalation'");
  }
  SUBCASE("missing channel") {
    w.add("workflows/w.yaml", "Workflow",
          "kind: Workflow\nname: w\ntrigger:\n  type: message\n  channel: slack\nsteps:\n"
          "  - id: a\n    agent: triage\n");
    expect_one(w.check("workflows/w.yaml"), "ref-channel", 5, 12, "declared channels: web");
  }
  SUBCASE("next names a step of the same workflow") {
    w.add("workflows/w.yaml", "Workflow",
          "kind: Workflow\nname: w\ntrigger: {type: message}\nsteps:\n"
          "  - id: classify\n    agent: triage\n    next: answr\n"
          "  - id: answer\n    agent: support\n");
    expect_one(w.check("workflows/w.yaml"), "ref-step", 7, 11,
               "steps[0].next: no step with id 'answr' in this workflow; did you mean 'answer'?");
  }
  SUBCASE("next does not see other workflows' steps") {
    w.add("workflows/w.yaml", "Workflow",
          "kind: Workflow\nname: w\ntrigger: {type: message}\nsteps:\n"
          "  - id: b\n    agent: triage\n    next: a\n");
    expect_one(w.check("workflows/w.yaml"), "ref-step", 7, 11, "declared step ids: b");
  }
  SUBCASE("duplicate step ids") {
    w.add("workflows/w.yaml", "Workflow",
          "kind: Workflow\nname: w\ntrigger: {type: message}\nsteps:\n"
          "  - id: a\n    agent: triage\n  - id: a\n    agent: support\n");
    expect_one(w.check("workflows/w.yaml"), "duplicate-step-id", 7, 9, "step id 'a' is used");
  }
}

TEST_CASE("content::check_references agents") {
  Workspace w = base();
  SUBCASE("all resolve") {
    w.add("agents/a.yaml", "Agent",
          "kind: Agent\nname: a\ninstructions: x\nknowledge: [faq]\ntools:\n"
          "  - integration: crm\n    endpoint: lookup\n  - integration: crm\n"
          "fallback:\n  message: m\n  handoff_agent: support\n  workflow: escalate\n");
    expect_clean(w.check("agents/a.yaml"));
  }
  SUBCASE("knowledge") {
    w.add("agents/a.yaml", "Agent", "kind: Agent\nname: a\ninstructions: x\nknowledge:\n  - fqa\n");
    expect_one(w.check("agents/a.yaml"), "ref-knowledge", 5, 5,
               "knowledge[0]: no knowledge base named 'fqa' (expected knowledge/fqa.yaml); did "
               "you mean 'faq'?");
  }
  SUBCASE("tool integration") {
    w.add("agents/a.yaml", "Agent",
          "kind: Agent\nname: a\ninstructions: x\ntools:\n  - integration: crn\n    endpoint: x\n");
    // The endpoint is not checked against an integration that does not exist.
    expect_one(w.check("agents/a.yaml"), "ref-integration", 5, 18,
               "tools[0].integration: no integration named 'crn'");
  }
  SUBCASE("tool endpoint") {
    w.add("agents/a.yaml", "Agent",
          "kind: Agent\nname: a\ninstructions: x\ntools:\n  - integration: crm\n    endpoint: "
          "delete\n");
    expect_one(w.check("agents/a.yaml"), "ref-endpoint", 6, 15,
               "declared endpoints: create_ticket, lookup");
  }
  SUBCASE("fallback") {
    w.add(
        "agents/a.yaml", "Agent",
        "kind: Agent\nname: a\ninstructions: x\nfallback:\n  message: m\n  handoff_agent: human\n");
    expect_one(w.check("agents/a.yaml"), "ref-agent", 6, 18,
               "fallback.handoff_agent: no agent named 'human'");
  }
  SUBCASE("nothing of the kind declared") {
    Workspace empty;
    empty.add("agents/a.yaml", "Agent",
              "kind: Agent\nname: a\ninstructions: x\nknowledge: [faq]\n");
    expect_one(empty.check("agents/a.yaml"), "ref-knowledge", 4, 13,
               "no knowledge bases are declared; add knowledge/faq.yaml");
  }
}

TEST_CASE("content::check_references channels") {
  Workspace w = base();
  w.add("channels/a.yaml", "Channel", "kind: Channel\nname: a\ntype: web\nworkflow: escalate\n");
  expect_clean(w.check("channels/a.yaml"));
  w.add("channels/b.yaml", "Channel", "kind: Channel\nname: b\ntype: web\nworkflow: escalte\n");
  expect_one(w.check("channels/b.yaml"), "ref-workflow", 4, 11, "did you mean 'escalate'?");
  w.add("channels/c.yaml", "Channel", "kind: Channel\nname: c\ntype: slack\nagent: bot\n");
  expect_one(w.check("channels/c.yaml"), "ref-agent", 4, 8, "no agent named 'bot'");
}

TEST_CASE("content::check_references knowledge documents") {
  Workspace w = base();
  w.file("knowledge/product-faq/returns.md").file("knowledge/product-faq/shipping/eu.md");
  SUBCASE("existing file and folder") {
    w.add("knowledge/product-faq.yaml", "KnowledgeBase",
          "kind: KnowledgeBase\nname: product-faq\nsources:\n"
          "  - type: file\n    path: knowledge/product-faq/returns.md\n"
          "  - type: file\n    path: knowledge/product-faq/shipping\n"
          "  - type: file\n    path: knowledge/product-faq/shipping/\n");
    expect_clean(w.check("knowledge/product-faq.yaml"));
  }
  SUBCASE("missing file") {
    w.add("knowledge/product-faq.yaml", "KnowledgeBase",
          "kind: KnowledgeBase\nname: product-faq\nsources:\n"
          "  - type: file\n    path: knowledge/product-faq/refunds.md\n");
    expect_one(w.check("knowledge/product-faq.yaml"), "ref-document", 5, 11,
               "sources[0].path: no file 'knowledge/product-faq/refunds.md' in the repository");
  }
  SUBCASE("a prefix of a name is not a folder") {
    w.add("knowledge/product-faq.yaml", "KnowledgeBase",
          "kind: KnowledgeBase\nname: product-faq\nsources:\n"
          "  - type: file\n    path: knowledge/product-faq/ship\n");
    expect_one(w.check("knowledge/product-faq.yaml"), "ref-document", 5, 11, "no file");
  }
  SUBCASE("file of another knowledge base") {
    w.file("knowledge/faq/a.md");
    w.add("knowledge/product-faq.yaml", "KnowledgeBase",
          "kind: KnowledgeBase\nname: product-faq\nsources:\n"
          "  - type: file\n    path: knowledge/faq/a.md\n");
    expect_one(w.check("knowledge/product-faq.yaml"), "ref-document", 5, 11,
               "'knowledge/faq/a.md' is outside knowledge/product-faq/");
  }
  SUBCASE("escaping with ..") {
    w.add("knowledge/product-faq.yaml", "KnowledgeBase",
          "kind: KnowledgeBase\nname: product-faq\nsources:\n"
          "  - type: file\n    path: knowledge/product-faq/../../workspace.yaml\n");
    expect_one(w.check("knowledge/product-faq.yaml"), "ref-document", 5, 11, "is outside");
  }
}

TEST_CASE("content::check_references guardrails and evaluators") {
  Workspace w = base();
  w.add("guardrails/g.yaml", "Guardrail",
        "kind: Guardrail\nname: g\ntype: profanity\naction: block\napplies_to: [triage, suport]\n");
  expect_one(w.check("guardrails/g.yaml"), "ref-agent", 5, 22,
             "applies_to[1]: no agent named 'suport' (expected agents/suport.yaml); did you mean "
             "'support'?");
  w.add("evaluators/e.yaml", "Evaluator",
        "kind: Evaluator\nname: e\ntarget:\n  workflow: escalat\nmetric: accuracy\n");
  expect_one(w.check("evaluators/e.yaml"), "ref-workflow", 4, 13,
             "target.workflow: no workflow named 'escalat'");
  w.add("evaluators/f.yaml", "Evaluator",
        "kind: Evaluator\nname: f\ntarget:\n  agent: triage\nmetric: accuracy\n");
  expect_clean(w.check("evaluators/f.yaml"));

  SUBCASE("a local ref alone has no agents to check against") {
    Workspace local;
    local.add("guardrails/g.yaml", "Guardrail",
              "kind: Guardrail\nname: g\ntype: profanity\naction: block\napplies_to: [triage]\n");
    expect_clean(local.check("guardrails/g.yaml"));
  }
}

TEST_CASE("content::check_references variables") {
  Workspace w = base();
  SUBCASE("anywhere, any spacing") {
    w.add("agents/a.yaml", "Agent",
          "kind: Agent\nname: a\ninstructions: |\n  Write to {{vars.support_email}} or\n"
          "  {{   vars.support_email   }} after {{ vars.max_turns }} turns.\n"
          "fallback:\n  message: \"{{ vars.support_email }}\"\n"
          "tools:\n  - integration: crm\n    description: \"{{ vars.max_turns }}\"\n");
    expect_clean(w.check("agents/a.yaml"));
  }
  SUBCASE("undeclared, did you mean") {
    w.add("agents/a.yaml", "Agent",
          "kind: Agent\nname: a\ninstructions: x\nfallback:\n  message: Mail {{ vars.support_mail "
          "}}\n");
    expect_one(w.check("agents/a.yaml"), "ref-variable", 5, 12,
               "{{ vars.support_mail }} names no declared variable (expected "
               "variables/support_mail.yaml); did you mean 'support_email'?");
  }
  SUBCASE("undeclared, declared names listed") {
    w.add(
        "workflows/w.yaml", "Workflow",
        "kind: Workflow\nname: w\ntrigger: {type: message}\nsteps:\n  - id: a\n    agent: triage\n"
        "    input:\n      deep:\n        - \"{{ vars.region }}\"\n");
    expect_one(w.check("workflows/w.yaml"), "ref-variable", 9, 11,
               "declared variables: max_turns, support_email");
  }
  SUBCASE("in an integration's base_url") {
    w.add("integrations/erp.yaml", "Integration",
          "kind: Integration\nname: erp\nbase_url: \"{{ vars.erp_url }}/api\"\n");
    expect_one(w.check("integrations/erp.yaml"), "ref-variable", 3, 11,
               "{{ vars.erp_url }} names no declared variable (expected variables/erp_url.yaml); "
               "declared variables: max_turns, support_email");
  }
  SUBCASE("malformed name") {
    w.add("agents/a.yaml", "Agent",
          "kind: Agent\nname: a\ninstructions: Mail {{ vars.Support-Email }}\n");
    expect_one(w.check("agents/a.yaml"), "ref-variable", 3, 15, "is not a variable reference");
  }
  SUBCASE("every use is reported") {
    w.add(
        "agents/a.yaml", "Agent",
        "kind: Agent\nname: a\ninstructions: \"{{ vars.a }} {{ vars.b }} {{ vars.max_turns }}\"\n");
    const auto diagnostics = w.check("agents/a.yaml");
    INFO(dump(diagnostics));
    CHECK(diagnostics.size() == 2);
  }
  SUBCASE("other templates are not variables") {
    w.add("agents/a.yaml", "Agent",
          "kind: Agent\nname: a\ninstructions: \"{{ steps.a.output }} vars.nothing {vars.x}\"\n");
    expect_clean(w.check("agents/a.yaml"));
  }
}

namespace {

// A reference as (name, begin, end).
using FoundReference = std::tuple<std::string, std::size_t, std::size_t>;

// What the rule's std::regex finds in `text`.
std::vector<FoundReference> references_by_regex(const std::string& text) {
  static const std::regex k_reference(R"(\{\{\s*vars\.([^\s}]*)\s*\}\})");
  std::vector<FoundReference> found;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), k_reference);
       it != std::sregex_iterator(); ++it) {
    const auto begin = static_cast<std::size_t>(it->position(0));
    found.emplace_back((*it)[1].str(), begin, begin + static_cast<std::size_t>(it->length(0)));
  }
  return found;
}

std::vector<FoundReference> references_found(const std::string& text) {
  std::vector<FoundReference> found;
  for (const auto& reference : envflow::content::variable_references(text)) {
    found.emplace_back(std::string(reference.name), reference.begin, reference.end);
  }
  return found;
}

} // namespace

TEST_CASE("content::variable_references") {
  SUBCASE("what the regex finds") {
    const std::string texts[] = {
        "",
        "no reference",
        "vars.x",
        "{{vars.x}}",
        "{{ vars.x }}",
        "{{   vars.x   }}",
        "{{\tvars.x\t}}",
        "{{\n vars.x \r\n}}",
        "{{\v\fvars.x\f\v}}",
        "a {{ vars.x }} b",
        "{{ vars.x",
        "{{ vars.x }",
        "{{ vars.x } }",
        "{{ vars.x }} and {{ vars.y }}",
        "{{vars.a}}{{vars.b}}",
        "{{ {{ vars.a }}",
        "{{{ vars.a }}}",
        "{{ vars. }}",
        "{{ vars.}}",
        "{{vars.}}",
        "{{ vars.a}b }}",
        "{{ vars.a}}}",
        "{{ vars.a b }}",
        "{{ vars.a.b }}",
        "{{ vars.Support-Email }}",
        "{{ vars.é }}",
        "{{ VARS.a }}",
        "{{ var.a }}",
        "{ { vars.a }}",
        "{{ vars.a }} {{ vars.a }}",
        "{{ steps.a.output }} vars.nothing {vars.x}",
        "{{ vars.a {{ vars.b }}",
        "}} {{ vars.a }} {{",
        std::string("{{ vars.a\0b }}", 14),
    };
    for (const std::string& text : texts) {
      INFO(text);
      CHECK(references_found(text) == references_by_regex(text));
    }
  }
  SUBCASE("on generated strings") {
    // Up to four pieces: the rule's corners meet.
    const auto texts = envflow::test::joined_pieces(
        {"{{", "}}", "}", "{", " ", "\t", "vars.", "x", ".", "vars.a"}, 4);
    REQUIRE(texts.size() == 11111);
    for (const std::string& text : texts) {
      INFO(text);
      REQUIRE(references_found(text) == references_by_regex(text));
    }
  }
  SUBCASE("names are views into the text, offsets cover the reference") {
    const std::string text = "Mail {{ vars.support_email }} now";
    const auto found = envflow::content::variable_references(text);
    REQUIRE(found.size() == 1);
    CHECK(found[0].name == "support_email");
    CHECK(found[0].name.data() == text.data() + 13);
    CHECK(text.substr(found[0].begin, found[0].end - found[0].begin) == "{{ vars.support_email }}");
  }
}
