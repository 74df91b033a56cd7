// Verification checks (core/checks.h): result records, and the rulebook's
// two rules about them: a result ref is well-formed, names its environment
// and commit and never moves; a promotion into an environment with checks
// needs a passing result of each for that commit and bundle.

#include "core/pipeline/checks.h"

#include <nlohmann/json.hpp>
#include "core/pipeline/rules.h"

#include "pipeline_fixture.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace envflow;
using core::pipeline::Gate;
using core::model::RefMove;
using namespace envflow::test;

namespace {

// A pipeline whose test environment has two checks, dev one commit ahead.
struct Checked {
  test::PipelineRepo p;
  std::string next;

  Checked() {
    p.config.environments[1].checks = {core::policy::Check{"lint", {"true"}, 60},
                                       core::policy::Check{"eval", {"true"}, 60}};
    p.write_config();
    next = p.tweak(p.base, "concise");
    p.set_ref("refs/heads/dev", next);
  }

  std::string digest(const std::string& commit) {
    const core::model::OwnRefs own(p.repo());
    const core::model::Pipeline pipeline{p.repo(), own, p.config, nullptr};
    return core::pipeline::bundle_digest(
        core::pipeline::candidate_bundle(pipeline, p.config.environments[1], commit));
  }

  // A result commit as envflow check writes it (not on any ref yet).
  core::pipeline::CheckResult result(const std::string& name, const std::string& commit, int exit_status,
                           const std::string& actor = "bob") {
    core::pipeline::CheckResult r;
    r.env = "test";
    r.commit = commit;
    r.name = name;
    r.command = "true";
    r.exit_status = exit_status;
    r.duration_ms = 5;
    r.bundle_digest = digest(commit);
    r.actor = actor;
    r.time = 1'700'000'000;
    r.output = exit_status == 0 ? "" : "FORBIDDEN found\n";
    const std::string blob = p.repo().write_blob(r.to_yaml());
    const std::string tree = p.repo().write_tree(
        {{core::pipeline::k_check_result_file, git::NewFile{blob, git::Mode::regular}}});
    r.id = p.repo().write_commit(tree, {}, "envflow check\n", {"Test", "test@example.com"},
                                 1'700'000'000);
    return r;
  }

  RefMove record(const core::pipeline::CheckResult& r) {
    return RefMove{core::model::check_ref(r.env, r.commit, r.name), k_zero, r.id};
  }
  void store(const core::pipeline::CheckResult& r) { p.set_ref(core::model::check_ref(r.env, r.commit, r.name), r.id); }
};

} // namespace

TEST_CASE("core::pipeline::CheckResult: result.yaml reads back as written, and nothing else does") {
  core::pipeline::CheckResult r;
  r.env = "test";
  r.commit = std::string(40, 'a');
  r.name = "no-forbidden";
  r.command = "sh -c x";
  r.exit_status = 1;
  r.duration_ms = 12;
  r.bundle_digest = "sha256:" + std::string(64, '0');
  r.actor = "bob";
  r.time = 1'700'000'000;
  r.output = "line \"one\"\n\tü \x01 end";
  const auto back = core::pipeline::CheckResult::parse(r.to_yaml());
  REQUIRE(back);
  CHECK(back->output == r.output);
  CHECK(back->to_yaml() == r.to_yaml());
  CHECK_FALSE(back->passed());
  std::string edited = r.to_yaml();
  edited.replace(edited.find("exit_status: 1"), 14, "exit_status: 0 ");
  CHECK_FALSE(core::pipeline::CheckResult::parse(edited));
  CHECK_FALSE(core::pipeline::CheckResult::parse("env: test\n"));
}

TEST_CASE("core::pipeline::judge: a promotion into an environment with checks") {
  Checked c;
  auto& p = c.p;

  SUBCASE("no results: refused at the checks gate, naming each missing check") {
    const auto j = p.judge({p.branch("test", c.next)}, "bob");
    CHECK_MESSAGE(refused(j, k_test, Gate::checks, "check lint has no result"), refusals(j));
    CHECK(refused(j, k_test, Gate::checks, "check eval has no result"));
    CHECK(refused(j, k_test, Gate::checks, "envflow check test"));
  }
  SUBCASE("a failed check is named, with its output") {
    c.store(c.result("lint", c.next, 0));
    c.store(c.result("eval", c.next, 1));
    const auto j = p.judge({p.branch("test", c.next)}, "bob");
    CHECK_MESSAGE(refused(j, k_test, Gate::checks, "check eval failed on"), refusals(j));
    CHECK(refused(j, k_test, Gate::checks, "FORBIDDEN found"));
    CHECK_FALSE(has(refusals(j), "check lint"));
  }
  SUBCASE("every check passed for that commit: accepted") {
    c.store(c.result("lint", c.next, 0));
    c.store(c.result("eval", c.next, 0));
    const auto j = p.judge({p.branch("test", c.next)}, "bob");
    CHECK_MESSAGE(j.ok(), refusals(j));
  }
  SUBCASE("results of an older commit do not count") {
    c.store(c.result("lint", p.base, 0));
    c.store(c.result("eval", p.base, 0));
    const auto j = p.judge({p.branch("test", c.next)}, "bob");
    CHECK_MESSAGE(refused(j, k_test, Gate::checks, "check lint has no result"), refusals(j));
  }
  SUBCASE("a result for another bundle of the same commit is stale") {
    c.store(c.result("lint", c.next, 0));
    c.store(c.result("eval", c.next, 0));
    p.set_ref(core::model::local_ref("test"), p.local("max_turns: 5\n"));
    const auto j = p.judge({p.branch("test", c.next)}, "bob");
    CHECK_MESSAGE(refused(j, k_test, Gate::checks, "ran on another bundle"), refusals(j));
  }
  SUBCASE("results brought along in the same change count, when well-formed") {
    const auto lint = c.result("lint", c.next, 0);
    const auto eval = c.result("eval", c.next, 0);
    const auto j = p.judge({c.record(lint), c.record(eval), p.branch("test", c.next)}, "bob");
    CHECK_MESSAGE(j.ok(), refusals(j));
  }
  SUBCASE("an environment without checks is not gated") {
    p.config.environments[1].checks.clear();
    CHECK(p.judge({p.branch("test", c.next)}, "bob").ok());
  }
}

TEST_CASE("core::pipeline::judge: check result refs") {
  Checked c;
  auto& p = c.p;
  const auto lint = c.result("lint", c.next, 0);
  const std::string ref = core::model::check_ref("test", c.next, "lint");

  SUBCASE("recorded by a promoter of the environment") {
    const auto j = p.judge({c.record(lint)}, "bob");
    CHECK_MESSAGE(j.ok(), refusals(j));
    CHECK(p.describe({c.record(lint)}, "bob").op == "check");
  }
  SUBCASE("by someone who may not promote into it") {
    CHECK(refused(p.judge({c.record(lint)}, "alice"), ref, Gate::identity,
                  "may not record check results of test"));
  }
  SUBCASE("a result naming someone else") {
    CHECK(refused(p.judge({c.record(lint)}, "carol"), ref, Gate::record,
                  "the result says bob ran it"));
  }
  SUBCASE("a forged result: anything but a result commit") {
    CHECK(refused(p.judge({RefMove{ref, k_zero, c.next}}, "bob"), ref, Gate::record,
                  "must point at a check result envflow writes"));
  }
  SUBCASE("a result recorded under another commit, check or environment") {
    const auto other = c.result("eval", c.next, 0);
    CHECK(refused(p.judge({RefMove{ref, k_zero, other.id}}, "bob"), ref, Gate::record,
                  "but it is recorded as"));
    const std::string older = core::model::check_ref("test", p.base, "lint");
    CHECK(refused(p.judge({RefMove{older, k_zero, lint.id}}, "bob"), older, Gate::record,
                  "but it is recorded as"));
  }
  SUBCASE("a check the policy does not have, on the first or an unknown environment") {
    const std::string unknown = core::model::check_ref("test", c.next, "nope");
    CHECK(refused(p.judge({RefMove{unknown, k_zero, lint.id}}, "bob"), unknown, Gate::record,
                  "no check named 'nope'"));
    const std::string first = core::model::check_ref("dev", c.next, "lint");
    CHECK(refused(p.judge({RefMove{first, k_zero, lint.id}}, "adam"), first, Gate::record,
                  "dev is the first environment"));
  }
  c.store(lint);
  SUBCASE("a result never moves") {
    const auto again = c.result("lint", c.next, 1);
    CHECK(refused(p.judge({RefMove{ref, lint.id, again.id}}, "bob"), ref, Gate::record,
                  "a check result never moves"));
  }
  SUBCASE("removed by a promoter or an admin, not by others") {
    CHECK(p.judge({RefMove{ref, lint.id, k_zero}}, "bob").ok());
    CHECK(p.judge({RefMove{ref, lint.id, k_zero}}, "adam").ok());
    CHECK(refused(p.judge({RefMove{ref, lint.id, k_zero}}, "alice"), ref, Gate::identity));
    CHECK(p.describe({RefMove{ref, lint.id, k_zero}}, "bob").op == "check-clear");
  }
}
