#include "content/yaml.h"
#include "core/audit.h"
#include "core/config.h"
#include "core/overrides.h"
#include "core/render.h"
#include "git/repo.h"
#include "util/error.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

using namespace envflow;
using content::Value;

namespace {

const std::string k_alice = "alice@example.com";

// A fresh repository in a temporary folder, removed afterwards.
class OverridesRepo {
public:
  OverridesRepo()
      : m_dir(make_dir()), m_repo(git::Repository::init(m_dir.string(), true, "dev")),
        m_config(core::default_config({"dev", "test", "production"}, k_alice)) {}
  OverridesRepo(const OverridesRepo&) = delete;
  OverridesRepo& operator=(const OverridesRepo&) = delete;
  ~OverridesRepo() {
    std::error_code ec;
    std::filesystem::remove_all(m_dir, ec);
  }

  git::Repository& repo() { return m_repo; }
  const core::PipelineConfig& config() const { return m_config; }

  // A commit holding `files` (path -> text).
  std::string commit(const std::map<std::string, std::string>& files,
                     const std::vector<std::string>& parents = {}) {
    std::map<std::string, git::NewFile> entries;
    for (const auto& [path, text] : files) {
      entries[path] = git::NewFile{m_repo.write_blob(text), git::Mode::regular};
    }
    return m_repo.write_commit(m_repo.write_tree(entries), parents, "content\n",
                               git::Person{"Test", "test@example.com"}, 1'700'000'000);
  }

  // Point `ref` at `id`, whatever it was.
  void set_ref(const std::string& ref, const std::string& id) {
    m_repo.update_refs({git::RefUpdate{ref, m_repo.ref_target(ref), id}}, "test");
  }

private:
  static std::filesystem::path make_dir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "envflow-overrides-test.XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    return pattern;
  }

  std::filesystem::path m_dir;
  git::Repository m_repo;
  core::PipelineConfig m_config;
};

std::string variable(const std::string& name, const std::string& type,
                     const std::string& default_yaml) {
  return "kind: Variable\nname: " + name + "\ntype: " + type + "\ndefault: " + default_yaml + "\n";
}

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

// A repository whose dev and test branches hold k_content.
struct Pipeline {
  OverridesRepo repo;
  std::string head;
  Pipeline() {
    head = repo.commit(k_content);
    repo.set_ref("refs/heads/dev", head);
    repo.set_ref("refs/heads/test", head);
    repo.set_ref("refs/heads/production", head);
  }
};

Value integer(std::int64_t n) {
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

std::string refusal(const std::function<void()>& action) {
  try {
    action();
  } catch (const util::Refused& e) {
    return e.what();
  }
  return "(not refused)";
}

} // namespace

TEST_CASE("core::emit_overrides") {
  std::map<std::string, Value> values;
  values["a_string"] = string("help@staging.example.com");
  values["escapes"] = string("quote \" backslash \\ tab \t newline \n bell \x07 del \x7f");
  values["unicode"] =
      string("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 c1 \xC2\x85 bom \xEF\xBB\xBF");
  values["empty"] = string("");
  values["looks_like_number"] = string("12");
  values["looks_like_bool"] = string("true");
  values["count"] = integer(-12);
  Value half;
  half.type = Value::Type::number;
  half.number = 0.5;
  values["half"] = half;
  Value whole;
  whole.type = Value::Type::number;
  whole.number = 3.0;
  values["whole"] = whole;
  Value big;
  big.type = Value::Type::number;
  big.number = 1e300;
  values["big"] = big;
  Value flag;
  flag.type = Value::Type::boolean;
  flag.boolean = true;
  values["flag"] = flag;
  values["nothing"] = Value{};
  Value list;
  list.type = Value::Type::sequence;
  list.items = {integer(1), string("two"), Value{}};
  Value map;
  map.type = Value::Type::mapping;
  map.members.push_back(content::Entry{"z key", {}, list});
  map.members.push_back(content::Entry{"a", {}, integer(1)});
  map.members.push_back(content::Entry{"null", {}, string("x")});
  values["json"] = map;
  values["true"] = string("a reserved key");
  values["odd key: yes"] = integer(1);

  const std::string text = core::emit_overrides("staging", values);

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
    const auto back = core::parse_overrides(text, "overrides.yaml");
    REQUIRE(back.size() == values.size());
    for (const auto& [name, value] : values) {
      INFO(name);
      REQUIRE(back.contains(name));
      const Value& read = back.at(name);
      CHECK(read.type == value.type);
      CHECK(read.to_json() == value.to_json());
      CHECK(core::emit_value(read) == core::emit_value(value));
    }
    SUBCASE("and emitting again gives the same bytes") {
      CHECK(core::emit_overrides("staging", back) == text);
    }
  }

  SUBCASE("no overrides") {
    const std::string empty = core::emit_overrides("test", {});
    CHECK(empty == "# envflow variable overrides for test\nvariables: {}\n");
    CHECK(core::parse_overrides(empty, "overrides.yaml").empty());
  }

  SUBCASE("json values are JSON text") {
    CHECK(nlohmann::json::parse(core::emit_value(map)) == map.to_json());
    CHECK(nlohmann::json::parse(core::emit_value(values["escapes"])) ==
          values["escapes"].to_json());
    CHECK(nlohmann::json::parse(core::emit_value(values["unicode"])) ==
          values["unicode"].to_json());
  }
}

TEST_CASE("core::parse_overrides") {
  CHECK(core::parse_overrides("", "o.yaml").empty());
  CHECK(core::parse_overrides("variables:\n", "o.yaml").empty());
  CHECK(core::parse_overrides("variables:\n  a: 1\n", "o.yaml").at("a").integer == 1);
  CHECK(refusal([] { core::parse_overrides("- a\n", "o.yaml"); }) ==
        "o.yaml:1:1: error: expected a mapping with a 'variables' mapping");
  CHECK(refusal([] {
          core::parse_overrides("variables: [a]\n", "o.yaml");
        }).find("o.yaml:1:12: error: 'variables' must be a mapping") == 0);
  CHECK(refusal([] {
          core::parse_overrides("variables: {a: 1, a: 2}\n", "o.yaml");
        }).find("yaml-duplicate-key") != std::string::npos);
}

TEST_CASE("core::set_override") {
  Pipeline p;
  auto& repo = p.repo.repo();
  const auto& config = p.repo.config();
  const std::string ref = "refs/envflow/local/test";

  SUBCASE("a typed value is stored, audited, and other local files are kept") {
    const std::string local = p.repo.commit({{"guardrails/pii.yaml", "kind: Guardrail\n"}});
    p.repo.set_ref(ref, local);
    const auto change = core::set_override(repo, config, "test", "max_turns", "12", k_alice);
    CHECK(change.changed);
    CHECK(change.old_commit == local);
    REQUIRE(repo.ref_target(ref) == change.new_commit);
    const auto info = repo.commit(change.new_commit);
    CHECK(info.parents == std::vector<std::string>{local});
    CHECK(repo.read_path(change.new_commit, "guardrails/pii.yaml").has_value());
    const auto text = repo.read_path(change.new_commit, "overrides.yaml");
    REQUIRE(text);
    CHECK(*text == "# envflow variable overrides for test\nvariables:\n  max_turns: 12\n");

    const auto records = core::read_audit(repo);
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

    const auto overrides = core::read_overrides(repo, "test");
    CHECK(overrides.commit == change.new_commit);
    CHECK(overrides.values.at("max_turns").type == Value::Type::integer);

    SUBCASE("the same value again changes nothing") {
      const auto again = core::set_override(repo, config, "test", "max_turns", "12", k_alice);
      CHECK_FALSE(again.changed);
      CHECK(repo.ref_target(ref) == change.new_commit);
      CHECK(core::read_audit(repo).size() == records.size());
    }
    SUBCASE("unset removes it, in a new commit") {
      const auto unset = core::unset_override(repo, config, "test", "max_turns", k_alice);
      CHECK(unset.changed);
      CHECK(repo.ref_target(ref) == unset.new_commit);
      CHECK(core::read_overrides(repo, "test").values.empty());
      CHECK(core::read_audit(repo).back().op == "var-unset");
      CHECK(core::read_audit(repo).back().note == "max_turns");
      CHECK(repo.read_path(unset.new_commit, "guardrails/pii.yaml").has_value());
      const auto twice = core::unset_override(repo, config, "test", "max_turns", k_alice);
      CHECK_FALSE(twice.changed);
    }
  }

  SUBCASE("the first local commit has no parent") {
    const auto change =
        core::set_override(repo, config, "test", "support_email", "help@test.example.com", k_alice);
    CHECK(repo.commit(change.new_commit).parents.empty());
    CHECK(core::read_overrides(repo, "test").values.at("support_email").string ==
          "help@test.example.com");
  }

  SUBCASE("refusals change nothing") {
    CHECK(refusal([&] { core::set_override(repo, config, "test", "max_turns", "many", k_alice); })
              .find("invalid value for max_turns (type number, variables/max_turns.yaml): "
                    "expected a number") == 0);
    CHECK(refusal([&] {
            core::set_override(repo, config, "test", "tier", "gold", k_alice);
          }).find("expected one of 'free', 'pro'") != std::string::npos);
    CHECK(refusal([&] { core::set_override(repo, config, "test", "colour", "red", k_alice); })
              .find("unknown variable 'colour': test (" + p.head.substr(0, 7) +
                    ") declares max_turns, support_email, tier") == 0);
    CHECK(refusal([&] { core::set_override(repo, config, "dev", "max_turns", "5", k_alice); }) ==
          "dev is the first environment and takes no overrides: change the default in "
          "variables/max_turns.yaml on dev instead");
    CHECK(refusal([&] {
            core::set_override(repo, config, "test", "max_turns", "5", "mallory@example.com");
          }).find("mallory@example.com may not change the local data of test") == 0);
    CHECK(refusal([&] {
            core::unset_override(repo, config, "test", "max_turns", "mallory@example.com");
          }).find("mallory@example.com may not change") == 0);
    CHECK(refusal([&] {
            core::unset_override(repo, config, "test", "colour", k_alice);
          }).find("unknown variable 'colour'") == 0);
    CHECK_THROWS_AS(core::set_override(repo, config, "qa", "max_turns", "5", k_alice),
                    util::UsageError);
    CHECK_FALSE(repo.ref_target(ref).has_value());
    CHECK(core::read_audit(repo).empty());
  }

  SUBCASE("a set after another writer moved the local ref builds on its commit") {
    // Simulate a concurrent writer by moving the ref between read and write:
    // write_overrides compares against what read_overrides returned.
    const auto first = core::set_override(repo, config, "test", "max_turns", "7", k_alice);
    const auto overrides = core::read_overrides(repo, "test");
    CHECK(overrides.commit == first.new_commit);
    const std::string other =
        p.repo.commit({{"overrides.yaml", "variables: {max_turns: 9}\n"}}, {first.new_commit});
    p.repo.set_ref(ref, other);
    const auto second = core::set_override(repo, config, "test", "max_turns", "8", k_alice);
    CHECK(repo.commit(second.new_commit).parents == std::vector<std::string>{other});
    CHECK(second.before->integer == 9);
  }
}

TEST_CASE("core::effective_variables") {
  Pipeline p;
  auto& repo = p.repo.repo();
  const auto& config = p.repo.config();
  core::set_override(repo, config, "test", "max_turns", "12", k_alice);
  // An override of a variable the content no longer declares.
  const auto local = *repo.ref_target("refs/envflow/local/test");
  p.repo.set_ref(
      "refs/envflow/local/test",
      p.repo.commit({{"overrides.yaml", "variables:\n  max_turns: 12\n  gone: 1\n"}}, {local}));

  const auto result = core::effective_variables(repo, config, "test");
  CHECK(result.commit == p.head);
  REQUIRE(result.variables.size() == 4);
  CHECK(result.variables[0].name == "gone");
  CHECK(result.variables[0].source == core::ValueSource::undeclared);
  CHECK_FALSE(result.variables[0].problem.empty());
  CHECK(result.variables[1].name == "max_turns");
  CHECK(result.variables[1].source == core::ValueSource::override_value);
  CHECK(result.variables[1].effective->integer == 12);
  CHECK(result.variables[1].default_value->integer == 4);
  CHECK(result.variables[2].name == "support_email");
  CHECK(result.variables[2].source == core::ValueSource::default_value);
  CHECK(result.variables[2].effective->string == "help@example.com");
  CHECK(core::source_name(result.variables[3].source) == "default");
}

TEST_CASE("core::incompatible_overrides") {
  Pipeline p;
  auto& repo = p.repo.repo();
  const auto& config = p.repo.config();
  core::set_override(repo, config, "test", "max_turns", "12", k_alice);
  core::set_override(repo, config, "test", "support_email", "ops@example.com", k_alice);
  core::set_override(repo, config, "test", "tier", "pro", k_alice);

  SUBCASE("unchanged content is fine") {
    CHECK(core::incompatible_overrides(repo, config, "test", p.head).empty());
  }

  SUBCASE("removed and retyped variables are named") {
    auto files = k_content;
    files.erase("variables/support_email.yaml");
    files["variables/max_turns.yaml"] = variable("max_turns", "string", "four");
    files["variables/tier.yaml"] =
        "kind: Variable\nname: tier\ntype: enum\nvalues: [free, team]\ndefault: free\n";
    const std::string incoming = p.repo.commit(files, {p.head});
    const auto problems = core::incompatible_overrides(repo, config, "test", incoming);
    REQUIRE(problems.size() == 3);
    CHECK(problems[0] == "max_turns: type changed from number to string: value 12 is not a string");
    CHECK(problems[1] == "support_email: variable removed");
    CHECK(problems[2].find("tier: value \"pro\" no longer fits variables/tier.yaml: expected one "
                           "of 'free', 'team'") == 0);
  }

  SUBCASE("a type change the value still fits is compatible") {
    auto files = k_content;
    files["variables/max_turns.yaml"] = variable("max_turns", "json", "4");
    const std::string incoming = p.repo.commit(files, {p.head});
    CHECK(core::incompatible_overrides(repo, config, "test", incoming).empty());
  }

  SUBCASE("an environment without overrides has nothing to break") {
    CHECK(core::incompatible_overrides(repo, config, "production", p.repo.commit({})).empty());
  }
}

TEST_CASE("core::render_bundle") {
  Pipeline p;
  auto& repo = p.repo.repo();
  const auto& config = p.repo.config();
  core::set_override(repo, config, "test", "max_turns", "12", k_alice);

  const auto bundle = core::render_bundle(repo, config, "test");
  CHECK(bundle["environment"] == "test");
  CHECK(bundle["branch"] == "test");
  CHECK(bundle["commit"] == p.head);
  CHECK(bundle["release"].is_null());
  CHECK(bundle["local_ref"] == *repo.ref_target("refs/envflow/local/test"));
  CHECK(bundle["workspace"]["name"] == "ws");
  CHECK(bundle["items"]["integrations"]["crm"]["auth"]["secret"] == "${secrets.CRM_TOKEN}");
  CHECK(bundle["items"]["agents"] == nlohmann::json::object());
  CHECK(bundle["documents"]["knowledge/faq/returns.md"] == "# Returns\n\nThirty days.\n");
  CHECK(bundle["variables"]["max_turns"] ==
        nlohmann::json{{"type", "number"}, {"value", 12}, {"source", "override"}});
  CHECK(bundle["variables"]["tier"] ==
        nlohmann::json{{"type", "enum"}, {"value", "free"}, {"source", "default"}});
  CHECK(core::bundle_text(bundle) == core::bundle_text(core::render_bundle(repo, config, "test")));

  const auto production = core::render_bundle(repo, config, "production");
  CHECK(production["local_ref"].is_null());
  CHECK(production["variables"]["max_turns"]["source"] == "default");

  SUBCASE("a release tag on the head is named") {
    p.repo.set_ref("refs/tags/v1.2.0", p.head);
    p.repo.set_ref("refs/tags/v1.10.0", p.head);
    CHECK(core::render_bundle(repo, config, "production")["release"] == "v1.10.0");
    p.repo.set_ref("refs/envflow/live", p.head); // lightweight tags: both match; first by name
    CHECK(core::render_bundle(repo, config, "production")["release"] == "v1.10.0");
  }
}

TEST_CASE("core::check_bundles") {
  const std::string a(40, 'a');
  const std::string b(40, 'b');
  const auto bundle = [](const std::string& env, const std::string& commit) {
    return nlohmann::json{{"environment", env}, {"commit", commit}}.dump();
  };
  SUBCASE("agreeing bundles") {
    const auto check = core::check_bundles(
        {{"backend.json", bundle("production", a)}, {"frontend.json", bundle("production", a)}});
    CHECK(check.ok);
    CHECK(check.environment == "production");
    CHECK(check.differences.empty());
  }
  SUBCASE("the odd one out is named, against the majority") {
    const auto check = core::check_bundles({{"frontend.json", bundle("test", b)},
                                            {"backend.json", bundle("production", a)},
                                            {"worker.json", bundle("production", a)}});
    CHECK_FALSE(check.ok);
    REQUIRE(check.differences.size() == 1);
    CHECK(check.differences[0] ==
          "frontend.json: environment test, commit bbbbbbb; expected production, commit aaaaaaa "
          "(from backend.json)");
  }
  SUBCASE("not a bundle") {
    const auto check =
        core::check_bundles({{"backend.json", bundle("production", a)}, {"notes.txt", "hello"}});
    CHECK_FALSE(check.ok);
    REQUIRE(check.differences.size() == 1);
    CHECK(check.differences[0].find("notes.txt: not JSON") == 0);
  }
}
