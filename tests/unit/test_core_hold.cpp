// Holds (core/hold.h): the hold commit's message, refs of their own with the
// newest in force, set and released through a session.

#include "core/policy/config.h"
#include "core/records/hold.h"
#include "core/pipeline/session.h"
#include "git/repo.h"
#include "util/error.h"

#include "support.h"
#include "sync_fixture.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace envflow;
using namespace envflow::test;

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
  SyncPipeline p;
  core::pipeline::Session s = p.session();
  SUBCASE("none") {
    CHECK_FALSE(core::records::hold_on(s.pipeline(), "production"));
    CHECK(core::records::holds_in_force(s.pipeline()).empty());
  }
  SUBCASE("a hold holds its environment, and only that one") {
    const auto h = p.hold("production", core::records::Hold::Kind::rollback, "live v1.1.0 -> v1.0.0");
    const auto found = core::records::hold_on(s.pipeline(), "production");
    REQUIRE(found);
    CHECK(found->id == h.id);
    CHECK(found->kind == core::records::Hold::Kind::rollback);
    CHECK(found->reason == "live v1.1.0 -> v1.0.0");
    CHECK_FALSE(core::records::hold_on(s.pipeline(), "staging"));
  }
  SUBCASE("the newest is shown; releasing it puts the older one in force again") {
    const auto older = p.hold("production", core::records::Hold::Kind::manual, "incident freeze", k_time);
    const auto newer = p.hold("production", core::records::Hold::Kind::rollback, "rollback", k_time + 60);
    CHECK(core::records::hold_on(s.pipeline(), "production")->id == newer.id);
    CHECK(core::records::holds_on(s.pipeline(), "production").size() == 2);
    p.repo().update_refs({{core::model::hold_ref("production", newer.id), newer.id, std::nullopt}}, "t");
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
  SyncPipeline p;
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
