// The rulebook (core/rules.h): judge() as an attacker would try it, one
// table of moves per rule, and describe(): the operation a record names for
// each kind of change, whichever route the moves took.

#include "core/records/approvals.h"
#include "core/pipeline/rules.h"

#include "util/error.h"

#include "pipeline_fixture.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace envflow;
using core::pipeline::Gate;
using core::model::RefMove;
using namespace envflow::test;

namespace {

const std::string k_dev = "refs/heads/dev";
const std::string k_production = "refs/heads/production";

} // namespace

TEST_CASE("core::pipeline::judge: environment branches never move backwards") {
  test::PipelineRepo p;
  const std::string next = p.tweak(p.base, "concise");
  p.set_ref(k_dev, next);

  SUBCASE("a force-push of the first environment") {
    const std::string other = p.tweak(p.base, "friendly");
    const auto j = p.judge({p.branch("dev", other)}, "alice");
    CHECK_MESSAGE(refused(j, k_dev, Gate::fast_forward, "not a fast-forward"), refusals(j));
  }
  SUBCASE("rewinding an environment to an older commit of its predecessor") {
    p.set_ref(k_test, next);
    for (const char* who : {"bob", "adam", "hank"}) {
      const auto j = p.judge({p.branch("test", p.base)}, who);
      CHECK_MESSAGE(refused(j, k_test, Gate::fast_forward, "cannot be fast-forwarded"),
                    refusals(j));
    }
  }
  SUBCASE("rewinding the last environment, even by a hotfixer") {
    p.set_ref(k_test, next);
    p.set_ref(k_production, next);
    const auto j = p.judge({p.branch("production", p.base)}, "hank");
    CHECK_MESSAGE(refused(j, k_production, Gate::fast_forward), refusals(j));
  }
  SUBCASE("deleting an environment branch, even by an admin") {
    const auto j = p.judge({p.branch("production", k_zero)}, "adam");
    CHECK(refused(j, k_production, Gate::fast_forward,
                  "deleting the branch of environment production is not allowed"));
  }
  SUBCASE("a branch pointed at something that is not a commit") {
    const std::string tag = p.release_tag("v1.0.0", p.base);
    const auto j = p.judge({p.branch("dev", tag)}, "alice");
    CHECK(refused(j, k_dev, Gate::fast_forward, "is not a commit"));
  }
  SUBCASE("the same moves listed unchanged are not judged") {
    CHECK(p.judge({RefMove{k_test, p.base, p.base}}, "nobody-at-all").ok());
  }
}

TEST_CASE("core::pipeline::judge: promotion only of what the previous environment holds") {
  test::PipelineRepo p;
  const std::string next = p.tweak(p.base, "concise");

  SUBCASE("a commit that is not on dev") {
    const auto j = p.judge({p.branch("test", next)}, "bob");
    CHECK_MESSAGE(refused(j, k_test, Gate::fast_forward,
                          "is not contained in dev (after this change): test moves only by "
                          "promotion from dev"),
                  refusals(j));
  }
  SUBCASE("bringing it onto dev in the same change takes a writer of dev") {
    const auto j = p.judge({p.branch("dev", next), p.branch("test", next)}, "bob");
    REQUIRE(j.refusals.size() == 1);
    CHECK(refused(j, k_dev, Gate::identity, "bob (REMOTE_USER) may not push to dev"));
  }
  SUBCASE("skipping test: production takes promotions from test or hotfixes by hotfixers") {
    p.set_ref(k_dev, next);
    const auto j = p.judge({p.branch("production", next)}, "bob");
    CHECK(refused(j, k_production, Gate::identity, "is not contained in test"));
    CHECK(refused(j, k_production, Gate::identity, "bob (REMOTE_USER) is not one"));
  }
  SUBCASE("a promoter outside the promote groups") {
    p.set_ref(k_dev, next);
    const auto j = p.judge({p.branch("test", next)}, "alice");
    CHECK(refused(j, k_test, Gate::identity, "alice (REMOTE_USER) may not promote into test"));
  }
  SUBCASE("an unknown pusher is nobody's member") {
    p.set_ref(k_dev, next);
    const auto j = p.judge({p.branch("test", next)}, "");
    CHECK(refused(j, k_test, Gate::identity, "an unknown pusher may not promote into test"));
  }
  SUBCASE("a promotion of several steps in one change") {
    p.set_ref(k_dev, next);
    const auto j = p.judge({p.branch("test", next), p.branch("production", next)}, "bob");
    CHECK_MESSAGE(j.ok(), refusals(j));
  }
}

TEST_CASE("core::pipeline::judge: approvals") {
  test::PipelineRepo p;
  p.config.environments[1].approvals = 1;
  const std::string next = p.tweak(p.base, "concise");
  p.set_ref(k_dev, next);
  const auto approve = [&](const std::string& who, const std::string& commit) {
    p.set_ref(core::model::approval_ref("test", commit, who), commit);
  };

  SUBCASE("none") {
    const auto j = p.judge({p.branch("test", next)}, "bob");
    CHECK_MESSAGE(refused(j, k_test, Gate::approvals,
                          "needs 1 approval from release-managers (not counting bob); it has 0 "
                          "approvals of 1 needed"),
                  refusals(j));
  }
  SUBCASE("the promoter's own approval does not count, under any of their names") {
    approve("bob", next);
    CHECK(refused(p.judge({p.branch("test", next)}, "bob"), k_test, Gate::approvals));
    CHECK(refused(p.judge({p.branch("test", next)}, "bob@example.com"), k_test, Gate::approvals,
                  "not counting bob"));
    approve("bob@example.com", next);
    CHECK(refused(p.judge({p.branch("test", next)}, "bob"), k_test, Gate::approvals));
  }
  SUBCASE("approvals that do not count") {
    approve("alice", next);  // not an approver
    approve("carol", p.base); // another commit
    // A ref naming `next` but pointing elsewhere (planted by hand).
    p.set_ref(core::model::approval_ref("test", next, "carol"), p.base);
    const auto j = p.judge({p.branch("test", next)}, "bob");
    CHECK_MESSAGE(refused(j, k_test, Gate::approvals, "has 0 approvals of 1 needed"), refusals(j));
  }
  SUBCASE("another approver's approval counts") {
    approve("carol", next);
    const auto j = p.judge({p.branch("test", next)}, "bob");
    CHECK_MESSAGE(j.ok(), refusals(j));
  }
  SUBCASE("the promoter cannot bring a forged approval along") {
    const std::string forged = core::model::approval_ref("test", next, "carol");
    const auto j = p.judge({RefMove{forged, k_zero, next}, p.branch("test", next)}, "bob");
    CHECK_MESSAGE(refused(j, forged, Gate::identity, "an approval is given by its author only"),
                  refusals(j));
    CHECK_FALSE(j.ok());
  }
  SUBCASE("nor their own in the same change") {
    const std::string own = core::model::approval_ref("test", next, "bob");
    const auto j = p.judge({RefMove{own, k_zero, next}, p.branch("test", next)}, "bob");
    CHECK(j.refusals.size() == 1);
    CHECK(refused(j, k_test, Gate::approvals));
  }
  SUBCASE("approvals the policy no longer counts (approver left the group)") {
    approve("carol", next);
    p.config.groups["release-managers"] = {"bob"};
    CHECK(refused(p.judge({p.branch("test", next)}, "bob"), k_test, Gate::approvals));
  }
}

TEST_CASE("core::pipeline::judge: approval refs") {
  test::PipelineRepo p;
  const std::string next = p.tweak(p.base, "concise");
  p.set_ref(k_dev, next);
  const std::string carols = core::model::approval_ref("test", next, "carol");

  SUBCASE("an approver approves a commit of the previous environment") {
    const auto j = p.judge({RefMove{carols, k_zero, next}}, "carol");
    CHECK_MESSAGE(j.ok(), refusals(j));
  }
  SUBCASE("in someone else's name") {
    CHECK(refused(p.judge({RefMove{carols, k_zero, next}}, "bob"), carols, Gate::identity,
                  "names carol, and bob (REMOTE_USER) is bob"));
  }
  SUBCASE("by someone who is not an approver") {
    const std::string ref = core::model::approval_ref("test", next, "alice");
    CHECK(refused(p.judge({RefMove{ref, k_zero, next}}, "alice"), ref, Gate::identity,
                  "is not an approver for test"));
  }
  SUBCASE("a commit that is not on the previous environment") {
    const std::string elsewhere = p.tweak(p.base, "friendly");
    const std::string ref = core::model::approval_ref("test", elsewhere, "carol");
    CHECK(refused(p.judge({RefMove{ref, k_zero, elsewhere}}, "carol"), ref, Gate::record,
                  "is not on dev"));
  }
  SUBCASE("pointing at another commit than it names") {
    CHECK(refused(p.judge({RefMove{carols, k_zero, p.base}}, "carol"), carols, Gate::record,
                  "must point at the commit it names"));
  }
  SUBCASE("for the first environment, or one that does not exist") {
    const std::string first = core::model::approval_ref("dev", next, "carol");
    CHECK(refused(p.judge({RefMove{first, k_zero, next}}, "carol"), first, Gate::record,
                  "dev is the first environment"));
    const std::string unknown = core::model::approval_ref("qa", next, "carol");
    CHECK(refused(p.judge({RefMove{unknown, k_zero, next}}, "carol"), unknown, Gate::record,
                  "no environment named 'qa'"));
  }
  p.set_ref(carols, next);
  SUBCASE("deleting someone else's approval") {
    CHECK(refused(p.judge({RefMove{carols, next, k_zero}}, "bob"), carols, Gate::identity,
                  "may not withdraw carol's approval"));
    CHECK(refused(p.judge({RefMove{carols, next, k_zero}}, "alice"), carols, Gate::identity));
  }
  SUBCASE("its author or an admin may withdraw it") {
    CHECK(p.judge({RefMove{carols, next, k_zero}}, "carol").ok());
    CHECK(p.judge({RefMove{carols, next, k_zero}}, "adam").ok());
  }
  SUBCASE("an approval never moves") {
    CHECK(refused(p.judge({RefMove{carols, next, p.base}}, "carol"), carols, Gate::record,
                  "an approval never moves"));
  }
}

TEST_CASE("core::pipeline::judge: holds") {
  test::PipelineRepo p;

  SUBCASE("a promoter of the environment, or a publisher, sets one") {
    const auto bobs = p.hold("test", "bob");
    CHECK_MESSAGE(p.judge({p.set_hold(bobs)}, "bob").ok(), refusals(p.judge({p.set_hold(bobs)}, "bob")));
    const auto pauls = p.hold("production", "paul");
    CHECK(p.judge({p.set_hold(pauls)}, "paul").ok());
  }
  SUBCASE("a developer may not set one") {
    const auto h = p.hold("test", "alice");
    const auto move = p.set_hold(h);
    CHECK(refused(p.judge({move}, "alice"), move.ref, Gate::identity,
                  "alice (REMOTE_USER) may not hold test"));
  }
  SUBCASE("a developer may not release one") {
    const auto h = p.hold("test", "bob");
    const auto move = p.set_hold(h);
    p.set_ref(move.ref, h.id);
    const RefMove release{move.ref, h.id, k_zero};
    CHECK(refused(p.judge({release}, "alice"), move.ref, Gate::identity,
                  "may not release a hold on test"));
    CHECK(p.judge({release}, "carol").ok());
    CHECK(p.judge({release}, "paul").ok());
  }
  SUBCASE("an unknown pusher is nobody, even where a group \"*\" admits everyone") {
    p.config.environments[1].promote = {"*"};
    const auto h = p.hold("test", "bob");
    const auto move = p.set_hold(h);
    p.set_ref(move.ref, h.id);
    const RefMove release{move.ref, h.id, k_zero};
    CHECK(p.judge({release}, "bob").ok());
    // As everywhere else in the rulebook (an unknown pusher may not promote
    // into an environment whose promote groups are "*" either).
    const auto j = p.judge({release}, "");
    CHECK_MESSAGE(refused(j, move.ref, Gate::identity), "an unknown pusher released a hold");
  }
  SUBCASE("a hold in someone else's name, or for another environment") {
    const auto carols = p.hold("test", "carol");
    const auto move = p.set_hold(carols);
    CHECK(refused(p.judge({move}, "bob"), move.ref, Gate::record,
                  "the hold says it is on test by carol"));
    const std::string elsewhere = core::model::hold_ref("production", carols.id);
    CHECK(refused(p.judge({RefMove{elsewhere, k_zero, carols.id}}, "carol"), elsewhere,
                  Gate::record, "but it is pushed to production"));
  }
  SUBCASE("not a hold commit, or not the one the ref names") {
    const std::string fake = core::model::hold_ref("test", p.base);
    CHECK(refused(p.judge({RefMove{fake, k_zero, p.base}}, "bob"), fake, Gate::record,
                  "is not a hold envflow writes"));
    const auto h = p.hold("test", "bob");
    const std::string other = core::model::hold_ref("test", p.base);
    CHECK(refused(p.judge({RefMove{other, k_zero, h.id}}, "bob"), other, Gate::record,
                  "must point at the hold commit it names"));
  }
  SUBCASE("without a reason") {
    const auto h = p.hold("test", "bob", "");
    CHECK(refused(p.judge({p.set_hold(h)}, "bob"), core::model::hold_ref("test", h.id), Gate::record,
                  "a hold needs a reason"));
  }
  SUBCASE("on the first environment") {
    const auto h = p.hold("dev", "alice");
    CHECK(refused(p.judge({p.set_hold(h)}, "alice"), core::model::hold_ref("dev", h.id), Gate::record,
                  "nothing to hold"));
  }
  SUBCASE("a hold stops an automatic promotion, not a person") {
    const std::string next = p.tweak(p.base, "concise");
    p.set_ref(k_dev, next);
    const auto h = p.hold("test", "carol");
    p.set_ref(core::model::hold_ref("test", h.id), h.id);
    CHECK(refused(p.judge({p.branch("test", next)}, "bob", core::pipeline::Automatic::yes), k_test,
                  Gate::hold, "test is held (held by carol at"));
    CHECK(p.judge({p.branch("test", next)}, "bob").ok());
    // Releasing it in the same change lets the automatic promotion through.
    CHECK(p.judge({RefMove{core::model::hold_ref("test", h.id), h.id, k_zero}, p.branch("test", next)},
                  "bob", core::pipeline::Automatic::yes)
              .ok());
  }
}

TEST_CASE("core::pipeline::judge: envflow's own records") {
  test::PipelineRepo p;
  const std::string record =
      p.repo().write_commit(std::string(git::k_empty_tree_id), {}, "op: sync\n",
                            git::Person{"x", "x@y"}, 1);
  for (const char* who : {"alice", "adam"}) {
    CAPTURE(who);
    CHECK(refused(p.judge({RefMove{core::model::k_audit_ref, k_zero, record}}, who), core::model::k_audit_ref,
                  Gate::record, "written by the server itself"));
    CHECK(refused(p.judge({RefMove{core::model::k_pending_ref, k_zero, record}}, who),
                  core::model::k_pending_ref, Gate::record, "never goes to the server"));
  }
  SUBCASE("other refs under refs/envflow/: admins only; feature branches: anyone") {
    CHECK(refused(p.judge({RefMove{"refs/envflow/other", k_zero, p.base}}, "alice"),
                  "refs/envflow/other", Gate::identity, "only admins"));
    CHECK(p.judge({RefMove{"refs/envflow/other", k_zero, p.base}}, "adam").ok());
    CHECK(p.judge({RefMove{"refs/heads/feature", k_zero, p.tweak(p.base, "x")}}, "alice").ok());
  }
}

TEST_CASE("core::pipeline::judge: invalid content hidden in the history of a push to dev") {
  test::PipelineRepo p;
  const std::string bad = p.broken(p.base);
  const auto fixed = [&](const std::string& parent) {
    return p.commit({}, {parent}, "fix", {"agents/broken.yaml"});
  };
  const std::string bad_id = bad.substr(0, 7);

  SUBCASE("under an empty commit") {
    const std::string tip = p.empty_commit(bad);
    const auto j = p.judge({p.branch("dev", tip)}, "alice");
    CHECK_MESSAGE(refused(j, k_dev, Gate::content, "does not validate"), refusals(j));
    CHECK(has(refusals(j), "agents/broken.yaml"));
  }
  SUBCASE("fixed, then an empty commit on top") {
    const std::string tip = p.empty_commit(fixed(bad));
    const auto j = p.judge({p.branch("dev", tip)}, "alice");
    CHECK_MESSAGE(refused(j, k_dev, Gate::content, "commit " + bad_id + " (broken) does not validate"),
                  refusals(j));
  }
  SUBCASE("an empty commit between the invalid one and its fix") {
    const std::string tip = fixed(p.empty_commit(bad));
    const auto j = p.judge({p.branch("dev", tip)}, "alice");
    CHECK_MESSAGE(refused(j, k_dev, Gate::content, "commit " + bad_id), refusals(j));
  }
  SUBCASE("merged in as a second parent whose changes the merge drops") {
    const std::string merge =
        p.repo().write_commit(p.repo().tree_of(p.base), {p.base, bad}, "merge\n",
                              git::Person{"T", "t@x"}, 1'700'000'000);
    const auto j = p.judge({p.branch("dev", merge)}, "alice");
    CHECK_MESSAGE(refused(j, k_dev, Gate::content, "commit " + bad_id), refusals(j));
  }
  SUBCASE("promoting it onward is refused too") {
    const std::string tip = fixed(bad);
    p.set_ref(k_dev, tip); // it got onto dev before the hooks existed
    const auto j = p.judge({p.branch("test", tip)}, "bob");
    CHECK_MESSAGE(refused(j, k_test, Gate::content, "commit " + bad_id), refusals(j));
  }
}

TEST_CASE("core::pipeline::judge: the policy") {
  test::PipelineRepo p;
  const auto old = p.repo().ref_target(core::model::k_config_ref);
  const std::string good = p.config_commit(core::policy::render_config(p.config), old);

  SUBCASE("a config push by a non-admin") {
    for (const char* who : {"alice", "bob", "paul", "hank", ""}) {
      CAPTURE(who);
      CHECK(refused(p.judge({p.move(core::model::k_config_ref, good)}, who), core::model::k_config_ref,
                    Gate::identity, "may not change the pipeline config (admins: admins)"));
    }
    CHECK(p.judge({p.move(core::model::k_config_ref, good)}, "adam").ok());
  }
  SUBCASE("a developer making themselves admin in the same push") {
    auto promoted = p.config;
    promoted.groups["admins"].push_back("alice");
    const std::string mine = p.config_commit(core::policy::render_config(promoted), old);
    CHECK(refused(p.judge({p.move(core::model::k_config_ref, mine)}, "alice"), core::model::k_config_ref,
                  Gate::identity));
  }
  SUBCASE("a new policy applies after the change, not to the rest of it") {
    auto widened = p.config;
    widened.groups["release-managers"].push_back("adam");
    const std::string next = p.tweak(p.base, "concise");
    p.set_ref(k_dev, next);
    const std::string wider = p.config_commit(core::policy::render_config(widened), old);
    const auto j = p.judge({p.move(core::model::k_config_ref, wider), p.branch("test", next)}, "adam");
    CHECK(j.refusals.size() == 1);
    CHECK(refused(j, k_test, Gate::identity, "may not promote into test"));
  }
  SUBCASE("invalid, deleted, rewritten") {
    CHECK(refused(p.judge({p.move(core::model::k_config_ref, p.config_commit("environments: 12\n", old))},
                          "adam"),
                  core::model::k_config_ref, Gate::content, "the config is invalid"));
    CHECK(refused(p.judge({p.move(core::model::k_config_ref, k_zero)}, "adam"), core::model::k_config_ref,
                  Gate::fast_forward, "deleting the pipeline config is not allowed"));
    const std::string orphan =
        p.config_commit(core::policy::render_config(p.config) + "# rewritten\n", std::nullopt);
    CHECK(refused(p.judge({p.move(core::model::k_config_ref, orphan)}, "adam"), core::model::k_config_ref,
                  Gate::fast_forward, "not a fast-forward"));
  }
}

TEST_CASE("core::pipeline::judge: releases and live") {
  test::PipelineRepo p;
  const std::string next = p.tweak(p.base, "concise");
  const std::string v1 = p.release_tag("v1.0.0", p.base);
  const std::string v1_ref = "refs/tags/v1.0.0";

  SUBCASE("a publisher publishes") {
    const auto j = p.judge({RefMove{v1_ref, k_zero, v1}, p.move(core::model::k_live_ref, v1)}, "paul");
    CHECK_MESSAGE(j.ok(), refusals(j));
  }
  SUBCASE("live moved to something that is not a release") {
    CHECK(refused(p.judge({p.move(core::model::k_live_ref, p.base)}, "paul"), core::model::k_live_ref,
                  Gate::release, "must point at a release tag object"));
    // The release tag object exists, but no release tag ref points at it.
    CHECK(refused(p.judge({p.move(core::model::k_live_ref, v1)}, "paul"), core::model::k_live_ref,
                  Gate::release, "must point at a release tag object"));
    // An annotated tag under another name.
    const std::string beta = p.release_tag("beta", p.base);
    p.set_ref("refs/tags/beta", beta);
    CHECK(refused(p.judge({p.move(core::model::k_live_ref, beta)}, "paul"), core::model::k_live_ref,
                  Gate::release));
  }
  SUBCASE("live moved by someone who may not release") {
    p.set_ref(v1_ref, v1);
    CHECK(refused(p.judge({p.move(core::model::k_live_ref, v1)}, "alice"), core::model::k_live_ref,
                  Gate::identity, "may not move refs/envflow/live"));
  }
  SUBCASE("a release tag moved or deleted") {
    p.set_ref(v1_ref, v1);
    const std::string again = p.release_tag("v1.0.0", p.base, "Again");
    REQUIRE(again != v1);
    CHECK(refused(p.judge({RefMove{v1_ref, v1, again}}, "paul"), v1_ref, Gate::release,
                  "release tags are never moved"));
    CHECK(refused(p.judge({RefMove{v1_ref, v1, k_zero}}, "adam"), v1_ref, Gate::release,
                  "release tags are never deleted"));
  }
  SUBCASE("a release tag made by a developer, lightweight, misnamed, off production") {
    CHECK(refused(p.judge({RefMove{v1_ref, k_zero, v1}}, "alice"), v1_ref, Gate::identity,
                  "may not create release tags"));
    CHECK(refused(p.judge({RefMove{v1_ref, k_zero, p.base}}, "paul"), v1_ref, Gate::release,
                  "lightweight"));
    CHECK(refused(p.judge({RefMove{"refs/tags/v2.0.0", k_zero, v1}}, "paul"), "refs/tags/v2.0.0",
                  Gate::release, "named v1.0.0 but is pushed as v2.0.0"));
    const std::string off = p.release_tag("v1.1.0", next);
    CHECK(refused(p.judge({RefMove{"refs/tags/v1.1.0", k_zero, off}}, "paul"), "refs/tags/v1.1.0",
                  Gate::release, "which is not a commit of production"));
  }
  SUBCASE("live is never deleted") {
    p.set_ref(v1_ref, v1);
    p.set_ref(core::model::k_live_ref, v1);
    CHECK(refused(p.judge({p.move(core::model::k_live_ref, k_zero)}, "paul"), core::model::k_live_ref,
                  Gate::release, "deleting refs/envflow/live is not allowed"));
  }
  SUBCASE("a rollback without a hold") {
    p.set_ref(k_dev, next);
    p.set_ref(k_test, next);
    p.set_ref(k_production, next);
    const std::string v2 = p.release_tag("v1.1.0", next);
    p.set_ref(v1_ref, v1);
    p.set_ref("refs/tags/v1.1.0", v2);
    p.set_ref(core::model::k_live_ref, v2);
    const auto back = p.move(core::model::k_live_ref, v1);
    CHECK(refused(p.judge({back}, "paul"), core::model::k_live_ref, Gate::release,
                  "moving live back from v1.1.0 to v1.0.0 is a rollback"));
    const auto h = p.hold("production", "paul", "live v1.1.0 -> v1.0.0", core::records::Hold::Kind::rollback);
    const auto with_hold = p.judge({back, p.set_hold(h)}, "paul");
    CHECK_MESSAGE(with_hold.ok(), refusals(with_hold));
    // A hold already in force will do.
    p.set_ref(core::model::hold_ref("production", h.id), h.id);
    CHECK(p.judge({back}, "paul").ok());
    // Forward again needs none.
    p.set_ref(core::model::k_live_ref, v1);
    CHECK(p.judge({p.move(core::model::k_live_ref, v2)}, "paul").ok());
  }
}

TEST_CASE("core::pipeline::judge: hotfixes") {
  test::PipelineRepo p;
  const std::string hotfix = p.tweak(p.base, "calm");
  SUBCASE("by a hotfixer") {
    const auto j = p.judge({p.branch("production", hotfix)}, "hank");
    CHECK_MESSAGE(j.ok(), refusals(j));
  }
  SUBCASE("an intermediate environment takes no hotfix") {
    CHECK(refused(p.judge({p.branch("test", hotfix)}, "hank"), k_test, Gate::fast_forward,
                  "moves only by promotion from dev"));
  }
  SUBCASE("hotfix approvals, not the hotfixer's own") {
    p.config.hotfix_approvals = 1;
    p.config.hotfix_approvers = {"release-managers"};
    p.config.groups["release-managers"].push_back("hank");
    p.set_ref(core::model::approval_ref("production", hotfix, "hank"), hotfix);
    CHECK(refused(p.judge({p.branch("production", hotfix)}, "hank"), k_production,
                  Gate::approvals, "not counting hank"));
    p.set_ref(core::model::approval_ref("production", hotfix, "carol"), hotfix);
    CHECK(p.judge({p.branch("production", hotfix)}, "hank").ok());
  }
}

TEST_CASE("core::pipeline::judge: a hotfixer releases their hotfix, a publisher everything") {
  test::PipelineRepo p;
  const std::string hotfix = p.tweak(p.base, "calm");
  const std::string hotfix_tag = p.release_tag("v1.0.1", hotfix, "Hotfix", true);
  const std::string promoted_tag = p.release_tag("v1.0.0", p.base);
  const RefMove tag_hotfix{"refs/tags/v1.0.1", k_zero, hotfix_tag};
  const RefMove live_hotfix{core::model::k_live_ref, k_zero, hotfix_tag};

  SUBCASE("the hotfix, its tag and live in one change (envflow hotfix finish)") {
    const auto j = p.judge({p.branch("production", hotfix), tag_hotfix, live_hotfix}, "hank");
    CHECK_MESSAGE(j.ok(), refusals(j));
  }
  SUBCASE("a commit the previous environment holds is a publish, not a hotfix") {
    const auto j = p.judge({RefMove{"refs/tags/v1.0.0", k_zero, promoted_tag},
                            RefMove{core::model::k_live_ref, k_zero, promoted_tag}},
                           "hank");
    CHECK_MESSAGE(refused(j, "refs/tags/v1.0.0", Gate::identity, "that is a publish"), refusals(j));
    CHECK(p.judge({RefMove{"refs/tags/v1.0.0", k_zero, promoted_tag},
                   RefMove{core::model::k_live_ref, k_zero, promoted_tag}},
                  "paul")
              .ok());
  }
  SUBCASE("live moved to an existing release (a rollback) is for publishers") {
    p.set_ref("refs/tags/v1.0.0", promoted_tag);
    const auto j = p.judge({RefMove{core::model::k_live_ref, k_zero, promoted_tag}}, "hank");
    CHECK_MESSAGE(refused(j, core::model::k_live_ref, Gate::identity, "is for publishers"), refusals(j));
  }
}

TEST_CASE("core::pipeline::may: each right, from the policy's groups") {
  test::PipelineRepo p;
  using core::pipeline::Right;
  const auto may = [&](const std::string& who, Right right, const std::string& env = "") {
    return core::pipeline::may(p.config, who, right, env);
  };
  CHECK(may("alice", Right::write, "dev"));
  CHECK_FALSE(may("bob", Right::write, "dev"));
  CHECK(may("bob", Right::promote, "test"));
  CHECK(may("bob@example.com", Right::promote, "test")); // people: maps the name
  CHECK_FALSE(may("bob", Right::promote, "dev"));        // nothing is promoted into dev
  CHECK_FALSE(may("alice", Right::promote, "test"));
  CHECK(may("paul", Right::hold, "production"));         // a publisher
  CHECK(may("bob", Right::hold, "production"));          // a promoter
  CHECK_FALSE(may("alice", Right::hold, "production"));
  CHECK(may("adam", Right::check, "test"));
  CHECK(may("paul", Right::publish));
  CHECK_FALSE(may("hank", Right::publish));
  CHECK(may("hank", Right::hotfix));
  CHECK(may("adam", Right::admin));
  CHECK_FALSE(may("", Right::admin));
  CHECK_FALSE(may("bob", Right::promote, "nowhere"));
}

TEST_CASE("core::pipeline::judge_authority: who may, without the gates that read content or counts") {
  test::PipelineRepo p;
  p.config.environments[1].approvals = 1;
  const auto authority = [&](const std::vector<RefMove>& moves, const std::string& who) {
    const core::model::OwnRefs own(p.repo());
    return core::pipeline::judge_authority(core::model::Pipeline{p.repo(), own, p.config, nullptr},
                                           moves, test::as(who));
  };
  const std::string bad = p.broken(p.base);

  SUBCASE("invalid content by a writer: refused by judge, allowed to them by authority") {
    CHECK(refused(p.judge({p.branch("dev", bad)}, "alice"), k_dev, Gate::content));
    const auto j = authority({p.branch("dev", bad)}, "alice");
    CHECK_MESSAGE(j.ok(), refusals(j));
  }
  SUBCASE("a promotion without its approval: the approvals gate is not judged") {
    const std::string next = p.tweak(p.base, "concise");
    p.set_ref(k_dev, next);
    CHECK(refused(p.judge({p.branch("test", next)}, "bob"), k_test, Gate::approvals));
    CHECK(authority({p.branch("test", next)}, "bob").ok());
  }
  SUBCASE("the identity rules are the same") {
    const auto j = authority({p.branch("dev", bad)}, "bob");
    CHECK_MESSAGE(refused(j, k_dev, Gate::identity, "may not push to dev"), refusals(j));
    const auto config = authority({RefMove{"refs/envflow/config", k_zero, p.base}}, "alice");
    CHECK(refused(config, "refs/envflow/config", Gate::identity, "may not change the pipeline config"));
  }
  SUBCASE("and so are the rules about records") {
    const auto j = authority({RefMove{"refs/envflow/audit", k_zero, p.base}}, "adam");
    CHECK(refused(j, "refs/envflow/audit", Gate::record, "written by the server itself"));
  }
}

TEST_CASE("core::pipeline::Judgement") {
  core::pipeline::Judgement j;
  CHECK(j.ok());
  CHECK_NOTHROW(j.enforce());
  j.refusals.push_back({"refs/heads/test", "first", Gate::content});
  CHECK(j.reasons() == "first");
  CHECK_THROWS_AS(j.enforce(), util::Refused);
  j.refusals.push_back({"", "second", Gate::identity});
  CHECK(j.reasons() == "refs/heads/test: first\nchange: second");
  CHECK_THROWS_AS(j.enforce(), util::Forbidden);
  CHECK(core::pipeline::Actor{"dana", "REMOTE_USER", true}.describe() == "dana (REMOTE_USER)");
  CHECK(core::pipeline::Actor{"dana", "", false}.describe() == "dana");
  CHECK(core::pipeline::Actor{}.describe() == "an unknown pusher");
}

TEST_CASE("core::pipeline::describe: the operation a change makes") {
  test::PipelineRepo p;
  p.config.environments[1].approvals = 1;
  const std::string next = p.tweak(p.base, "concise");
  p.set_ref(k_dev, next);

  SUBCASE("sync: one step, with the approvals counted and the reason") {
    p.set_ref(core::model::approval_ref("test", next, "carol"), next);
    p.set_ref(core::model::approval_ref("test", next, "bob"), next);
    const auto r = p.describe({p.branch("test", next)}, "bob@example.com", "  ticket 7 ");
    CHECK(r.op == "sync");
    CHECK(r.env == "test");
    CHECK(r.commit == next);
    CHECK(r.actor == "bob");
    CHECK(r.approvals == std::vector<std::string>{"carol"});
    CHECK(r.note == "dev -> test (ticket 7)");
    REQUIRE(r.moves.size() == 1);
    CHECK(r.moves[0].ref == k_test);
    CHECK(r.tool.starts_with("envflow "));
  }
  SUBCASE("sync: several steps") {
    const auto r = p.describe({p.branch("test", next), p.branch("production", next)}, "bob");
    CHECK(r.op == "sync");
    CHECK(r.env == "production");
    CHECK(r.note == "dev -> test -> production");
    CHECK(r.moves.size() == 2);
  }
  SUBCASE("approve and unapprove") {
    const std::string ref = core::model::approval_ref("test", next, "carol");
    auto r = p.describe({RefMove{ref, k_zero, next}}, "carol");
    CHECK(r.op == "approve");
    CHECK(r.env == "test");
    CHECK(r.commit == next);
    CHECK(r.note == "promote " + next.substr(0, 7) + " from dev into test");
    p.set_ref(ref, next);
    r = p.describe({RefMove{ref, next, k_zero}}, "adam");
    CHECK(r.op == "unapprove");
    CHECK(r.note == "withdrew carol's approval of " + next.substr(0, 7));
  }
  SUBCASE("hold and hold-release") {
    const auto h = p.hold("test", "bob", "freeze for the audit");
    auto r = p.describe({p.set_hold(h)}, "bob");
    CHECK(r.op == "hold");
    CHECK(r.env == "test");
    CHECK(r.note == "freeze for the audit");
    p.set_ref(core::model::hold_ref("test", h.id), h.id);
    r = p.describe({RefMove{core::model::hold_ref("test", h.id), h.id, k_zero}}, "carol", "done");
    CHECK(r.op == "hold-release");
    CHECK(r.env == "test");
    CHECK(r.commit == h.id);
    CHECK(r.note == "released manual hold set by bob at 2023-11-14T22:13:20Z (done)");
  }
  SUBCASE("var-set and var-unset") {
    const std::string ref = core::model::local_ref("test");
    const std::string set = p.local("variables:\n  max_turns: 5\n");
    auto r = p.describe({RefMove{ref, k_zero, set}}, "olga");
    CHECK(r.op == "var-set");
    CHECK(r.env == "test");
    CHECK(r.commit == set);
    CHECK(r.note == "max_turns=5");
    p.set_ref(ref, set);
    const std::string unset = p.local("variables: {}\n", {set});
    r = p.describe({RefMove{ref, set, unset}}, "olga");
    CHECK(r.op == "var-unset");
    CHECK(r.note == "max_turns");
    const std::string both = p.local("variables:\n  support_email: \"a@b.c\"\n", {set});
    r = p.describe({RefMove{ref, set, both}}, "olga");
    CHECK(r.op == "var-set");
    CHECK(r.note == "support_email=\"a@b.c\"; unset max_turns");
  }
  SUBCASE("publish, re-publish, rollback") {
    const std::string v1 = p.release_tag("v1.0.0", p.base);
    auto r = p.describe({RefMove{"refs/tags/v1.0.0", k_zero, v1}, p.move(core::model::k_live_ref, v1)},
                        "paul");
    CHECK(r.op == "publish");
    CHECK(r.env == "production");
    CHECK(r.commit == p.base);
    CHECK(r.note == "v1.0.0");

    p.set_ref(k_test, next);
    p.set_ref(k_production, next);
    const std::string v2 = p.release_tag("v1.1.0", next);
    p.set_ref("refs/tags/v1.0.0", v1);
    p.set_ref("refs/tags/v1.1.0", v2);
    p.set_ref(core::model::k_live_ref, v2);
    const auto h = p.hold("production", "paul", "live v1.1.0 -> v1.0.0", core::records::Hold::Kind::rollback);
    r = p.describe({p.move(core::model::k_live_ref, v1), p.set_hold(h)}, "paul", "bad prompt");
    CHECK(r.op == "rollback");
    CHECK(r.env == "production");
    CHECK(r.commit == p.base);
    CHECK(r.note == "live v1.1.0 -> v1.0.0 (bad prompt)");
    CHECK(r.moves.size() == 2);

    p.set_ref(core::model::k_live_ref, v1);
    r = p.describe({p.move(core::model::k_live_ref, v2)}, "paul");
    CHECK(r.op == "publish");
    CHECK(r.note == "re-published v1.1.0");
  }
  SUBCASE("hotfix: with its release, or pushed alone") {
    const std::string v1 = p.release_tag("v1.0.0", p.base);
    p.set_ref("refs/tags/v1.0.0", v1);
    p.set_ref(core::model::k_live_ref, v1);
    const std::string hotfix = p.tweak(p.base, "calm");
    const std::string v101 = p.release_tag("v1.0.1", hotfix, "Hotfix", true);
    auto r = p.describe({p.branch("production", hotfix), RefMove{"refs/tags/v1.0.1", k_zero, v101},
                         p.move(core::model::k_live_ref, v101)},
                        "hank");
    CHECK(r.op == "hotfix");
    CHECK(r.env == "production");
    CHECK(r.commit == hotfix);
    CHECK(r.note == "v1.0.1");
    r = p.describe({p.branch("production", hotfix)}, "hank");
    CHECK(r.op == "hotfix");
    CHECK(r.commit == hotfix);
    CHECK(r.note == "hotfix on production");
  }
  SUBCASE("hotfix-start, config, a push to dev, an unknown actor") {
    auto r = p.describe({RefMove{"refs/heads/hotfix/typo", k_zero, p.base}}, "hank");
    CHECK(r.op == "hotfix-start");
    CHECK(r.env == "production");
    CHECK(r.note == "hotfix/typo at " + p.base.substr(0, 7));
    const std::string config =
        p.config_commit(core::policy::render_config(p.config), p.repo().ref_target(core::model::k_config_ref));
    r = p.describe({p.move(core::model::k_config_ref, config)}, "adam");
    CHECK(r.op == "config");
    r = p.describe({p.branch("dev", p.tweak(next, "x"))}, "");
    CHECK(r.op == "push");
    CHECK(r.env == "dev");
    CHECK(r.actor == "unknown");
  }
  SUBCASE("the record does not depend on the order the moves are listed in") {
    // git lists a push's refs in the order the pusher named them.
    const std::string more = p.tweak(next, "more");
    const std::vector<RefMove> ordered{p.branch("dev", more), p.branch("test", next)};
    const std::vector<RefMove> reversed{ordered[1], ordered[0]};
    const auto a = p.describe(ordered, "adam");
    const auto b = p.describe(reversed, "adam");
    CHECK(a.op == b.op);
    CHECK(a.env == b.env);
    CHECK(a.commit == b.commit);
    CHECK(a.note == b.note);
    CHECK_FALSE(has(b.note, "-> dev"));
  }
  SUBCASE("moves that move nothing are left out") {
    const auto r = p.describe({RefMove{k_production, p.base, p.base}, p.branch("test", next)}, "bob");
    CHECK(r.op == "sync");
    CHECK(r.moves.size() == 1);
  }
}
