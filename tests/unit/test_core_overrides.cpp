// Environment-local overrides (core/overrides.h): the overrides.yaml
// format, var set / unset through a session (judged by the rulebook), the
// effective variables, the overrides gate a promotion passes, and render.

#include "content/yaml.h"
#include "core/model/audit.h"
#include "core/policy/config.h"
#include "core/records/overrides.h"
#include "core/release/release.h"
#include "core/release/render.h"
#include "core/pipeline/session.h"
#include "core/model/view.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/json.h"

#include "support.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

using namespace envflow;
using content::Value;
using namespace envflow::test;

namespace {

const std::map<std::string, std::string> k_content{
    {"workspace.yaml", "kind: Workspace\nname: ws\nschema_version: 1\n"},
    {"variables/max_turns.yaml", variable("max_turns", "number", "4")},
    {"variables/support_email.yaml", variable("support_email", "string", "help@example.com")},
    {"variables/tier.yaml",
     "kind: Variable\nname: tier\ntype: enum\nvalues: [free, pro]\ndefault: free\n"},
    {"integrations/crm.yaml",
     "kind: Integration\nname: crm\nauth:\n  secret: ${secrets.CRM_TOKEN}\n"},
    {"knowledge/faq.yaml", "kind: KnowledgeBase\nname: faq\n"},
    {"knowledge/faq/returns.md", "# Returns\n\nThirty days.\n"},
};

// A bare repository whose three environments hold k_content, with the
// default policy (alice in every group) on refs/envflow/config (by hand: the
// audit trail starts empty).
struct BarePipeline {
  test::TempRepo dir{true};
  core::policy::PipelineConfig config = core::policy::default_config({"dev", "test", "production"}, k_alice);
  std::string head;

  BarePipeline() {
    const std::string policy = dir.commit({{core::model::k_config_file, core::policy::render_config(config)}});
    set_ref(core::model::k_config_ref, policy);
    head = dir.commit(k_content);
    for (const char* branch : {"refs/heads/dev", "refs/heads/test", "refs/heads/production"}) {
      set_ref(branch, head);
    }
  }

  git::Repository& repo() { return dir.repo(); }

  core::pipeline::Session session(const std::string& actor = k_alice) {
    return core::pipeline::Session::local(git::Repository::open(dir.path()), actor);
  }

  // Point `ref` at `id`, whatever it was.
  void set_ref(const std::string& ref, const std::string& id) {
    repo().update_refs({git::RefUpdate{ref, repo().ref_target(ref), id}}, "test");
  }

  std::string commit(const std::map<std::string, std::string>& files,
                     const std::vector<std::string>& parents = {}) {
    return dir.commit(files, parents);
  }
};

Value integer_value(std::int64_t n) {
  Value v;
  v.type = Value::Type::integer;
  v.integer = n;
  v.string = std::to_string(n);
  return v;
}

Value string(const std::string& s) {
  Value v;
  v.type = Value::Type::string;
  v.string = s;
  return v;
}

Value number_value(double n) {
  Value v;
  v.type = Value::Type::number;
  v.number = n;
  return v;
}

std::string refusal_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const util::Refused& e) {
    return e.what();
  }
  return "(not refused)";
}

} // namespace

TEST_CASE("core::records::emit_overrides") {
  std::map<std::string, Value> values;
  values["a_string"] = string("help@staging.example.com");
  values["escapes"] = string("quote \" backslash \\ tab \t newline \n bell \x07 del \x7f");
  values["unicode"] =
      string("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 c1 \xC2\x85 bom \xEF\xBB\xBF");
  values["empty"] = string("");
  values["looks_like_number"] = string("12");
  values["looks_like_bool"] = string("true");
  values["count"] = integer_value(-12);
  values["half"] = number_value(0.5);
  values["whole"] = number_value(3.0);
  values["big"] = number_value(1e300);
  Value flag;
  flag.type = Value::Type::boolean;
  flag.boolean = true;
  values["flag"] = flag;
  values["nothing"] = Value{};
  Value list;
  list.type = Value::Type::sequence;
  list.items = {integer_value(1), string("two"), Value{}};
  Value map;
  map.type = Value::Type::mapping;
  map.members.push_back(content::Entry{"z key", {}, list});
  map.members.push_back(content::Entry{"a", {}, integer_value(1)});
  map.members.push_back(content::Entry{"null", {}, string("x")});
  values["json"] = map;
  values["true"] = string("a reserved key");
  values["odd key: yes"] = integer_value(1);

  const std::string text = core::records::emit_overrides("staging", values);

  SUBCASE("the layout is fixed") {
    CHECK(text.rfind("# envflow variable overrides for staging\nvariables:\n", 0) == 0);
    CHECK(text.find("\n  a_string: \"help@staging.example.com\"\n") != std::string::npos);
    CHECK(text.find("\n  count: -12\n") != std::string::npos);
    CHECK(text.find("\n  flag: true\n") != std::string::npos);
    CHECK(text.find("\n  half: 0.5\n") != std::string::npos);
    CHECK(text.find("\n  whole: 3.0\n") != std::string::npos);
    CHECK(text.find("\n  nothing: null\n") != std::string::npos);
    CHECK(text.find("\n  looks_like_number: \"12\"\n") != std::string::npos);
    CHECK(text.find("\n  json: {\"z key\": [1, \"two\", null], \"a\": 1, \"null\": \"x\"}\n") !=
          std::string::npos);
    CHECK(text.find("\n  \"true\": \"a reserved key\"\n") != std::string::npos);
    CHECK(text.find("\n  \"odd key: yes\": 1\n") != std::string::npos);
  }

  SUBCASE("load_yaml reads back the same values and types") {
    const auto loaded = content::load_yaml(text, "overrides.yaml");
    REQUIRE(loaded.diagnostics.empty());
    const auto back = core::records::parse_overrides(text, "overrides.yaml");
    REQUIRE(back.size() == values.size());
    for (const auto& [name, value] : values) {
      INFO(name);
      REQUIRE(back.contains(name));
      const Value& read = back.at(name);
      CHECK(read.type == value.type);
      CHECK(read.to_json() == value.to_json());
      CHECK(core::records::emit_value(read) == core::records::emit_value(value));
    }
    SUBCASE("and emitting again gives the same bytes") {
      CHECK(core::records::emit_overrides("staging", back) == text);
    }
  }

  SUBCASE("no overrides") {
    const std::string empty = core::records::emit_overrides("test", {});
    CHECK(empty == "# envflow variable overrides for test\nvariables: {}\n");
    CHECK(core::records::parse_overrides(empty, "overrides.yaml").empty());
  }

  SUBCASE("finite values without DEL, U+2028 or U+2029 are JSON text") {
    CHECK(util::parse_json(core::records::emit_value(map)) == map.to_json());
    const Value controls = string("quote \" backslash \\ tab \t newline \n bell \x07 nul " +
                                  std::string(1, '\0'));
    CHECK(util::parse_json(core::records::emit_value(controls)) == controls.to_json());
    CHECK(util::parse_json(core::records::emit_value(values["unicode"])) ==
          values["unicode"].to_json());
    // DEL: every non-ASCII character escaped, YAML's way.
    CHECK(core::records::emit_value(values["escapes"]) ==
          "\"quote \\\" backslash \\\\ tab \\t newline \\n bell \\x07 del \\x7f\"");
  }
}

TEST_CASE("core::records::parse_overrides") {
  CHECK(core::records::parse_overrides("", "o.yaml").empty());
  CHECK(core::records::parse_overrides("variables:\n", "o.yaml").empty());
  CHECK(core::records::parse_overrides("variables:\n  a: 1\n", "o.yaml").at("a").integer == 1);
  CHECK(refusal_of([] { core::records::parse_overrides("- a\n", "o.yaml"); }) ==
        "o.yaml:1:1: error: expected a mapping with a 'variables' mapping");
  CHECK(refusal_of([] {
          core::records::parse_overrides("variables: [a]\n", "o.yaml");
        }).find("o.yaml:1:12: error: 'variables' must be a mapping") == 0);
  CHECK(refusal_of([] {
          core::records::parse_overrides("variables: {a: 1, a: 2}\n", "o.yaml");
        }).find("yaml-duplicate-key") != std::string::npos);
}

TEST_CASE("core::records::set_override") {
  BarePipeline p;
  auto& repo = p.repo();
  core::pipeline::Session s = p.session();
  const std::string ref = "refs/envflow/local/test";

  SUBCASE("a typed value is stored, audited, and other local files are kept") {
    const std::string local = p.commit(
        {{"guardrails/pii.yaml", "kind: Guardrail\nname: pii\ntype: pii_redaction\naction: redact\n"}});
    p.set_ref(ref, local);
    const auto change = core::records::set_override(s, "test", "max_turns", "12");
    CHECK(change.changed);
    CHECK(change.old_commit == local);
    CHECK_FALSE(change.pending);
    CHECK(change.declared_on == "test");
    REQUIRE(repo.ref_target(ref) == change.new_commit);
    const auto info = repo.commit(change.new_commit);
    CHECK(info.parents == std::vector<std::string>{local});
    CHECK(repo.read_path(change.new_commit, "guardrails/pii.yaml").has_value());
    const auto text = repo.read_path(change.new_commit, "overrides.yaml");
    REQUIRE(text);
    CHECK(*text == "# envflow variable overrides for test\nvariables:\n  max_turns: 12\n");

    const auto records = core::model::read_audit(repo);
    REQUIRE(!records.empty());
    const auto& record = records.back();
    CHECK(record.op == "var-set");
    CHECK(record.env == "test");
    CHECK(record.actor == k_alice);
    CHECK(record.note == "max_turns=12");
    REQUIRE(record.moves.size() == 1);
    CHECK(record.moves[0].ref == ref);
    CHECK(record.moves[0].old_id == local);
    CHECK(record.moves[0].new_id == change.new_commit);

    const auto overrides = core::records::read_overrides(s.pipeline(), "test");
    CHECK(overrides.commit == change.new_commit);
    CHECK(overrides.values.at("max_turns").type == Value::Type::integer);

    SUBCASE("the same value again changes nothing") {
      const auto again = core::records::set_override(s, "test", "max_turns", "12");
      CHECK_FALSE(again.changed);
      CHECK(repo.ref_target(ref) == change.new_commit);
      CHECK(core::model::read_audit(repo).size() == records.size());
    }
    SUBCASE("unset removes it, in a new commit") {
      const auto unset = core::records::unset_override(s, "test", "max_turns");
      CHECK(unset.changed);
      CHECK(repo.ref_target(ref) == unset.new_commit);
      CHECK(core::records::read_overrides(s.pipeline(), "test").values.empty());
      CHECK(core::model::read_audit(repo).back().op == "var-unset");
      CHECK(core::model::read_audit(repo).back().note == "max_turns");
      CHECK(repo.read_path(unset.new_commit, "guardrails/pii.yaml").has_value());
      const auto twice = core::records::unset_override(s, "test", "max_turns");
      CHECK_FALSE(twice.changed);
    }
  }

  SUBCASE("the first local commit has no parent") {
    const auto change = core::records::set_override(s, "test", "support_email", "help@test.example.com");
    CHECK(repo.commit(change.new_commit).parents.empty());
    CHECK(core::records::read_overrides(s.pipeline(), "test").values.at("support_email").string ==
          "help@test.example.com");
  }

  SUBCASE("refusals change nothing") {
    CHECK(refusal_of([&] { core::records::set_override(s, "test", "max_turns", "many"); })
              .find("invalid value for max_turns (type number, variables/max_turns.yaml on "
                    "test): ") == 0);
    CHECK(refusal_of([&] {
            core::records::set_override(s, "test", "tier", "gold");
          }).find("expected one of 'free', 'pro'") != std::string::npos);
    CHECK(refusal_of([&] { core::records::set_override(s, "test", "colour", "red"); })
              .find("unknown variable 'colour': test (" + p.head.substr(0, 7) +
                    ") declares max_turns, support_email, tier") == 0);
    CHECK(refusal_of([&] { core::records::set_override(s, "dev", "max_turns", "5"); }) ==
          "dev is the first environment and takes no overrides: change the default in "
          "variables/max_turns.yaml on dev instead");
    core::pipeline::Session mallory = p.session("mallory@example.com");
    CHECK(refusal_of([&] {
            core::records::set_override(mallory, "test", "max_turns", "5");
          }).find("mallory@example.com may not change the local data of test") == 0);
    CHECK_THROWS_AS(core::records::set_override(mallory, "test", "max_turns", "5"), util::Forbidden);
    CHECK(refusal_of([&] {
            core::records::unset_override(s, "test", "colour");
          }).find("unknown variable 'colour'") == 0);
    CHECK(refusal_of([&] {
            core::records::set_override(s, "test", "support_email", "ghp_" + std::string(36, 'a'));
          }).find("refusing to store support_email") == 0);
    CHECK_THROWS_AS(core::records::set_override(s, "qa", "max_turns", "5"), util::UsageError);
    CHECK_FALSE(repo.ref_target(ref).has_value());
    CHECK(core::model::read_audit(repo).empty());
  }

  SUBCASE("an unset by someone outside the local groups") {
    core::records::set_override(s, "test", "max_turns", "7");
    core::pipeline::Session mallory = p.session("mallory@example.com");
    CHECK(refusal_of([&] {
            core::records::unset_override(mallory, "test", "max_turns");
          }).find("mallory@example.com may not change") == 0);
  }

  SUBCASE("a set after another writer moved the local ref builds on its commit") {
    const auto first = core::records::set_override(s, "test", "max_turns", "7");
    CHECK(core::records::read_overrides(s.pipeline(), "test").commit == first.new_commit);
    const std::string other =
        p.commit({{"overrides.yaml", "variables: {max_turns: 9}\n"}}, {first.new_commit});
    p.set_ref(ref, other);
    const auto second = core::records::set_override(s, "test", "max_turns", "8");
    CHECK(repo.commit(second.new_commit).parents == std::vector<std::string>{other});
    CHECK(second.before->integer == 9);
  }

  SUBCASE("a value set before the variable reaches the environment is pending") {
    auto files = k_content;
    files["variables/colour.yaml"] = variable("colour", "string", "blue");
    const std::string incoming = p.commit(files, {p.head});
    p.set_ref("refs/heads/dev", incoming);
    const auto change = core::records::set_override(s, "production", "colour", "red");
    CHECK(change.changed);
    CHECK(change.pending);
    CHECK(change.declared_on == "dev");
    const auto effective = core::records::effective_variables(s.pipeline(), "production");
    const auto it = std::find_if(effective.variables.begin(), effective.variables.end(),
                                 [](const auto& v) { return v.name == "colour"; });
    REQUIRE(it != effective.variables.end());
    CHECK(it->source == core::records::ValueSource::pending);
    CHECK(it->problem.empty());
  }
}

TEST_CASE("core::records::effective_variables") {
  BarePipeline p;
  core::pipeline::Session s = p.session();
  core::records::set_override(s, "test", "max_turns", "12");
  // An override of a variable the content no longer declares.
  const auto local = *p.repo().ref_target("refs/envflow/local/test");
  p.set_ref("refs/envflow/local/test",
            p.commit({{"overrides.yaml", "variables:\n  max_turns: 12\n  gone: 1\n"}}, {local}));

  const auto result = core::records::effective_variables(s.pipeline(), "test");
  CHECK(result.commit == p.head);
  REQUIRE(result.variables.size() == 4);
  CHECK(result.variables[0].name == "gone");
  CHECK(result.variables[0].source == core::records::ValueSource::undeclared);
  CHECK_FALSE(result.variables[0].problem.empty());
  CHECK(result.variables[1].name == "max_turns");
  CHECK(result.variables[1].source == core::records::ValueSource::override_value);
  CHECK(result.variables[1].effective->integer == 12);
  CHECK(result.variables[1].default_value->integer == 4);
  CHECK(result.variables[2].name == "support_email");
  CHECK(result.variables[2].source == core::records::ValueSource::default_value);
  CHECK(result.variables[2].effective->string == "help@example.com");
  CHECK(core::records::source_name(result.variables[3].source) == "default");
  CHECK_THROWS_AS(core::records::effective_variables(s.pipeline(), "qa"), util::UsageError);
}

TEST_CASE("core::records::override_problems / dropped_overrides: what a promotion would break") {
  BarePipeline p;
  core::pipeline::Session s = p.session();
  core::records::set_override(s, "test", "max_turns", "12");
  core::records::set_override(s, "test", "support_email", "ops@example.com");
  core::records::set_override(s, "test", "tier", "pro");
  const core::policy::Environment& test = *s.config().find("test");

  SUBCASE("unchanged content is fine") {
    CHECK(core::records::override_problems(s.pipeline(), test, p.head).empty());
    CHECK(core::records::dropped_overrides(s.pipeline(), test, p.head).empty());
  }

  SUBCASE("removed and retyped variables are named") {
    auto files = k_content;
    files.erase("variables/support_email.yaml");
    files["variables/max_turns.yaml"] = variable("max_turns", "string", "four");
    files["variables/tier.yaml"] =
        "kind: Variable\nname: tier\ntype: enum\nvalues: [free, team]\ndefault: free\n";
    const std::string incoming = p.commit(files, {p.head});
    p.set_ref("refs/heads/dev", incoming); // where a promotion into test comes from
    const auto problems = core::records::override_problems(s.pipeline(), test, incoming);
    REQUIRE(problems.size() == 3);
    CHECK(problems[0].find("max_turns: value 12 does not fit variables/max_turns.yaml on test "
                           "(type string") == 0);
    CHECK(problems[1].find("support_email: no environment up to test declares this variable any "
                           "more") == 0);
    CHECK(problems[2].find("tier: value \"pro\" does not fit variables/tier.yaml on test (type "
                           "enum") == 0);
    // The sync drops the overrides of removed variables in the same move.
    CHECK(core::records::dropped_overrides(s.pipeline(), test, incoming) ==
          std::vector<std::string>{"support_email"});
  }

  SUBCASE("a removed variable dev still declares is pending, not removed") {
    auto files = k_content;
    files.erase("variables/support_email.yaml");
    const std::string incoming = p.commit(files, {p.head});
    CHECK(core::records::dropped_overrides(s.pipeline(), test, incoming).empty());
    CHECK(core::records::override_problems(s.pipeline(), test, incoming).empty());
  }

  SUBCASE("a type change the value still fits is compatible") {
    auto files = k_content;
    files["variables/max_turns.yaml"] = variable("max_turns", "json", "4");
    const std::string incoming = p.commit(files, {p.head});
    CHECK(core::records::override_problems(s.pipeline(), test, incoming).empty());
  }

  SUBCASE("a scope: environment variable needs a value of its own") {
    auto files = k_content;
    files["variables/region.yaml"] =
        "kind: Variable\nname: region\ntype: string\ndefault: eu\nscope: environment\n";
    const std::string incoming = p.commit(files, {p.head});
    const auto problems = core::records::override_problems(s.pipeline(), test, incoming);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].find("region is scope: environment") == 0);
    p.set_ref("refs/heads/dev", incoming); // the value is set before the variable arrives
    CHECK(core::records::set_override(s, "test", "region", "us").pending);
    CHECK(core::records::override_problems(s.pipeline(), test, incoming).empty());
  }

  SUBCASE("an environment without overrides has nothing to break") {
    const core::policy::Environment& production = *s.config().find("production");
    CHECK(core::records::override_problems(s.pipeline(), production, p.head).empty());
  }
}

TEST_CASE("core::release::render_bundle") {
  BarePipeline p;
  core::pipeline::Session s = p.session();
  core::records::set_override(s, "test", "max_turns", "12");

  const auto bundle = core::release::render_bundle(s.pipeline(), "test");
  CHECK(bundle["environment"] == "test");
  CHECK(bundle["branch"] == "test");
  CHECK(bundle["commit"] == p.head);
  CHECK(bundle["release"].is_null());
  CHECK(bundle["local_ref"] == *p.repo().ref_target("refs/envflow/local/test"));
  CHECK(bundle["workspace"]["name"] == "ws");
  CHECK(bundle["items"]["integrations"]["crm"]["auth"]["secret"] == "${secrets.CRM_TOKEN}");
  CHECK(bundle["items"]["agents"] == nlohmann::json::object());
  CHECK(bundle["documents"]["knowledge/faq/returns.md"] == "# Returns\n\nThirty days.\n");
  CHECK(bundle["variables"]["max_turns"] ==
        nlohmann::json{{"type", "number"}, {"value", 12}, {"source", "override"}});
  CHECK(bundle["variables"]["tier"] ==
        nlohmann::json{{"type", "enum"}, {"value", "free"}, {"source", "default"}});
  CHECK(core::release::bundle_text(bundle) == core::release::bundle_text(core::release::render_bundle(s.pipeline(), "test")));

  const auto production = core::release::render_bundle(s.pipeline(), "production");
  CHECK(production["local_ref"].is_null());
  CHECK(production["variables"]["max_turns"]["source"] == "default");

  SUBCASE("a release tag on the commit is named: the live one, else the highest") {
    // A release tag object with a manifest, as publish writes it.
    const auto release = [&](const std::string& name) {
      core::release::Manifest manifest;
      manifest.environment = "production";
      manifest.commit = p.head;
      manifest.version = name;
      manifest.bump = "initial";
      const std::string id = p.repo().write_tag_object(
          "object " + p.head + "\ntype commit\ntag " + name +
          "\ntagger T <t@x> 1700000000 +0000\n\nRelease " + name + "\n\n" + manifest.to_text());
      p.set_ref("refs/tags/" + name, id);
      return id;
    };
    const std::string v1_2 = release("v1.2.0");
    release("v1.10.0");
    CHECK(core::release::render_bundle(s.pipeline(), "production")["release"] == "v1.10.0");
    p.set_ref("refs/envflow/live", v1_2);
    CHECK(core::release::render_bundle(s.pipeline(), "production")["release"] == "v1.2.0");
    // A lightweight tag is no release.
    p.set_ref("refs/tags/v9.0.0", p.head);
    CHECK(core::release::render_bundle(s.pipeline(), "test")["release"] == "v1.2.0");
  }
}

TEST_CASE("core::release::check_bundles") {
  const std::string a(40, 'a');
  const std::string b(40, 'b');
  const auto bundle = [](const std::string& env, const std::string& commit) {
    return util::dump_json(nlohmann::json{{"environment", env}, {"commit", commit}});
  };
  SUBCASE("agreeing bundles") {
    const auto check = core::release::check_bundles(
        {{"backend.json", bundle("production", a)}, {"frontend.json", bundle("production", a)}});
    CHECK(check.ok);
    CHECK(check.environment == "production");
    CHECK(check.differences.empty());
  }
  SUBCASE("the odd one out is named, against the majority") {
    const auto check = core::release::check_bundles({{"frontend.json", bundle("test", b)},
                                            {"backend.json", bundle("production", a)},
                                            {"worker.json", bundle("production", a)}});
    CHECK_FALSE(check.ok);
    REQUIRE(check.differences.size() == 1);
    CHECK(check.differences[0] ==
          "frontend.json: environment test, commit bbbbbbb; expected production, commit aaaaaaa "
          "(from backend.json)");
  }
  SUBCASE("a bundle for another environment than the consumer's, whatever the majority") {
    const auto check = core::release::check_bundles(
        {{"backend.json", bundle("test", a)}, {"frontend.json", bundle("test", a)}}, "production");
    CHECK_FALSE(check.ok);
    REQUIRE(check.differences.size() == 2);
    CHECK(check.differences[0] == "backend.json: a bundle for test, but this is production: "
                                  "refuse it (render the bundle for production)");
    CHECK(core::release::check_bundles({{"backend.json", bundle("production", a)}}, "production").ok);
  }
  SUBCASE("not a bundle") {
    const auto check =
        core::release::check_bundles({{"backend.json", bundle("production", a)}, {"notes.txt", "hello"}});
    CHECK_FALSE(check.ok);
    REQUIRE(check.differences.size() == 1);
    CHECK(check.differences[0].find("notes.txt: not JSON") == 0);
  }
}
