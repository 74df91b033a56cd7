#include "content/validator.h"
#include "core/workspace/cache.h"
#include "core/policy/config.h"
#include "core/workspace/diff.h"
#include "git/repo.h"
#include "util/error.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "support.h"

using namespace envflow;
using envflow::test::TempRepo;
using core::workspace::ItemChange;
using envflow::test::variable;

namespace {

using Files = std::map<std::string, std::string>; // path -> contents

const std::string k_workspace = "kind: Workspace\nname: ws\nschema_version: 1\n";

const std::string k_agent = R"(kind: Agent
name: support
model:
  provider: openai
  temperature: 0.3
instructions: |
  Help the customer. Write to {{ vars.support_email }}.
knowledge:
  - faq
tools:
  - integration: crm
    endpoint: lookup
)";

const std::string k_workflow = R"(kind: Workflow
name: support-request
description: Routes a message.
trigger:
  channel: web
steps:
  - id: triage
    agent: triage
  - id: answer
    agent: support
    input: "{{ vars.greeting }}"
)";

const std::string k_channel =
    "kind: Channel\nname: web\nworkflow: support-request\nagent: triage\n";

Files base_files() {
  return {
      {"workspace.yaml", k_workspace},
      {"agents/support.yaml", k_agent},
      {"agents/triage.yaml", "kind: Agent\nname: triage\ninstructions: Route.\n"},
      {"workflows/support-request.yaml", k_workflow},
      {"channels/web.yaml", k_channel},
      {"integrations/crm.yaml", "kind: Integration\nname: crm\nbase_url: https://x\n"},
      {"knowledge/faq.yaml", "kind: KnowledgeBase\nname: faq\n"},
      {"knowledge/faq/returns.md", "# Returns\n"},
      {"variables/support_email.yaml", variable("support_email", "string", "a@example.com")},
      {"variables/greeting.yaml", variable("greeting", "string", "hi")},
      {"variables/unused.yaml", variable("unused", "number", "1")},
      {"README.md", "# readme\n"},
  };
}

// Diff `before` against `after` in a fresh repository.
core::workspace::SemanticDiff diff_of(const Files& before, const Files& after) {
  TempRepo temp;
  const std::string from = temp.commit(before);
  const std::string to = temp.commit(after, {from});
  core::workspace::SemanticDiff diff =
      core::workspace::semantic_diff(temp.repo(), nullptr, from, to);
  CHECK(diff.from == from);
  CHECK(diff.to == to);
  return diff;
}

// The only item of `diff` (fails the test when there is not exactly one).
ItemChange only_item(const core::workspace::SemanticDiff& diff) {
  REQUIRE(diff.items.size() == 1);
  return diff.items.front();
}

// The fields of a changed `path` whose contents went from `before` to `after`.
std::vector<std::string> fields_of(const std::string& path, const std::string& before,
                                   const std::string& after) {
  const ItemChange item = only_item(diff_of({{path, before}}, {{path, after}}));
  CHECK(item.change == ItemChange::Change::changed);
  CHECK_FALSE(item.breaking);
  return item.fields;
}

using Strings = std::vector<std::string>;

} // namespace

TEST_CASE("core::workspace::semantic_diff items") {
  const Files base = base_files();

  SUBCASE("identical trees give an empty diff") {
    const core::workspace::SemanticDiff diff = diff_of(base, base);
    CHECK(diff.empty());
    CHECK_FALSE(diff.breaking());
    CHECK(diff.summary() == "no semantic differences");
  }

  SUBCASE("added, removed and changed items, sorted by kind then name") {
    Files after = base;
    after["agents/billing.yaml"] = "kind: Agent\nname: billing\ninstructions: Bill.\n";
    after["agents/triage.yaml"] = "kind: Agent\nname: triage\ninstructions: Route fast.\n";
    after["workspace.yaml"] = "kind: Workspace\nname: ws\nschema_version: 2\n";
    after["integrations/billing.yaml"] = "kind: Integration\nname: billing\n";
    after.erase("variables/unused.yaml");
    const core::workspace::SemanticDiff diff = diff_of(base, after);
    REQUIRE(diff.items.size() == 5);

    CHECK(diff.items[0].kind == "Workspace");
    CHECK(diff.items[0].name == "workspace");
    CHECK(diff.items[0].path == "workspace.yaml");
    CHECK(diff.items[0].change == ItemChange::Change::changed);
    CHECK(diff.items[0].fields == Strings{"schema_version"});

    CHECK(diff.items[1].kind == "Agent");
    CHECK(diff.items[1].name == "billing");
    CHECK(diff.items[1].path == "agents/billing.yaml");
    CHECK(diff.items[1].change == ItemChange::Change::added);
    CHECK(diff.items[1].fields.empty());

    CHECK(diff.items[2].name == "triage");
    CHECK(diff.items[2].change == ItemChange::Change::changed);
    CHECK(diff.items[2].fields == Strings{"instructions"});

    CHECK(diff.items[3].kind == "Integration");
    CHECK(diff.items[3].change == ItemChange::Change::added);

    CHECK(diff.items[4].kind == "Variable");
    CHECK(diff.items[4].name == "unused");
    CHECK(diff.items[4].change == ItemChange::Change::removed);

    CHECK(diff.summary() == "5 items: 2 added, 1 removed, 2 changed, 1 breaking");
    const core::workspace::ChangeCounts agents = diff.counts("Agent");
    CHECK(agents.added == 1);
    CHECK(agents.changed == 1);
    CHECK(agents.total() == 2);
  }

  SUBCASE("non-content files are ignored") {
    Files after = base;
    after["README.md"] = "# changed\n";
    after[".gitlab-ci.yml"] = "stages: [test]\n";
    after["docs/guide.yaml"] = "kind: Agent\nname: guide\n";
    after["agents/notes.md"] = "notes\n";
    after["agents/nested/deep.yaml"] = "kind: Agent\nname: deep\n";
    after["conversations/c1.yaml"] = "kind: Conversation\n";
    CHECK(diff_of(base, after).empty());
  }

  SUBCASE("comment, layout and quoting changes are not semantic") {
    Files after = base;
    after["agents/triage.yaml"] =
        "# the router\nkind: \"Agent\"\nname: 'triage'\n\ninstructions:   Route.\n";
    CHECK(diff_of(base, after).empty());
  }

  SUBCASE("knowledge documents") {
    Files after = base;
    after["knowledge/faq/returns.md"] = "# Returns\n\n30 days.\n";
    after["knowledge/faq/shipping/eu.md"] = "# Shipping\n";
    after["knowledge/faq.yaml"] = "kind: KnowledgeBase\nname: faq\ndescription: FAQ\n";
    const core::workspace::SemanticDiff diff = diff_of(base, after);
    REQUIRE(diff.items.size() == 3);
    CHECK(diff.items[0].kind == "KnowledgeBase");
    CHECK(diff.items[0].fields == Strings{"description"});
    CHECK(diff.items[1].kind == "Document");
    CHECK(diff.items[1].name == "faq/returns.md");
    CHECK(diff.items[1].path == "knowledge/faq/returns.md");
    CHECK(diff.items[1].change == ItemChange::Change::changed);
    CHECK(diff.items[1].fields.empty());
    CHECK(diff.items[2].kind == "Document");
    CHECK(diff.items[2].name == "faq/shipping/eu.md");
    CHECK(diff.items[2].change == ItemChange::Change::added);
  }

  SUBCASE("a document removed with its knowledge base") {
    Files after = base;
    after.erase("knowledge/faq/returns.md");
    const core::workspace::SemanticDiff diff = diff_of(base, after);
    const ItemChange item = only_item(diff);
    CHECK(item.kind == "Document");
    CHECK(item.change == ItemChange::Change::removed);
    CHECK_FALSE(item.breaking);
  }

  SUBCASE(".yml files and local kinds count") {
    Files after = base;
    after["channels/chat.yml"] = "kind: Channel\nname: chat\n";
    after["guardrails/pii.yaml"] = "kind: Guardrail\nname: pii\n";
    const core::workspace::SemanticDiff diff = diff_of(base, after);
    REQUIRE(diff.items.size() == 2);
    CHECK(diff.items[0].kind == "Channel");
    CHECK(diff.items[0].name == "chat");
    CHECK(diff.items[1].kind == "Guardrail");
  }

  SUBCASE("a diff from the empty side lists everything as added") {
    TempRepo temp;
    const std::string first = temp.commit({});
    const std::string second = temp.commit(base, {first});
    const core::workspace::SemanticDiff diff =
        core::workspace::semantic_diff(temp.repo(), nullptr, first, second);
    CHECK(diff.items.size() == base.size() - 1); // README.md is not content
    CHECK(diff.counts().added == diff.items.size());
    CHECK_FALSE(diff.breaking());
  }
}

TEST_CASE("core::workspace::semantic_diff fields") {
  const std::string path = "agents/a.yaml";

  SUBCASE("top-level scalar") {
    CHECK(fields_of(path, "instructions: a\n", "instructions: b\n") == Strings{"instructions"});
  }
  SUBCASE("nested mapping reports the leaf") {
    CHECK(fields_of(path, "model:\n  temperature: 0.3\n  name: x\n",
                    "model:\n  temperature: 0.5\n  name: x\n") == Strings{"model.temperature"});
  }
  SUBCASE("sequence item field") {
    CHECK(fields_of("workflows/w.yaml", "steps:\n  - agent: a\n  - agent: b\n",
                    "steps:\n  - agent: a\n  - agent: c\n") == Strings{"steps[1].agent"});
  }
  SUBCASE("sequence length change reports the sequence") {
    CHECK(fields_of("workflows/w.yaml", "steps:\n  - agent: a\n",
                    "steps:\n  - agent: a\n  - agent: b\n") == Strings{"steps"});
  }
  SUBCASE("scalar list item") {
    CHECK(fields_of(path, "knowledge: [a, b]\n", "knowledge: [a, c]\n") == Strings{"knowledge[1]"});
  }
  SUBCASE("added and removed keys") {
    CHECK(fields_of(path, "a: 1\nb: 2\n", "a: 1\nc: 3\n") == Strings{"c", "b"});
    CHECK(fields_of(path, "model:\n  name: x\n", "model:\n  name: x\n  top_p: 1\n") ==
          Strings{"model.top_p"});
  }
  SUBCASE("a changed type reports the node, not its insides") {
    CHECK(fields_of(path, "tools:\n  a: 1\n", "tools: [a]\n") == Strings{"tools"});
    CHECK(fields_of(path, "max: 1\n", "max: \"1\"\n") == Strings{"max"});
    CHECK(fields_of(path, "max: 1\n", "max: 1.0\n") == Strings{"max"});
  }
  SUBCASE("several branches, in document order") {
    CHECK(fields_of(path, "description: a\nmodel:\n  temperature: 1\ninstructions: x\n",
                    "description: b\nmodel:\n  temperature: 2\ninstructions: y\n") ==
          Strings{"description", "model.temperature", "instructions"});
  }
  SUBCASE("equal values in other notations are equal") {
    CHECK(diff_of({{path, "n: 0x10\nb: true\nz: ~\nf: 1.50\n"}},
                  {{path, "n: 16\nb: True\nz: null\nf: 1.5\n"}})
              .empty());
  }
  SUBCASE("keys that are not identifiers are quoted") {
    CHECK(fields_of(path, "headers:\n  X-Api.Key: a\n", "headers:\n  X-Api.Key: b\n") ==
          Strings{"headers[\"X-Api.Key\"]"});
  }
  SUBCASE("a whole-document type change") {
    CHECK(fields_of(path, "[a]\n", "a: 1\n") == Strings{"(document)"});
  }
  SUBCASE("a side that does not parse") {
    CHECK(fields_of(path, "a: 1\n", "a: [1\n") == Strings{"(unparsed)"});
    CHECK(fields_of(path, "a: [1\n", "a: 1\n") == Strings{"(unparsed)"});
    CHECK(fields_of(path, "a: [1\n", "a: [2\n") == Strings{"(unparsed)"});
  }
}

TEST_CASE("core::workspace::semantic_diff breaking") {
  const Files base = base_files();

  SUBCASE("a removed variable is breaking even when unused") {
    Files after = base;
    after.erase("variables/unused.yaml");
    const ItemChange item = only_item(diff_of(base, after));
    CHECK(item.breaking);
    CHECK(item.reason == "variable 'unused' removed");
  }

  SUBCASE("a removed variable names who uses it") {
    Files after = base;
    after.erase("variables/support_email.yaml");
    const ItemChange item = only_item(diff_of(base, after));
    CHECK(item.breaking);
    CHECK(item.reason ==
          "variable 'support_email' removed; referenced by agents/support.yaml (instructions)");
  }

  SUBCASE("a retyped variable is breaking") {
    Files after = base;
    after["variables/unused.yaml"] = variable("unused", "string", "one");
    const ItemChange item = only_item(diff_of(base, after));
    CHECK(item.change == ItemChange::Change::changed);
    CHECK(item.fields == Strings{"type", "default"});
    CHECK(item.breaking);
    CHECK(item.reason == "variable 'unused' retyped from number to string");
  }

  SUBCASE("a variable whose default changed is not breaking") {
    Files after = base;
    after["variables/unused.yaml"] = variable("unused", "number", "2");
    const ItemChange item = only_item(diff_of(base, after));
    CHECK(item.fields == Strings{"default"});
    CHECK_FALSE(item.breaking);
  }

  SUBCASE("a removed workflow is always breaking") {
    Files after = base;
    after.erase("workflows/support-request.yaml");
    const ItemChange item = only_item(diff_of(base, after));
    CHECK(item.breaking);
    CHECK(item.reason ==
          "workflow 'support-request' removed; referenced by channels/web.yaml (workflow)");

    Files lone = {{"workflows/w.yaml", "kind: Workflow\nname: w\n"}};
    const ItemChange unused = only_item(diff_of(lone, {}));
    CHECK(unused.breaking);
    CHECK(unused.reason == "workflow 'w' removed");
  }

  SUBCASE("a removed agent that something references") {
    Files after = base;
    after.erase("agents/triage.yaml");
    const ItemChange item = only_item(diff_of(base, after));
    CHECK(item.breaking);
    CHECK(item.reason == "agent 'triage' removed; referenced by channels/web.yaml (agent), "
                         "workflows/support-request.yaml (steps[0].agent)");
  }

  SUBCASE("a removed agent that nothing references is not breaking") {
    Files before = base;
    before["agents/spare.yaml"] = "kind: Agent\nname: spare\nfallback:\n  handoff_agent: spare\n";
    const ItemChange item = only_item(diff_of(before, base));
    CHECK(item.change == ItemChange::Change::removed);
    CHECK_FALSE(item.breaking); // its own reference does not count
    CHECK(item.reason.empty());
  }

  SUBCASE("an agent referenced through another agent's fallback") {
    Files before = base;
    before["agents/spare.yaml"] = "kind: Agent\nname: spare\n";
    before["agents/triage.yaml"] = "kind: Agent\nname: triage\nfallback:\n  handoff_agent: spare\n";
    Files after = before;
    after.erase("agents/spare.yaml");
    const ItemChange item = only_item(diff_of(before, after));
    CHECK(item.breaking);
    CHECK(item.reason ==
          "agent 'spare' removed; referenced by agents/triage.yaml (fallback.handoff_agent)");
  }

  SUBCASE("a removed integration referenced by an agent's tools") {
    Files after = base;
    after.erase("integrations/crm.yaml");
    const ItemChange item = only_item(diff_of(base, after));
    CHECK(item.breaking);
    CHECK(item.reason ==
          "integration 'crm' removed; referenced by agents/support.yaml (tools[0].integration)");
  }

  SUBCASE("a removed knowledge base referenced by an agent") {
    Files after = base;
    after.erase("knowledge/faq.yaml");
    const ItemChange item = only_item(diff_of(base, after));
    CHECK(item.kind == "KnowledgeBase");
    CHECK(item.breaking);
    CHECK(item.reason ==
          "knowledge base 'faq' removed; referenced by agents/support.yaml (knowledge[0])");
  }

  SUBCASE("a removed channel and added items are not breaking") {
    Files after = base;
    after.erase("channels/web.yaml");
    after["agents/new.yaml"] = "kind: Agent\nname: new\n";
    const core::workspace::SemanticDiff diff = diff_of(base, after);
    REQUIRE(diff.items.size() == 2);
    CHECK_FALSE(diff.breaking());
  }

  SUBCASE("references count in the from tree, even when the to tree dropped them") {
    Files after = base;
    after.erase("integrations/crm.yaml");
    after["agents/support.yaml"] = "kind: Agent\nname: support\ninstructions: x\n";
    const core::workspace::SemanticDiff diff = diff_of(base, after);
    REQUIRE(diff.items.size() == 2);
    CHECK(diff.items[1].kind == "Integration");
    CHECK(diff.items[1].breaking);
  }

  SUBCASE("a removed variable that does not parse is still breaking") {
    Files before = base;
    before["variables/broken.yaml"] = "kind: [Variable\n";
    const ItemChange item = only_item(diff_of(before, base));
    CHECK(item.breaking);
    CHECK(item.reason == "variable 'broken' removed");
  }
}

TEST_CASE("core::workspace::SemanticDiff to_json (diff)") {
  Files before = base_files();
  Files after = before;
  after.erase("variables/unused.yaml");
  after["agents/triage.yaml"] = "kind: Agent\nname: triage\ninstructions: Route fast.\n";
  after["agents/billing.yaml"] = "kind: Agent\nname: billing\n";
  const core::workspace::SemanticDiff diff = diff_of(before, after);
  const nlohmann::json json = diff.to_json();
  CHECK(json["from"] == diff.from);
  CHECK(json["to"] == diff.to);
  CHECK(json["empty"] == false);
  CHECK(json["breaking"] == true);
  CHECK(json["counts"] == nlohmann::json{{"items", 3},
                                          {"added", 1},
                                          {"removed", 1},
                                          {"changed", 1},
                                          {"renamed", 0},
                                          {"breaking", 1}});
  CHECK(json["by_kind"]["Agent"] == nlohmann::json{{"items", 2},
                                                   {"added", 1},
                                                   {"removed", 0},
                                                   {"changed", 1},
                                                   {"renamed", 0},
                                                   {"breaking", 0}});
  CHECK(json["renames"] == nlohmann::json::array());
  CHECK(json["by_kind"]["Variable"]["removed"] == 1);
  CHECK_FALSE(json["by_kind"].contains("Workflow"));
  REQUIRE(json["items"].size() == 3);
  CHECK(json["items"][0] == nlohmann::json{{"kind", "Agent"},
                                           {"name", "billing"},
                                           {"path", "agents/billing.yaml"},
                                           {"change", "added"},
                                           {"fields", nlohmann::json::array()},
                                           {"breaking", false},
                                           {"reason", ""}});
  CHECK(json["items"][1]["change"] == "changed");
  CHECK(json["items"][1]["fields"] == nlohmann::json{"instructions"});
  CHECK(json["items"][2]["reason"] == "variable 'unused' removed");

  const nlohmann::json none = diff_of(before, before).to_json();
  CHECK(none["empty"] == true);
  CHECK(none["items"].empty());
  CHECK(none["by_kind"].is_object());
  CHECK(none["counts"]["items"] == 0);
}

TEST_CASE("core::diff resolve_side") {
  TempRepo temp;
  git::Repository& repo = temp.repo();
  const std::string first = temp.commit({{"workspace.yaml", k_workspace}});
  const std::string second = temp.commit({{"workspace.yaml", k_workspace + "x: 1\n"}}, {first});
  temp.set_ref("refs/heads/dev", second);
  temp.set_ref("refs/heads/qa-branch", first);
  temp.set_ref("refs/tags/v1.0.0", first);

  SUBCASE("revisions without a config") {
    CHECK(core::workspace::resolve_side(repo, "dev") == second);
    CHECK(core::workspace::resolve_side(repo, "v1.0.0") == first);
    CHECK(core::workspace::resolve_side(repo, "dev~1") == first);
    CHECK(core::workspace::resolve_side(repo, second) == second);
    CHECK(core::workspace::resolve_side(repo, second.substr(0, 10)) == second);
    CHECK_THROWS_WITH_AS(core::workspace::resolve_side(repo, "nope"), "unknown environment or revision 'nope'",
                         util::UsageError);
    CHECK_THROWS_AS(core::workspace::resolve_side(repo, ""), util::UsageError);
    CHECK_THROWS_WITH_AS(core::workspace::resolve_side(repo, "v1.0.1"),
                         "unknown environment or revision 'v1.0.1'; did you mean 'v1.0.0'?",
                         util::UsageError);
  }

  SUBCASE("environments through the config") {
    core::policy::PipelineConfig config = core::policy::default_config({"dev", "qa", "prod"}, "a@example.com");
    config.environments[1].branch = "qa-branch";
    const std::string text = core::policy::render_config(config);
    std::vector<content::Diagnostic> problems;
    REQUIRE(core::policy::parse_config(text, "envflow.yaml", problems).has_value());
    const std::string config_commit = temp.commit({{core::model::k_config_file, text}});
    temp.set_ref(core::model::k_config_ref, config_commit);

    CHECK(core::workspace::resolve_side(repo, "qa") == first);
    CHECK(core::workspace::resolve_side(repo, "dev") == second);
    CHECK(core::workspace::resolve_side(repo, "v1.0.0") == first); // revisions still work
    CHECK_THROWS_WITH_AS(core::workspace::resolve_side(repo, "prod"),
                         "environment 'prod' has no commits: branch 'prod' does not exist",
                         util::UsageError);
    CHECK_THROWS_WITH_AS(core::workspace::resolve_side(repo, "staging"),
                         "unknown environment or revision 'staging' (environments: dev, qa, prod)",
                         util::UsageError);
    CHECK_THROWS_WITH_AS(
        core::workspace::resolve_side(repo, "prd"),
        "unknown environment or revision 'prd'; did you mean 'prod'? (environments: dev, qa, prod)",
        util::UsageError);
  }

  SUBCASE("an invalid config does not stop a diff") {
    const std::string config_commit = temp.commit({{core::model::k_config_file, "environments: 3\n"}});
    temp.set_ref(core::model::k_config_ref, config_commit);
    CHECK(core::workspace::resolve_side(repo, "dev") == second);
  }
}

TEST_CASE("core::workspace::semantic_diff is remembered per pair of trees when the cache is on") {
  TempRepo temp;
  Files after = base_files();
  after.erase("variables/support_email.yaml");
  after["variables/unused.yaml"] = variable("unused", "number", "2");
  const std::string from = temp.commit(base_files());
  const std::string to = temp.commit(after, {from});
  const nlohmann::json expected =
      core::workspace::semantic_diff(temp.repo(), nullptr, from, to).to_json();
  const std::filesystem::path folder =
      std::filesystem::path(core::workspace::cache_dir(temp.repo())) / "diffs";
  CHECK_FALSE(std::filesystem::exists(folder)); // cache off: nothing kept

  core::workspace::DiskCache cache(core::workspace::cache_dir(temp.repo()));
  const nlohmann::json first =
      core::workspace::semantic_diff(temp.repo(), &cache, from, to).to_json();
  CHECK(first == expected);
  REQUIRE(std::distance(std::filesystem::directory_iterator(folder),
                        std::filesystem::directory_iterator()) == 1);
  const std::filesystem::path file = std::filesystem::directory_iterator(folder)->path();

  SUBCASE("a second run reads it back") {
    CHECK(core::workspace::semantic_diff(temp.repo(), &cache, from, to).to_json() == expected);
    // Proof it came from the file: a doctored file is believed.
    std::ofstream(file) << R"({"items":[]})";
    CHECK(core::workspace::semantic_diff(temp.repo(), &cache, from, to).empty());
  }
  SUBCASE("a damaged file is a miss, computed again") {
    std::ofstream(file) << "{\"items\": [{\"k\": 1";
    CHECK(core::workspace::semantic_diff(temp.repo(), &cache, from, to).to_json() == expected);
  }
}

namespace {

// `base_files()` with agent triage renamed to router (file and `name`), and
// `updated` references to it pointed at the new name.
Files triage_renamed(bool updated) {
  Files after = base_files();
  after.erase("agents/triage.yaml");
  after["agents/router.yaml"] = "kind: Agent\nname: router\ninstructions: Route.\n";
  if (updated) {
    after["channels/web.yaml"] =
        "kind: Channel\nname: web\nworkflow: support-request\nagent: router\n";
    std::string workflow = k_workflow;
    workflow.replace(workflow.find("agent: triage"), 13, "agent: router");
    after["workflows/support-request.yaml"] = workflow;
  }
  return after;
}

const ItemChange& item_named(const core::workspace::SemanticDiff& diff, const std::string& name) {
  for (const ItemChange& item : diff.items) {
    if (item.name == name) {
      return item;
    }
  }
  FAIL("no item " << name);
  return diff.items.front();
}

} // namespace

TEST_CASE("core::workspace::semantic_diff renames") {
  const Files base = base_files();

  SUBCASE("same content under a new name, references updated: a rename, not breaking") {
    const core::workspace::SemanticDiff diff = diff_of(base, triage_renamed(true));
    REQUIRE(diff.items.size() == 4);
    const ItemChange& old = item_named(diff, "triage");
    const ItemChange& now = item_named(diff, "router");
    CHECK(old.change == ItemChange::Change::removed);
    REQUIRE(old.renamed_to);
    CHECK(old.renamed_to->name == "router");
    CHECK(old.renamed_to->path == "agents/router.yaml");
    CHECK_FALSE(old.renamed_from);
    CHECK(now.change == ItemChange::Change::added);
    REQUIRE(now.renamed_from);
    CHECK(now.renamed_from->name == "triage");
    CHECK(now.renamed_from->path == "agents/triage.yaml");
    CHECK_FALSE(diff.breaking());
    CHECK(diff.counts().renamed == 1);
    CHECK(diff.counts().added == 1); // the rename is still one added and one removed file
    CHECK(diff.counts().removed == 1);
    CHECK(diff.counts("Agent").renamed == 1);
    CHECK(diff.summary() == "3 items: 2 changed, 1 renamed");
  }

  SUBCASE("the old name still used after the change: breaking, naming who") {
    const core::workspace::SemanticDiff diff = diff_of(base, triage_renamed(false));
    const ItemChange& old = item_named(diff, "triage");
    REQUIRE(old.renamed_to);
    CHECK(old.breaking);
    CHECK(old.reason == "agent 'triage' renamed to 'router'; still referenced by "
                        "channels/web.yaml (agent), workflows/support-request.yaml "
                        "(steps[0].agent)");
  }

  SUBCASE("order, layout, quoting and comments do not count; the name field does not") {
    Files after = base;
    after.erase("integrations/crm.yaml");
    after["integrations/sales-crm.yaml"] =
        "# moved\nbase_url: 'https://x'\nname: sales-crm\nkind: Integration\n";
    const core::workspace::SemanticDiff diff = diff_of(base, after);
    REQUIRE(diff.items.size() == 2);
    CHECK(item_named(diff, "crm").renamed_to);
    // The unchanged agent still uses the old name afterwards.
    CHECK(item_named(diff, "crm").breaking);
    CHECK(item_named(diff, "crm").reason ==
          "integration 'crm' renamed to 'sales-crm'; still referenced by agents/support.yaml "
          "(tools[0].integration)");
  }

  SUBCASE("any other change makes it a removal and an addition") {
    Files after = triage_renamed(true);
    after["agents/router.yaml"] = "kind: Agent\nname: router\ninstructions: Route well.\n";
    const core::workspace::SemanticDiff diff = diff_of(base, after);
    CHECK_FALSE(item_named(diff, "triage").renamed_to);
    CHECK_FALSE(item_named(diff, "router").renamed_from);
    CHECK(diff.counts().renamed == 0);
    // Judged as a removal: the channel referred to triage in the `from` tree.
    CHECK(item_named(diff, "triage").breaking);
  }

  SUBCASE("a renamed variable is breaking even with its uses updated") {
    Files after = base;
    after.erase("variables/greeting.yaml");
    after["variables/salutation.yaml"] = variable("salutation", "string", "hi");
    std::string workflow = k_workflow;
    workflow.replace(workflow.find("vars.greeting"), 13, "vars.salutation");
    after["workflows/support-request.yaml"] = workflow;
    const core::workspace::SemanticDiff diff = diff_of(base, after);
    const ItemChange& old = item_named(diff, "greeting");
    REQUIRE(old.renamed_to);
    CHECK(old.breaking);
    CHECK(old.reason == "variable 'greeting' renamed to 'salutation'");
  }

  SUBCASE("a renamed workflow is breaking") {
    Files after = base;
    after.erase("workflows/support-request.yaml");
    std::string workflow = k_workflow;
    workflow.replace(workflow.find("name: support-request"), 21, "name: requests");
    after["workflows/requests.yaml"] = workflow;
    after["channels/web.yaml"] = "kind: Channel\nname: web\nworkflow: requests\nagent: triage\n";
    const core::workspace::SemanticDiff diff = diff_of(base, after);
    const ItemChange& old = item_named(diff, "support-request");
    REQUIRE(old.renamed_to);
    CHECK(old.breaking);
    CHECK(old.reason == "workflow 'support-request' renamed to 'requests'");
  }

  SUBCASE("a document moved byte for byte is a rename") {
    Files after = base;
    after.erase("knowledge/faq/returns.md");
    after["knowledge/faq/refunds.md"] = "# Returns\n";
    const core::workspace::SemanticDiff diff = diff_of(base, after);
    REQUIRE(diff.items.size() == 2);
    REQUIRE(item_named(diff, "faq/returns.md").renamed_to);
    CHECK(item_named(diff, "faq/returns.md").renamed_to->name == "faq/refunds.md");
    CHECK_FALSE(diff.breaking());
    after["knowledge/faq/refunds.md"] = "# Returns!\n";
    CHECK(diff_of(base, after).counts().renamed == 0);
  }

  SUBCASE("each removed item pairs with one added item, in path order") {
    Files before = base;
    before["channels/a.yaml"] = "kind: Channel\nname: a\nagent: triage\n";
    before["channels/b.yaml"] = "kind: Channel\nname: b\nagent: triage\n";
    Files after = base;
    after["channels/c.yaml"] = "kind: Channel\nname: c\nagent: triage\n";
    const core::workspace::SemanticDiff diff = diff_of(before, after);
    REQUIRE(diff.items.size() == 3);
    REQUIRE(item_named(diff, "a").renamed_to);
    CHECK(item_named(diff, "a").renamed_to->name == "c");
    CHECK_FALSE(item_named(diff, "b").renamed_to);
    REQUIRE(item_named(diff, "c").renamed_from);
    CHECK(item_named(diff, "c").renamed_from->name == "a");
  }

  SUBCASE("different kinds never pair") {
    Files before = base;
    before["guardrails/x.yaml"] = "name: x\n";
    Files after = base;
    after["evaluators/y.yaml"] = "name: y\n";
    CHECK(diff_of(before, after).counts().renamed == 0);
  }

  SUBCASE("JSON: links on both items and a renames list") {
    const nlohmann::json json = diff_of(base, triage_renamed(false)).to_json();
    CHECK(json["counts"]["renamed"] == 1);
    CHECK(json["by_kind"]["Agent"]["renamed"] == 1);
    REQUIRE(json["renames"].size() == 1);
    CHECK(json["renames"][0]["kind"] == "Agent");
    CHECK(json["renames"][0]["from"] ==
          nlohmann::json{{"name", "triage"}, {"path", "agents/triage.yaml"}});
    CHECK(json["renames"][0]["to"] ==
          nlohmann::json{{"name", "router"}, {"path", "agents/router.yaml"}});
    CHECK(json["renames"][0]["breaking"] == true);
    CHECK(json["renames"][0]["reason"].get<std::string>().find("still referenced") !=
          std::string::npos);
    for (const auto& item : json["items"]) {
      CHECK(item.contains("renamed_to") == (item["name"] == "triage"));
      CHECK(item.contains("renamed_from") == (item["name"] == "router"));
    }
  }
}

TEST_CASE("core::workspace::semantic_diff remembers renames") {
  TempRepo temp;
  const std::string from = temp.commit(base_files());
  const std::string to = temp.commit(triage_renamed(true), {from});
  const nlohmann::json expected =
      core::workspace::semantic_diff(temp.repo(), nullptr, from, to).to_json();
  core::workspace::DiskCache cache(core::workspace::cache_dir(temp.repo()));
  CHECK(core::workspace::semantic_diff(temp.repo(), &cache, from, to).to_json() ==
        expected); // computed, kept
  CHECK(core::workspace::semantic_diff(temp.repo(), &cache, from, to).to_json() ==
        expected); // read back
  CHECK(expected["counts"]["renamed"] == 1);
}
