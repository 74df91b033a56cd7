// core::auto_sync (envflow sync --auto) and the holds it honours
// (core/hold.h): walk order, where the walk stops and why, dry runs, and how
// holds are derived from the audit trail.

#include "core/audit.h"
#include "core/config.h"
#include "core/hold.h"
#include "core/init.h"
#include "core/sync.h"
#include "git/repo.h"
#include "util/error.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

using namespace envflow;
using Reason = core::AutoStop::Reason;
using Result = core::AutoStep::Result;

namespace {

const std::string k_alice = "alice@example.com";
const std::string k_bob = "bob@example.com";

// `envflow init` (five environments, alice in every group) in a temporary
// folder, removed afterwards; the config is kept in memory so tests can
// change the policy without writing it.
class Pipeline {
public:
  Pipeline() : m_dir(make_dir()) {
    core::InitOptions options;
    options.dir = m_dir.string();
    options.actor = k_alice;
    m_base = core::init_repository(options).commit;
    m_repo.emplace(git::Repository::open(m_dir.string()));
    m_config = *core::load_config(*m_repo);
  }
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;
  ~Pipeline() {
    m_repo.reset();
    std::error_code ec;
    std::filesystem::remove_all(m_dir, ec);
  }

  git::Repository& repo() { return *m_repo; }
  core::PipelineConfig& config() { return m_config; }
  core::Environment& env(const std::string& name) {
    return m_config.environments[static_cast<size_t>(m_config.index_of(name))];
  }
  void set_auto(const std::vector<std::string>& names) {
    for (const auto& name : names) {
      env(name).auto_promote = true;
    }
  }

  std::string head(const std::string& env) {
    return m_repo->ref_target("refs/heads/" + env).value_or("none");
  }

  // A developer's commit on dev (valid content: the starter tree), by plain git.
  std::string commit_dev(const std::string& summary) {
    const std::string parent = head("dev");
    const std::string id = m_repo->write_commit(m_repo->tree_of(m_base), {parent}, summary + "\n",
                                                git::Person{"Dev", k_alice}, 1'767'225'600);
    m_repo->update_refs({{"refs/heads/dev", parent, id}}, "commit");
    return id;
  }

  // A commit on dev whose tree does not validate.
  std::string commit_dev_invalid() {
    const std::string parent = head("dev");
    std::map<std::string, git::NewFile> tree;
    tree["agents/broken.yaml"] =
        git::NewFile{m_repo->write_blob("kind: Agent\nname: other\n"), git::Mode::regular};
    const std::string id = m_repo->write_commit(m_repo->write_tree(tree), {parent}, "broken\n",
                                                git::Person{"Dev", k_alice}, 1'767'225'600);
    m_repo->update_refs({{"refs/heads/dev", parent, id}}, "commit");
    return id;
  }

  // An audit record without moves (rollback, hold, hold-release, ...).
  std::string record(const std::string& op, const std::string& env,
                     const std::string& commit = "", const std::string& note = "") {
    core::AuditRecord r;
    r.op = op;
    r.env = env;
    r.actor = k_alice;
    r.commit = commit;
    r.note = note;
    r.time = 1'767'225'600;
    core::commit_with_audit(*m_repo, {}, r);
    return *m_repo->ref_target(core::k_audit_ref);
  }

  size_t records(const std::string& op) {
    const auto trail = core::read_audit(*m_repo);
    return static_cast<size_t>(std::count_if(trail.begin(), trail.end(),
                                             [&](const auto& r) { return r.op == op; }));
  }

  core::AutoResult run(const std::string& actor = k_alice, core::DryRun dry = core::DryRun::no) {
    return core::auto_sync(*m_repo, m_config, actor, dry);
  }

private:
  static std::filesystem::path make_dir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "envflow-sync-test.XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    return pattern;
  }

  std::filesystem::path m_dir;
  std::string m_base;
  std::optional<git::Repository> m_repo;
  core::PipelineConfig m_config;
};

// "test:promoted uat:in_sync ..." for compact checks of the walk.
std::string walk(const core::AutoResult& result) {
  std::string text;
  for (const auto& step : result.steps) {
    text += step.plan.target->name + (step.result == Result::promoted ? ":promoted " : ":in_sync ");
  }
  if (result.stop) {
    text += result.stop->env + ":" + result.stop->reason_name();
  }
  return text;
}

core::AuditRecord make_record(const std::string& id, const std::string& op,
                              const std::string& env, const std::string& commit = "",
                              const std::string& note = "") {
  core::AuditRecord r;
  r.id = id;
  r.op = op;
  r.env = env;
  r.actor = k_alice;
  r.commit = commit;
  r.note = note;
  r.time = 1'767'225'600;
  return r;
}

} // namespace

TEST_CASE("core::hold_on: derived from the audit trail") {
  const std::string c(40, 'c');
  SUBCASE("no records: no hold") { CHECK_FALSE(core::hold_on({}, "production")); }
  SUBCASE("a rollback holds its environment, and only that one") {
    const std::vector<core::AuditRecord> trail{
        make_record("r1", "sync", "production", c),
        make_record("r2", "rollback", "production", c, "live v1.1.0 -> v1.0.0")};
    const auto hold = core::hold_on(trail, "production");
    REQUIRE(hold);
    CHECK(hold->kind == core::Hold::Kind::rollback);
    CHECK(hold->record == "r2");
    CHECK(hold->commit == c);
    CHECK(hold->reason == "live v1.1.0 -> v1.0.0");
    CHECK(hold->describe() ==
          "rollback by alice@example.com at 2026-01-01T00:00:00Z: live v1.1.0 -> v1.0.0");
    CHECK_FALSE(core::hold_on(trail, "staging"));
  }
  SUBCASE("a release naming the hold clears it; a newer rollback holds again") {
    std::vector<core::AuditRecord> trail{make_record("r1", "rollback", "production", c),
                                         make_record("r2", "hold-release", "production", "r1")};
    CHECK_FALSE(core::hold_on(trail, "production"));
    trail.push_back(make_record("r3", "rollback", "production", c));
    REQUIRE(core::hold_on(trail, "production"));
    CHECK(core::hold_on(trail, "production")->record == "r3");
  }
  SUBCASE("a release naming an older hold leaves a newer one in force (a race)") {
    const std::vector<core::AuditRecord> trail{
        make_record("r1", "rollback", "production", c),
        make_record("r2", "rollback", "production", c),
        make_record("r3", "hold-release", "production", "r1")};
    REQUIRE(core::hold_on(trail, "production"));
    CHECK(core::hold_on(trail, "production")->record == "r2");
  }
  SUBCASE("releasing a rollback's hold leaves an older manual hold in force") {
    const std::vector<core::AuditRecord> trail{
        make_record("r1", "hold", "production", "", "incident freeze"),
        make_record("r2", "rollback", "production", c),
        make_record("r3", "hold-release", "production", "r2")};
    const auto hold = core::hold_on(trail, "production");
    REQUIRE(hold);
    CHECK(hold->record == "r1");
    CHECK(hold->reason == "incident freeze");
  }
  SUBCASE("a release naming nothing clears whatever is held") {
    const std::vector<core::AuditRecord> trail{make_record("r1", "hold", "uat", "", "audit"),
                                               make_record("r2", "hold-release", "uat")};
    CHECK_FALSE(core::hold_on(trail, "uat"));
  }
  SUBCASE("a manual hold carries its reason, no commit") {
    const std::vector<core::AuditRecord> trail{
        make_record("r1", "hold", "uat", "", "freeze for the audit")};
    const auto hold = core::hold_on(trail, "uat");
    REQUIRE(hold);
    CHECK(hold->kind == core::Hold::Kind::manual);
    CHECK(hold->kind_name() == "manual");
    CHECK(hold->commit.empty());
    CHECK(hold->reason == "freeze for the audit");
  }
  SUBCASE("holds_in_force: pipeline order; unknown environments dropped") {
    core::PipelineConfig config = core::default_config(core::k_default_envs, k_alice);
    const std::vector<core::AuditRecord> trail{make_record("r1", "rollback", "production", c),
                                               make_record("r2", "hold", "gone", "", "x"),
                                               make_record("r3", "hold", "uat", "", "y")};
    const auto holds = core::holds_in_force(trail, config);
    REQUIRE(holds.size() == 2);
    CHECK(holds[0].env == "uat");
    CHECK(holds[1].env == "production");
  }
}

TEST_CASE("core::set_hold / release_hold") {
  Pipeline p;
  SUBCASE("set, set again (no record), release, release again (no record)") {
    const auto set = core::set_hold(p.repo(), p.config(), "uat", "  freeze  ", k_alice);
    CHECK(set.changed);
    REQUIRE(set.hold);
    CHECK(set.hold->reason == "freeze");
    CHECK(p.records("hold") == 1);
    const auto again = core::set_hold(p.repo(), p.config(), "uat", "other", k_alice);
    CHECK_FALSE(again.changed);
    CHECK(p.records("hold") == 1);
    const auto released = core::release_hold(p.repo(), p.config(), "uat", "done", k_alice);
    CHECK(released.changed);
    const auto trail = core::read_audit(p.repo());
    CHECK(trail.back().op == "hold-release");
    CHECK(trail.back().commit == set.hold->record);
    CHECK(trail.back().note.find(": done") != std::string::npos);
    CHECK_FALSE(core::hold_on(trail, "uat"));
    CHECK_FALSE(core::release_hold(p.repo(), p.config(), "uat", "", k_alice).changed);
    CHECK(p.records("hold-release") == 1);
  }
  SUBCASE("errors") {
    CHECK_THROWS_AS(core::set_hold(p.repo(), p.config(), "dev", "x", k_alice), util::UsageError);
    CHECK_THROWS_AS(core::set_hold(p.repo(), p.config(), "nope", "x", k_alice), util::UsageError);
    CHECK_THROWS_AS(core::set_hold(p.repo(), p.config(), "uat", " ", k_alice), util::UsageError);
    CHECK_THROWS_AS(core::release_hold(p.repo(), p.config(), "uat", "", "mallory"),
                    util::Refused);
    // A publisher who is not in the promote groups may.
    p.config().groups["publishers"].push_back(k_bob);
    CHECK(core::may_hold(p.config(), p.env("uat"), k_bob));
    CHECK_FALSE(core::may_hold(p.config(), p.env("uat"), "mallory"));
  }
}

TEST_CASE("core::auto_sync: walk order and where it stops") {
  Pipeline p;
  SUBCASE("nothing waiting anywhere: every environment in sync, no stop") {
    p.set_auto({"test", "uat"});
    const auto result = p.run();
    CHECK(walk(result) == "test:in_sync uat:in_sync staging:in_sync production:in_sync ");
    CHECK_FALSE(result.stop);
  }
  SUBCASE("promotes test then uat, stops at staging (not auto)") {
    p.set_auto({"test", "uat"});
    const std::string c = p.commit_dev("Tone");
    const auto result = p.run();
    CHECK(walk(result) == "test:promoted uat:promoted staging:not-auto");
    CHECK(p.head("test") == c);
    CHECK(p.head("uat") == c);
    CHECK(p.head("staging") != c);
    CHECK(p.records("sync") == 2);
    REQUIRE(result.stop);
    CHECK(result.stop->waiting());
    CHECK(result.stop->source == "uat");
    CHECK(result.stop->commit == c);
    CHECK(result.stop->waiting_commits == 1);
    CHECK(result.stop->command == "envflow sync uat");
    CHECK(result.stop->groups == std::vector<std::string>{"release-managers"});
    CHECK(result.stop->message ==
          "staging is not auto-promoted: 1 commit of uat waits for a person (promote groups: "
          "release-managers) to run envflow sync uat");
    SUBCASE("a second run promotes nothing and stops at the same place") {
      const auto again = p.run();
      CHECK(walk(again) == "test:in_sync uat:in_sync staging:not-auto");
      CHECK(p.records("sync") == 2);
    }
  }
  SUBCASE("stops at the first non-auto environment with something waiting") {
    p.set_auto({"uat", "staging"});
    p.commit_dev("Tone");
    const auto result = p.run();
    CHECK(walk(result) == "test:not-auto");
    CHECK(p.records("sync") == 0);
  }
  SUBCASE("passes over a non-auto environment that is in sync") {
    p.set_auto({"uat"});
    const std::string c = p.commit_dev("Tone");
    core::SyncRequest request;
    request.env = "dev";
    request.actor = k_alice;
    core::apply_sync(p.repo(), core::plan_sync(p.repo(), p.config(), request), k_alice);
    const auto result = p.run();
    CHECK(walk(result) == "test:in_sync uat:promoted staging:not-auto");
    CHECK(p.head("uat") == c);
  }
  SUBCASE("the last environment too, when every one is auto") {
    p.set_auto({"test", "uat", "staging", "production"});
    const std::string c = p.commit_dev("Tone");
    const auto result = p.run();
    CHECK(walk(result) == "test:promoted uat:promoted staging:promoted production:promoted ");
    CHECK_FALSE(result.stop);
    CHECK(p.head("production") == c);
  }
  SUBCASE("dry run: plans every step as if the earlier ones had moved; moves nothing") {
    p.set_auto({"test", "uat", "staging"});
    const std::string before = p.head("test");
    const std::string audit = *p.repo().ref_target(core::k_audit_ref);
    p.commit_dev("Tone");
    const auto result = p.run(k_alice, core::DryRun::yes);
    CHECK(result.dry_run);
    CHECK(walk(result) == "test:promoted uat:promoted staging:promoted production:not-auto");
    CHECK(p.head("test") == before);
    CHECK(p.head("uat") == before);
    CHECK(*p.repo().ref_target(core::k_audit_ref) == audit);
    CHECK(result.stop->waiting_commits == 1);
  }
}

TEST_CASE("core::auto_sync: approvals, holds and refusals") {
  Pipeline p;
  p.set_auto({"test", "uat", "staging", "production"});
  SUBCASE("stops at missing approvals and says who must approve; goes on once approved") {
    p.env("uat").approvals = 2;
    p.env("uat").approvers = {"qa"};
    p.config().groups["qa"] = {k_alice, k_bob, "carol@example.com"};
    const std::string c = p.commit_dev("Tone");
    core::approve(p.repo(), p.config(), "uat", c, k_bob);
    const auto result = p.run("ci-bot@example.com");
    CHECK(walk(result) == "test:refused");
    // ci-bot is in no promote group yet: the walk refuses at test.
    REQUIRE(result.stop);
    CHECK(result.stop->reason == Reason::refused);
    CHECK(result.stop->message.find("ci-bot@example.com may not promote into test") == 0);
    p.config().groups["release-managers"].push_back("ci-bot@example.com");
    const auto waiting = p.run("ci-bot@example.com");
    CHECK(walk(waiting) == "test:promoted uat:approvals");
    REQUIRE(waiting.stop);
    CHECK(waiting.stop->waiting());
    CHECK(waiting.stop->approvals_required == 2);
    CHECK(waiting.stop->approvals == std::vector<std::string>{k_bob});
    CHECK(waiting.stop->groups == std::vector<std::string>{"qa"});
    CHECK(waiting.stop->command == "envflow approve uat --rev " + c.substr(0, 7));
    CHECK(waiting.stop->message == "uat waits for 2 approvals from qa to promote " +
                                       c.substr(0, 7) + " (has 1: " + k_bob +
                                       "); approvers run: envflow approve uat --rev " +
                                       c.substr(0, 7));
    CHECK(p.head("uat") != c);
    core::approve(p.repo(), p.config(), "uat", c, "carol@example.com");
    const auto after = p.run("ci-bot@example.com");
    CHECK(walk(after) == "test:in_sync uat:promoted staging:promoted production:promoted ");
    CHECK(p.head("production") == c);
  }
  SUBCASE("the actor's own approval does not count") {
    p.env("uat").approvals = 1;
    p.env("uat").approvers = {"release-managers"};
    const std::string c = p.commit_dev("Tone");
    core::approve(p.repo(), p.config(), "uat", c, k_alice);
    const auto result = p.run();
    CHECK(walk(result) == "test:promoted uat:approvals");
    CHECK(result.stop->message.find("not counting alice@example.com") != std::string::npos);
  }
  SUBCASE("a rollback holds the last environment until the hold is released") {
    const std::string rollback = p.record("rollback", "production", p.head("production"),
                                          "live v1.1.0 -> v1.0.0");
    const std::string c = p.commit_dev("Tone");
    const auto result = p.run();
    CHECK(walk(result) == "test:promoted uat:promoted staging:promoted production:held");
    REQUIRE(result.stop);
    CHECK(result.stop->waiting());
    REQUIRE(result.stop->hold);
    CHECK(result.stop->hold->record == rollback);
    CHECK(result.stop->command == "envflow hold release production");
    CHECK(result.stop->message.find("production is held (rollback by alice@example.com at "
                                    "2026-01-01T00:00:00Z: live v1.1.0 -> v1.0.0): 1 commit of "
                                    "staging waits") == 0);
    CHECK(p.head("production") != c);
    SUBCASE("a sync by hand goes ahead and reports the hold") {
      core::SyncRequest request;
      request.env = "staging";
      request.actor = k_alice;
      const core::SyncPlan plan = core::plan_sync(p.repo(), p.config(), request);
      REQUIRE(plan.hold);
      CHECK(plan.hold->record == rollback);
      CHECK_FALSE(plan.noop);
    }
    SUBCASE("released: auto-promotion goes on") {
      CHECK(core::release_hold(p.repo(), p.config(), "production", "", k_alice).changed);
      const auto after = p.run();
      CHECK(walk(after) == "test:in_sync uat:in_sync staging:in_sync production:promoted ");
      CHECK(p.head("production") == c);
    }
  }
  SUBCASE("a held environment that is in sync does not stop the walk") {
    p.record("hold", "uat", "", "freeze");
    const auto result = p.run();
    CHECK(walk(result) == "test:in_sync uat:in_sync staging:in_sync production:in_sync ");
  }
  SUBCASE("invalid content: refused at the first step, nothing moved") {
    const std::string test = p.head("test");
    const std::string audit = *p.repo().ref_target(core::k_audit_ref);
    p.commit_dev_invalid();
    const auto result = p.run();
    CHECK(walk(result) == "test:refused");
    CHECK_FALSE(result.stop->waiting());
    CHECK(result.stop->message.find("does not validate") != std::string::npos);
    CHECK(p.head("test") == test);
    CHECK(*p.repo().ref_target(core::k_audit_ref) == audit);
  }
}
