// Promotion through a session (core/sync.h): plan_sync / apply_sync,
// approve, sync --auto (walk order, where it stops and why, dry runs, the
// holds it honours). Holds themselves: test_core_hold.cpp.

#include "core/records/approvals.h"
#include "core/model/audit.h"
#include "core/policy/config.h"
#include "core/records/hold.h"
#include "core/admin/init.h"
#include "core/pipeline/session.h"
#include "core/pipeline/sync.h"
#include "core/model/refs.h"
#include "core/model/view.h"
#include "git/repo.h"
#include "util/error.h"

#include "support.h"
#include "sync_fixture.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

using namespace envflow;
using Reason = core::pipeline::AutoStop::Reason;
using Result = core::pipeline::AutoStep::Result;
using namespace envflow::test;

namespace {

// "test:promoted uat:in_sync ..." for compact checks of the walk.
std::string walked(const core::pipeline::AutoResult& result) {
  std::string text;
  for (const auto& step : result.steps) {
    text += step.plan.target->name + (step.result == Result::promoted ? ":promoted " : ":in_sync ");
  }
  if (result.stop) {
    text += result.stop->env + ":" + result.stop->reason_name();
  }
  return text;
}

} // namespace

TEST_CASE("core::records::approvals_text") {
  CHECK(core::records::approvals_text(1, 2) == "1 approval of 2 needed");
  CHECK(core::records::approvals_text(0, 1) == "0 approvals of 1 needed");
  CHECK(core::records::approvals_text(2, 1) == "2 approvals of 1 needed");
  CHECK(core::records::approvals_text(1, 0) == "1 approval, none needed");
  CHECK(core::records::approvals_text(0, 0) == "0 approvals, none needed");
}

TEST_CASE("core::pipeline::plan_sync / apply_sync / approve") {
  SyncPipeline p;
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
    CHECK_THROWS_AS(core::pipeline::plan_sync(s, s.pipeline(), {"production", ""}), util::UsageError);
    CHECK_THROWS_AS(core::pipeline::plan_sync(s, s.pipeline(), {"nope", ""}), util::UsageError);
    CHECK_THROWS_AS(core::pipeline::plan_sync(s, s.pipeline(), {"dev", "no-such-rev"}), util::UsageError);
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
  SyncPipeline p;
  SUBCASE("nothing waiting anywhere: every environment in sync, no stop") {
    p.set_auto({"test", "uat"});
    const auto result = p.run();
    CHECK(walked(result) == "test:in_sync uat:in_sync staging:in_sync production:in_sync ");
    CHECK_FALSE(result.stop);
  }
  SUBCASE("promotes test then uat, stops at staging (not auto)") {
    p.set_auto({"test", "uat"});
    const std::string c = p.commit_dev("Tone");
    const auto result = p.run();
    CHECK(walked(result) == "test:promoted uat:promoted staging:not-auto");
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
      CHECK(walked(again) == "test:in_sync uat:in_sync staging:not-auto");
      CHECK(p.records("sync") == 2);
    }
  }
  SUBCASE("stops at the first non-auto environment with something waiting") {
    p.set_auto({"uat", "staging"});
    p.commit_dev("Tone");
    const auto result = p.run();
    CHECK(walked(result) == "test:not-auto");
    CHECK(p.records("sync") == 0);
  }
  SUBCASE("passes over a non-auto environment that is in sync") {
    p.set_auto({"uat"});
    const std::string c = p.commit_dev("Tone");
    core::pipeline::Session s = p.session();
    core::pipeline::apply_sync(s, core::pipeline::plan_sync(s, s.pipeline(), {"dev", ""}));
    const auto result = p.run();
    CHECK(walked(result) == "test:in_sync uat:promoted staging:not-auto");
    CHECK(p.head("uat") == c);
  }
  SUBCASE("the last environment too, when every one is auto") {
    p.set_auto({"test", "uat", "staging", "production"});
    const std::string c = p.commit_dev("Tone");
    const auto result = p.run();
    CHECK(walked(result) == "test:promoted uat:promoted staging:promoted production:promoted ");
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
    CHECK(walked(result) == "test:promoted uat:promoted staging:promoted production:not-auto");
    CHECK(p.head("test") == before);
    CHECK(p.head("uat") == before);
    CHECK(*p.repo().ref_target(core::model::k_audit_ref) == audit);
    CHECK(result.stop->waiting_commits == 1);
  }
}

TEST_CASE("core::pipeline::auto_sync: approvals, holds and refusals") {
  SyncPipeline p;
  p.set_auto({"test", "uat", "staging", "production"});
  SUBCASE("stops at missing approvals and says who must approve; goes on once approved") {
    p.env("uat").approvals = 2;
    p.env("uat").approvers = {"qa"};
    p.config().groups["qa"] = {k_alice, k_bob, k_carol};
    const std::string c = p.commit_dev("Tone");
    const auto result = p.run("ci-bot@example.com");
    CHECK(walked(result) == "test:refused");
    // ci-bot is in no promote group yet: the walk refuses at test.
    REQUIRE(result.stop);
    CHECK(result.stop->reason == Reason::refused);
    CHECK(result.stop->message.find("ci-bot@example.com may not promote into test") == 0);
    p.config().groups["release-managers"].push_back("ci-bot@example.com");
    const auto waiting = p.run("ci-bot@example.com");
    CHECK(walked(waiting) == "test:promoted uat:approvals");
    // Approvals are given for commits of the previous environment: now c is on test.
    core::pipeline::Session bob = p.session(k_bob);
    core::pipeline::approve(bob, "uat", c);
    const auto one = p.run("ci-bot@example.com");
    CHECK(walked(one) == "test:in_sync uat:approvals");
    REQUIRE(one.stop);
    CHECK(one.stop->waiting());
    CHECK(one.stop->approvals_required == 2);
    CHECK(one.stop->approvals == std::vector<std::string>{k_bob});
    CHECK(one.stop->groups == std::vector<std::string>{"qa"});
    CHECK(one.stop->command == "envflow approve uat --rev " + core::model::short_id(c));
    CHECK(one.stop->message == "promoting " + core::model::short_id(c) +
                                   " into uat needs 2 approvals from qa (not counting "
                                   "ci-bot@example.com); it has 1 approval of 2 needed (" +
                                   k_bob + "); approvers run: envflow approve uat --rev " +
                                   core::model::short_id(c));
    CHECK(p.head("uat") != c);
    core::pipeline::Session carol = p.session(k_carol);
    core::pipeline::approve(carol, "uat", c);
    const auto after = p.run("ci-bot@example.com");
    CHECK(walked(after) == "test:in_sync uat:promoted staging:promoted production:promoted ");
    CHECK(p.head("production") == c);
  }
  SUBCASE("the actor's own approval does not count") {
    p.env("uat").approvals = 1;
    p.env("uat").approvers = {"release-managers"};
    const std::string c = p.commit_dev("Tone");
    CHECK(walked(p.run()) == "test:promoted uat:approvals");
    core::pipeline::Session alice = p.session();
    core::pipeline::approve(alice, "uat", c);
    const auto result = p.run();
    CHECK(walked(result) == "test:in_sync uat:approvals");
    CHECK(result.stop->message.find("not counting alice@example.com") != std::string::npos);
  }
  SUBCASE("a rollback's hold holds the last environment until it is released") {
    const auto rollback =
        p.hold("production", core::records::Hold::Kind::rollback, "live v1.1.0 -> v1.0.0");
    const std::string c = p.commit_dev("Tone");
    const auto result = p.run();
    CHECK(walked(result) == "test:promoted uat:promoted staging:promoted production:held");
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
      const core::pipeline::SyncPlan plan = core::pipeline::plan_sync(s, s.pipeline(), {"staging", ""});
      REQUIRE(plan.hold);
      CHECK(plan.hold->id == rollback.id);
      CHECK_FALSE(plan.noop);
      CHECK(plan.judgement.ok());
    }
    SUBCASE("released: auto-promotion goes on") {
      core::pipeline::Session s = p.session();
      CHECK(core::records::release_hold(s, "production", "").changed);
      const auto after = p.run();
      CHECK(walked(after) == "test:in_sync uat:in_sync staging:in_sync production:promoted ");
      CHECK(p.head("production") == c);
    }
  }
  SUBCASE("a held environment that is in sync does not stop the walk") {
    p.hold("uat", core::records::Hold::Kind::manual, "freeze");
    const auto result = p.run();
    CHECK(walked(result) == "test:in_sync uat:in_sync staging:in_sync production:in_sync ");
  }
  SUBCASE("invalid content: refused at the first step, nothing moved") {
    const std::string test = p.head("test");
    p.session();
    const std::string audit = *p.repo().ref_target(core::model::k_audit_ref);
    p.commit_dev_invalid();
    const auto result = p.run();
    CHECK(walked(result) == "test:refused");
    CHECK_FALSE(result.stop->waiting());
    CHECK(result.stop->message.find("does not validate") != std::string::npos);
    CHECK(p.head("test") == test);
    CHECK(*p.repo().ref_target(core::model::k_audit_ref) == audit);
  }
}
