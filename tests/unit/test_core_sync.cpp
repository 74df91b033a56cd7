// Promotion through a session (core/pipeline/sync.h): plan_sync / apply_sync,
// approve, sync --auto (walk order, where it stops and why, dry runs), and
// the holds it honours (core/records/hold.h: refs of their own, the newest in force).

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/admin/init.h"
#include "core/model/audit.h"
#include "core/model/view.h"
#include "core/pipeline/session.h"
#include "core/pipeline/sync.h"
#include "core/policy/config.h"
#include "core/records/approvals.h"
#include "core/records/hold.h"
#include "git/repo.h"
#include "support.h"
#include "util/error.h"

using namespace envflow;
using Reason = core::pipeline::AutoStop::Reason;
using Result = core::pipeline::AutoStep::Result;

namespace {

const std::string k_alice = "alice@example.com";
const std::string k_bob = "bob@example.com";
const std::string k_carol = "carol@example.com";
constexpr std::int64_t k_time = 1'767'225'600; // 2026-01-01T00:00:00Z

// `envflow init` (five environments, alice in every group) in a temporary
// folder. The policy is kept in memory; each session() writes it to
// refs/envflow/config first when a test changed it (an audited config change).
class Pipeline {
public:
  Pipeline() {
    core::admin::InitOptions options;
    options.dir = m_dir.path().string();
    options.actor = k_alice;
    m_base = core::admin::init_repository(options).commit;
    m_repo.emplace(git::Repository::open(m_dir.path().string()));
    m_config = *core::policy::load_config(*m_repo);
    m_written = core::policy::render_config(m_config);
  }

  git::Repository& repo() { return *m_repo; }
  core::policy::PipelineConfig& config() { return m_config; }
  core::policy::Environment& env(const std::string& name) {
    return m_config.environments[static_cast<size_t>(m_config.index_of(name))];
  }
  void set_auto(const std::vector<std::string>& names) {
    for (const auto& name : names) {
      env(name).auto_promote = true;
    }
  }

  // A session on this repository (its own authority) acting as `actor`.
  core::pipeline::Session session(const std::string& actor = k_alice) {
    const std::string text = core::policy::render_config(m_config);
    if (text != m_written) {
      const auto old = m_repo->ref_target(core::model::k_config_ref);
      const std::string commit = m_repo->write_commit(
          m_repo->write_tree({{core::model::k_config_file,
                               git::NewFile{m_repo->write_blob(text), git::Mode::regular}}}),
          {*old}, "config\n", git::Person{"Test", k_alice}, k_time);
      core::model::AuditRecord record;
      record.op = "config";
      record.actor = k_alice;
      record.time = k_time;
      core::model::commit_with_audit(*m_repo, {{core::model::k_config_ref, old, commit}}, record);
      m_written = text;
    }
    return core::pipeline::Session::local(git::Repository::open(m_dir.path().string()), actor);
  }

  std::string head(const std::string& env) {
    return m_repo->ref_target("refs/heads/" + env).value_or("none");
  }

  // A developer's commit on dev (valid content: the starter tree), by plain git.
  std::string commit_dev(const std::string& summary) {
    const std::string parent = head("dev");
    const std::string id = m_repo->write_commit(m_repo->tree_of(m_base), {parent}, summary + "\n",
                                                git::Person{"Dev", k_alice}, k_time);
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
                                                git::Person{"Dev", k_alice}, k_time);
    m_repo->update_refs({{"refs/heads/dev", parent, id}}, "commit");
    return id;
  }

  // A hold on `env` put there by hand (audited), as a rollback or `hold set` leaves it.
  core::records::Hold hold(const std::string& env, core::records::Hold::Kind kind,
                           const std::string& reason, std::int64_t time = k_time) {
    core::records::Hold h;
    h.env = env;
    h.kind = kind;
    h.actor = k_alice;
    h.time = time;
    h.reason = reason;
    const git::RefUpdate update = core::records::stage_hold(*m_repo, h);
    core::model::AuditRecord record;
    record.op = "hold";
    record.actor = k_alice;
    record.time = k_time;
    core::model::commit_with_audit(*m_repo, {update}, record);
    return h;
  }

  size_t records(const std::string& op) {
    const auto trail = core::model::read_audit(*m_repo);
    return static_cast<size_t>(std::count_if(trail.begin(), trail.end(),
                                             [&](const auto& r) { return r.op == op; }));
  }

  // The result's plans point into the session's policy: the session stays
  // alive until the next run (as the CLI keeps it while it prints).
  core::pipeline::AutoResult run(const std::string& actor = k_alice,
                                 core::pipeline::DryRun dry = core::pipeline::DryRun::no) {
    m_last.reset();
    m_last.emplace(session(actor));
    return core::pipeline::auto_sync(*m_last, dry);
  }

private:
  test::TempDir m_dir;
  std::string m_base;
  std::optional<git::Repository> m_repo;
  core::policy::PipelineConfig m_config;
  std::string m_written;
  std::optional<core::pipeline::Session> m_last;
};

// "test:promoted uat:in_sync ..." for compact checks of the walk.
std::string walk(const core::pipeline::AutoResult& result) {
  std::string text;
  for (const auto& step : result.steps) {
    text += step.plan.target->name + (step.result == Result::promoted ? ":promoted " : ":in_sync ");
  }
  if (result.stop) {
    text += result.stop->env + ":" + result.stop->reason_name();
  }
  return text;
}

std::string short_id(const std::string& id) { return id.substr(0, 7); }

} // namespace

TEST_CASE("core::records::approvals_text") {
  CHECK(core::records::approvals_text(1, 2) == "1 approval of 2 needed");
  CHECK(core::records::approvals_text(0, 1) == "0 approvals of 1 needed");
  CHECK(core::records::approvals_text(2, 1) == "2 approvals of 1 needed");
  CHECK(core::records::approvals_text(1, 0) == "1 approval, none needed");
  CHECK(core::records::approvals_text(0, 0) == "0 approvals, none needed");
}

TEST_CASE("core::records::Hold: the hold commit's message") {
  core::records::Hold hold;
  hold.env = "production";
  hold.kind = core::records::Hold::Kind::rollback;
  hold.actor = "dana";
  hold.time = k_time;
  hold.reason = "live v1.1.0 -> v1.0.0";
  hold.commit = std::string(40, 'c');
  const std::string message = hold.to_message();
  const auto back = core::records::Hold::parse(message);
  REQUIRE(back);
  CHECK(back->env == "production");
  CHECK(back->kind == core::records::Hold::Kind::rollback);
  CHECK(back->actor == "dana");
  CHECK(back->time == k_time);
  CHECK(back->reason == hold.reason);
  CHECK(back->commit == hold.commit);
  CHECK(hold.describe() == "rollback by dana at 2026-01-01T00:00:00Z: live v1.1.0 -> v1.0.0");
  hold.kind = core::records::Hold::Kind::manual;
  CHECK(hold.kind_name() == "manual");
  CHECK(hold.describe() == "held by dana at 2026-01-01T00:00:00Z: live v1.1.0 -> v1.0.0");

  SUBCASE("a reason cannot add a field") {
    hold.reason = "x\nactor: mallory";
    const auto parsed = core::records::Hold::parse(hold.to_message());
    REQUIRE(parsed);
    CHECK(parsed->actor == "dana");
    CHECK(parsed->reason == "x actor: mallory");
  }
  SUBCASE("messages envflow does not write") {
    CHECK_FALSE(core::records::Hold::parse(""));
    CHECK_FALSE(core::records::Hold::parse("envflow hold production\n\nenv: production\n"));
    CHECK_FALSE(core::records::Hold::parse(message + "extra: 1\n"));
    CHECK_FALSE(core::records::Hold::parse(message + "\n\n"));
    std::string long_reason = message;
    long_reason.insert(long_reason.find("reason: ") + 8,
                       std::string(core::records::k_max_hold_message, 'x'));
    CHECK_FALSE(core::records::Hold::parse(long_reason));
  }
}

TEST_CASE("core::records::hold_on: holds are refs, the newest in force") {
  Pipeline p;
  core::pipeline::Session s = p.session();
  SUBCASE("none") {
    CHECK_FALSE(core::records::hold_on(s.pipeline(), "production"));
    CHECK(core::records::holds_in_force(s.pipeline()).empty());
  }
  SUBCASE("a hold holds its environment, and only that one") {
    const auto h =
        p.hold("production", core::records::Hold::Kind::rollback, "live v1.1.0 -> v1.0.0");
    const auto found = core::records::hold_on(s.pipeline(), "production");
    REQUIRE(found);
    CHECK(found->id == h.id);
    CHECK(found->kind == core::records::Hold::Kind::rollback);
    CHECK(found->reason == "live v1.1.0 -> v1.0.0");
    CHECK_FALSE(core::records::hold_on(s.pipeline(), "staging"));
  }
  SUBCASE("the newest is shown; releasing it puts the older one in force again") {
    const auto older =
        p.hold("production", core::records::Hold::Kind::manual, "incident freeze", k_time);
    const auto newer =
        p.hold("production", core::records::Hold::Kind::rollback, "rollback", k_time + 60);
    CHECK(core::records::hold_on(s.pipeline(), "production")->id == newer.id);
    CHECK(core::records::holds_on(s.pipeline(), "production").size() == 2);
    p.repo().update_refs({{core::model::hold_ref("production", newer.id), newer.id, std::nullopt}},
                         "t");
    CHECK(core::records::hold_on(s.pipeline(), "production")->id == older.id);
  }
  SUBCASE("refs that are not holds envflow wrote are ignored") {
    const auto h = p.hold("uat", core::records::Hold::Kind::manual, "freeze");
    // Its commit under another environment's name, and under a name that is not its id.
    p.repo().update_refs({{core::model::hold_ref("staging", h.id), std::nullopt, h.id}}, "t");
    const std::string other(40, 'e');
    p.repo().update_refs({{core::model::hold_ref("staging", other), std::nullopt, h.id}}, "t");
    CHECK_FALSE(core::records::hold_on(s.pipeline(), "staging"));
    // A commit that is not a hold.
    const std::string dev = p.head("dev");
    p.repo().update_refs({{core::model::hold_ref("test", dev), std::nullopt, dev}}, "t");
    CHECK_FALSE(core::records::hold_on(s.pipeline(), "test"));
    CHECK_FALSE(core::records::read_hold(p.repo(), dev));
  }
  SUBCASE("holds_in_force: pipeline order") {
    p.hold("production", core::records::Hold::Kind::rollback, "x");
    p.hold("uat", core::records::Hold::Kind::manual, "y");
    const auto holds = core::records::holds_in_force(s.pipeline());
    REQUIRE(holds.size() == 2);
    CHECK(holds[0].env == "uat");
    CHECK(holds[1].env == "production");
  }
}

TEST_CASE("core::records::set_hold / release_hold") {
  Pipeline p;
  SUBCASE("set, set again (nothing written), release, release again (nothing written)") {
    core::pipeline::Session s = p.session();
    const auto set = core::records::set_hold(s, "uat", "  freeze  ");
    CHECK(set.changed);
    REQUIRE(set.hold);
    CHECK(set.hold->reason == "freeze");
    CHECK(p.repo().ref_target(core::model::hold_ref("uat", set.hold->id)) == set.hold->id);
    CHECK(p.records("hold") == 1);
    CHECK(core::model::read_audit(p.repo()).back().note == "freeze");
    const auto again = core::records::set_hold(s, "uat", "other");
    CHECK_FALSE(again.changed);
    CHECK(again.hold->id == set.hold->id);
    CHECK(p.records("hold") == 1);
    const auto released = core::records::release_hold(s, "uat", "done");
    CHECK(released.changed);
    CHECK_FALSE(p.repo().ref_target(core::model::hold_ref("uat", set.hold->id)));
    const auto trail = core::model::read_audit(p.repo());
    CHECK(trail.back().op == "hold-release");
    CHECK(trail.back().commit == set.hold->id);
    CHECK(trail.back().note.find("(done)") != std::string::npos);
    CHECK_FALSE(core::records::hold_on(s.pipeline(), "uat"));
    CHECK_FALSE(core::records::release_hold(s, "uat", "").changed);
    CHECK(p.records("hold-release") == 1);
  }
  SUBCASE("errors") {
    core::pipeline::Session s = p.session();
    CHECK_THROWS_AS(core::records::set_hold(s, "dev", "x"), util::UsageError);
    CHECK_THROWS_AS(core::records::set_hold(s, "nope", "x"), util::UsageError);
    CHECK_THROWS_AS(core::records::set_hold(s, "uat", " "), util::UsageError);
    core::pipeline::Session mallory = p.session("mallory");
    CHECK_THROWS_AS(core::records::set_hold(mallory, "uat", "x"), util::Forbidden);
    CHECK_THROWS_AS(core::records::release_hold(mallory, "uat", ""), util::Forbidden);
    // A publisher who is not in the promote groups may.
    p.config().groups["publishers"].push_back(k_bob);
    CHECK(core::pipeline::may(p.config(), k_bob, core::pipeline::Right::hold, "uat"));
    CHECK_FALSE(core::pipeline::may(p.config(), "mallory", core::pipeline::Right::hold, "uat"));
    core::pipeline::Session bob = p.session(k_bob);
    CHECK(core::records::set_hold(bob, "uat", "publisher's freeze").changed);
  }
}

TEST_CASE("core::pipeline::plan_sync / apply_sync / approve") {
  Pipeline p;
  const std::string c = p.commit_dev("Tone");
  SUBCASE("a plan moves nothing; applying it moves the target with one record") {
    core::pipeline::Session s = p.session();
    const auto plan = core::pipeline::plan_sync(s, s.pipeline(), {"dev", ""});
    CHECK(plan.target->name == "test");
    CHECK(plan.to == c);
    CHECK_FALSE(plan.noop);
    REQUIRE(plan.commits.size() == 1);
    CHECK(plan.commits[0].summary == "Tone");
    CHECK(plan.judgement.ok());
    CHECK(p.head("test") != c);
    const auto applied = core::pipeline::apply_sync(s, plan);
    CHECK(applied.route == core::pipeline::Route::local);
    CHECK(applied.record.op == "sync");
    CHECK(p.head("test") == c);
    CHECK(p.records("sync") == 1);
    CHECK(core::pipeline::plan_sync(s, s.pipeline(), {"dev", ""}).noop);
  }
  SUBCASE("errors") {
    core::pipeline::Session s = p.session();
    CHECK_THROWS_AS(core::pipeline::plan_sync(s, s.pipeline(), {"production", ""}),
                    util::UsageError);
    CHECK_THROWS_AS(core::pipeline::plan_sync(s, s.pipeline(), {"nope", ""}), util::UsageError);
    CHECK_THROWS_AS(core::pipeline::plan_sync(s, s.pipeline(), {"dev", "no-such-rev"}),
                    util::UsageError);
    CHECK_THROWS_AS(core::pipeline::plan_sync(s, s.pipeline(), {"test", c}), util::Refused);
  }
  SUBCASE("a refused plan says why and applying it throws") {
    core::pipeline::Session s = p.session("mallory");
    const auto plan = core::pipeline::plan_sync(s, s.pipeline(), {"dev", ""});
    REQUIRE_FALSE(plan.judgement.ok());
    CHECK(plan.judgement.refusals[0].gate == core::pipeline::Gate::identity);
    CHECK_THROWS_AS(core::pipeline::apply_sync(s, plan), util::Forbidden);
    CHECK(p.head("test") != c);
  }
  SUBCASE("a lost race names the target") {
    core::pipeline::Session s = p.session();
    const auto plan = core::pipeline::plan_sync(s, s.pipeline(), {"dev", ""});
    const std::string other = p.commit_dev("Other");
    p.repo().update_refs({{"refs/heads/test", p.head("test"), other}}, "meanwhile");
    try {
      core::pipeline::apply_sync(s, plan);
      FAIL("not refused");
    } catch (const util::LostRace& race) {
      CHECK(race.ref() == "refs/heads/test");
      CHECK(std::string(race.what()).find("test moved since this sync began") == 0);
    }
    CHECK(p.head("test") == other);
  }
  SUBCASE("approve: approvers of commits of the previous environment") {
    p.env("test").approvals = 1;
    p.config().groups["release-managers"].push_back(k_bob);
    core::pipeline::Session bob = p.session(k_bob);
    const auto result = core::pipeline::approve(bob, "test", "");
    CHECK(result.commit == c);
    CHECK_FALSE(result.already);
    CHECK(result.approvals == std::vector<std::string>{k_bob});
    CHECK(result.required == 1);
    CHECK(p.repo().ref_target(core::model::approval_ref("test", c, k_bob)) == c);
    CHECK(core::model::read_audit(p.repo()).back().op == "approve");
    CHECK(core::pipeline::approve(bob, "test", c).already);
    CHECK_THROWS_AS(core::pipeline::approve(bob, "dev", ""), util::UsageError);
    // Not a commit of uat's predecessor (test does not have it yet).
    CHECK_THROWS_AS(core::pipeline::approve(bob, "uat", c), util::Refused);
    core::pipeline::Session mallory = p.session("mallory");
    CHECK_THROWS_AS(core::pipeline::approve(mallory, "test", c), util::Forbidden);
    // alice promotes: bob's approval counts.
    core::pipeline::Session alice = p.session();
    const auto plan = core::pipeline::plan_sync(alice, alice.pipeline(), {"dev", ""});
    CHECK(plan.approved());
    CHECK(plan.judgement.ok());
  }
}

TEST_CASE("core::pipeline::auto_sync: walk order and where it stops") {
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
    core::pipeline::Session s = p.session();
    core::pipeline::apply_sync(s, core::pipeline::plan_sync(s, s.pipeline(), {"dev", ""}));
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
    p.session(); // the policy change is written before the audit head is read
    const std::string audit = *p.repo().ref_target(core::model::k_audit_ref);
    p.commit_dev("Tone");
    const auto result = p.run(k_alice, core::pipeline::DryRun::yes);
    CHECK(result.dry_run);
    CHECK(walk(result) == "test:promoted uat:promoted staging:promoted production:not-auto");
    CHECK(p.head("test") == before);
    CHECK(p.head("uat") == before);
    CHECK(*p.repo().ref_target(core::model::k_audit_ref) == audit);
    CHECK(result.stop->waiting_commits == 1);
  }
}

TEST_CASE("core::pipeline::auto_sync: approvals, holds and refusals") {
  Pipeline p;
  p.set_auto({"test", "uat", "staging", "production"});
  SUBCASE("stops at missing approvals and says who must approve; goes on once approved") {
    p.env("uat").approvals = 2;
    p.env("uat").approvers = {"qa"};
    p.config().groups["qa"] = {k_alice, k_bob, k_carol};
    const std::string c = p.commit_dev("Tone");
    const auto result = p.run("ci-bot@example.com");
    CHECK(walk(result) == "test:refused");
    // ci-bot is in no promote group yet: the walk refuses at test.
    REQUIRE(result.stop);
    CHECK(result.stop->reason == Reason::refused);
    CHECK(result.stop->message.find("ci-bot@example.com may not promote into test") == 0);
    p.config().groups["release-managers"].push_back("ci-bot@example.com");
    const auto waiting = p.run("ci-bot@example.com");
    CHECK(walk(waiting) == "test:promoted uat:approvals");
    // Approvals are given for commits of the previous environment: now c is on test.
    core::pipeline::Session bob = p.session(k_bob);
    core::pipeline::approve(bob, "uat", c);
    const auto one = p.run("ci-bot@example.com");
    CHECK(walk(one) == "test:in_sync uat:approvals");
    REQUIRE(one.stop);
    CHECK(one.stop->waiting());
    CHECK(one.stop->approvals_required == 2);
    CHECK(one.stop->approvals == std::vector<std::string>{k_bob});
    CHECK(one.stop->groups == std::vector<std::string>{"qa"});
    CHECK(one.stop->command == "envflow approve uat --rev " + short_id(c));
    CHECK(one.stop->message == "promoting " + short_id(c) +
                                   " into uat needs 2 approvals from qa (not counting "
                                   "ci-bot@example.com); it has 1 approval of 2 needed (" + k_bob +
                                   "); approvers run: envflow approve uat --rev " + short_id(c));
    CHECK(p.head("uat") != c);
    core::pipeline::Session carol = p.session(k_carol);
    core::pipeline::approve(carol, "uat", c);
    const auto after = p.run("ci-bot@example.com");
    CHECK(walk(after) == "test:in_sync uat:promoted staging:promoted production:promoted ");
    CHECK(p.head("production") == c);
  }
  SUBCASE("the actor's own approval does not count") {
    p.env("uat").approvals = 1;
    p.env("uat").approvers = {"release-managers"};
    const std::string c = p.commit_dev("Tone");
    CHECK(walk(p.run()) == "test:promoted uat:approvals");
    core::pipeline::Session alice = p.session();
    core::pipeline::approve(alice, "uat", c);
    const auto result = p.run();
    CHECK(walk(result) == "test:in_sync uat:approvals");
    CHECK(result.stop->message.find("not counting alice@example.com") != std::string::npos);
  }
  SUBCASE("a rollback's hold holds the last environment until it is released") {
    const auto rollback =
        p.hold("production", core::records::Hold::Kind::rollback, "live v1.1.0 -> v1.0.0");
    const std::string c = p.commit_dev("Tone");
    const auto result = p.run();
    CHECK(walk(result) == "test:promoted uat:promoted staging:promoted production:held");
    REQUIRE(result.stop);
    CHECK(result.stop->waiting());
    REQUIRE(result.stop->hold);
    CHECK(result.stop->hold->id == rollback.id);
    CHECK(result.stop->command == "envflow hold release production");
    CHECK(result.stop->message.find("production is held (rollback by alice@example.com at "
                                    "2026-01-01T00:00:00Z: live v1.1.0 -> v1.0.0)") == 0);
    CHECK(p.head("production") != c);
    SUBCASE("a sync by hand goes ahead and reports the hold") {
      core::pipeline::Session s = p.session();
      const core::pipeline::SyncPlan plan =
          core::pipeline::plan_sync(s, s.pipeline(), {"staging", ""});
      REQUIRE(plan.hold);
      CHECK(plan.hold->id == rollback.id);
      CHECK_FALSE(plan.noop);
      CHECK(plan.judgement.ok());
    }
    SUBCASE("released: auto-promotion goes on") {
      core::pipeline::Session s = p.session();
      CHECK(core::records::release_hold(s, "production", "").changed);
      const auto after = p.run();
      CHECK(walk(after) == "test:in_sync uat:in_sync staging:in_sync production:promoted ");
      CHECK(p.head("production") == c);
    }
  }
  SUBCASE("a held environment that is in sync does not stop the walk") {
    p.hold("uat", core::records::Hold::Kind::manual, "freeze");
    const auto result = p.run();
    CHECK(walk(result) == "test:in_sync uat:in_sync staging:in_sync production:in_sync ");
  }
  SUBCASE("invalid content: refused at the first step, nothing moved") {
    const std::string test = p.head("test");
    p.session();
    const std::string audit = *p.repo().ref_target(core::model::k_audit_ref);
    p.commit_dev_invalid();
    const auto result = p.run();
    CHECK(walk(result) == "test:refused");
    CHECK_FALSE(result.stop->waiting());
    CHECK(result.stop->message.find("does not validate") != std::string::npos);
    CHECK(p.head("test") == test);
    CHECK(*p.repo().ref_target(core::model::k_audit_ref) == audit);
  }
}
