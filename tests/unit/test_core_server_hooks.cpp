// The server side (core/server_hooks): who pushes, what a whole push is
// judged (the rulebook, as the server asks it: the policy on the server,
// identity.required, a repository being seeded) and the one record
// post-receive writes per push.

#include "core/records/approvals.h"
#include "core/model/audit.h"
#include "core/records/backport.h"
#include "core/policy/config.h"
#include "core/records/overrides.h"
#include "core/release/release.h"
#include "core/remote/remote.h"
#include "core/server/server_hooks.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/strings.h"

#include "pipeline_fixture.h"

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

using namespace envflow;
using core::model::RefMove;
using namespace envflow::test;

namespace {

// The server: the fixture's pipeline, judged by decide_push as the hook does.
class Server : public test::PipelineRepo {
public:
  core::pipeline::Judgement decide(const std::vector<RefMove>& updates, const std::string& who,
                         const core::remote::PushIntent& intent = {}) {
    return core::server::decide_push(repo(), nullptr, updates, as(who), intent);
  }
};

} // namespace

TEST_CASE("core::server::parse_ref_updates") {
  const std::string a(40, 'a');
  const std::string b(40, 'b');
  const auto updates = core::server::parse_ref_updates(a + " " + b + " refs/heads/dev\n\n" + k_zero + " " +
                                               b + " refs/tags/v1.0.0\n");
  REQUIRE(updates.size() == 2);
  CHECK(updates[0].ref == "refs/heads/dev");
  CHECK(updates[0].old_id == a);
  CHECK(updates[0].new_id == b);
  CHECK(updates[1].old_id == k_zero);
  CHECK_THROWS_AS(core::server::parse_ref_updates("nonsense\n"), util::UsageError);
  CHECK_THROWS_AS(core::server::parse_ref_updates(a + " xyz refs/heads/dev\n"), util::UsageError);
}

TEST_CASE("core::server::identify_pusher") {
  core::policy::PipelineConfig config;
  std::map<std::string, std::string> env;
  const core::server::EnvLookup lookup = [&](const std::string& name) -> std::optional<std::string> {
    const auto it = env.find(name);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  SUBCASE("the first set identity variable wins, in the policy's order") {
    env = {{"REMOTE_USER", "web-user"}, {"GL_USERNAME", "gitlab-user"}, {"ENVFLOW_ACTOR", "x"}};
    const auto pusher = core::server::identify_pusher(&config, lookup);
    CHECK(pusher.name == "gitlab-user");
    CHECK(pusher.source == "GL_USERNAME");
    CHECK(pusher.authenticated);
  }
  SUBCASE("empty values are skipped") {
    env = {{"GL_USERNAME", ""}, {"GITEA_PUSHER_NAME", "gitea-user"}};
    CHECK(core::server::identify_pusher(&config, lookup).name == "gitea-user");
  }
  SUBCASE("ENVFLOW_ACTOR is a claim, accepted only when identity is not required") {
    env = {{"ENVFLOW_ACTOR", "claimed"}};
    auto pusher = core::server::identify_pusher(&config, lookup);
    CHECK(pusher.name == "claimed");
    CHECK_FALSE(pusher.authenticated);
    config.identity_required = true;
    pusher = core::server::identify_pusher(&config, lookup);
    CHECK(pusher.name.empty());
    CHECK(pusher.describe() == "an unknown pusher");
  }
  SUBCASE("the policy's own variable list") {
    config.identity_env = {"USER"};
    env = {{"USER", "ssh-user"}, {"REMOTE_USER", "web-user"}};
    CHECK(core::server::identify_pusher(&config, lookup).name == "ssh-user");
  }
}

TEST_CASE("core::server::decide_push: the first environment") {
  Server s;
  const std::string next = s.tweak(s.base, "concise");

  SUBCASE("a developer's fast-forward of valid content") {
    const auto d = s.decide({s.branch("dev", next)}, "alice");
    CHECK_MESSAGE(d.ok(), refusals(d));
  }
  SUBCASE("someone outside the write groups") {
    const auto d = s.decide({s.branch("dev", next)}, "bob");
    REQUIRE_FALSE(d.ok());
    CHECK(has(refusals(d), "bob (REMOTE_USER) may not push to dev (write groups: developers)"));
  }
  SUBCASE("not a fast-forward") {
    s.set_ref("refs/heads/dev", next);
    const std::string other = s.tweak(s.base, "friendly");
    const auto d = s.decide({s.branch("dev", other)}, "alice");
    REQUIRE_FALSE(d.ok());
    CHECK(has(refusals(d), "not a fast-forward"));
  }
  SUBCASE("deletion") {
    const auto d = s.decide({s.branch("dev", k_zero)}, "alice");
    CHECK(has(refusals(d), "deleting the branch of environment dev is not allowed"));
  }
  SUBCASE("invalid content in a changed file, even in an earlier commit of the push") {
    const std::string bad =
        s.commit({{"agents/broken.yaml", "kind: Agent\nname: other\n"}}, {s.base}, "broken");
    const std::string fixed_on_top = s.tweak(bad, "concise");
    const auto d = s.decide({s.branch("dev", fixed_on_top)}, "alice");
    REQUIRE_FALSE(d.ok());
    const std::string text = refusals(d);
    CHECK(has(text, "does not validate"));
    CHECK(has(text, "agents/broken.yaml"));
  }
  SUBCASE("removing an agent breaks the unchanged workflow that calls it") {
    const std::string removed = s.commit({}, {s.base}, "drop triage", {"agents/triage.yaml"});
    const auto d = s.decide({s.branch("dev", removed)}, "alice");
    REQUIRE_FALSE(d.ok());
    const std::string text = refusals(d);
    CHECK(has(text, "workflows/support-request.yaml"));
    CHECK(has(text, "[ref-agent]"));
  }
  SUBCASE("a problem in an unchanged file blocks the push until it is fixed") {
    // Seed dev with a bad file (as if pushed before the hook existed): the
    // whole tree at the new tip must validate, so nothing invalid stays.
    const std::string seeded =
        s.commit({{"channels/old.yaml", "kind: Channel\nname: mismatch\n"}}, {s.base}, "seed");
    s.set_ref("refs/heads/dev", seeded);
    const auto d = s.decide({s.branch("dev", s.tweak(seeded, "concise"))}, "alice");
    CHECK(has(refusals(d), "channels/old.yaml"));
    const std::string fixed = s.commit({}, {s.tweak(seeded, "concise")}, "drop old", {"channels/old.yaml"});
    const auto mended = s.decide({s.branch("dev", fixed)}, "alice");
    CHECK_MESSAGE(mended.ok(), refusals(mended));
  }
  SUBCASE("a new branch is checked from where it leaves the pipeline") {
    // dev created by push (as when a repository is seeded after the config).
    s.repo().update_refs({git::RefUpdate{"refs/heads/dev", s.base, std::nullopt}}, "test");
    const auto d = s.decide({RefMove{"refs/heads/dev", k_zero, next}}, "alice");
    CHECK_MESSAGE(d.ok(), refusals(d));
  }
}

TEST_CASE("core::server::decide_push: promotions") {
  Server s;
  const std::string next = s.tweak(s.base, "concise");
  s.set_ref("refs/heads/dev", next);

  SUBCASE("a release manager promotes dev into test") {
    const auto d = s.decide({s.branch("test", next)}, "bob");
    CHECK_MESSAGE(d.ok(), refusals(d));
  }
  SUBCASE("a developer may not promote") {
    const auto d = s.decide({s.branch("test", next)}, "alice");
    CHECK(has(refusals(d), "alice (REMOTE_USER) may not promote into test"));
  }
  SUBCASE("only to a commit the previous environment contains") {
    const std::string elsewhere = s.tweak(s.base, "friendly");
    const auto d = s.decide({s.branch("test", elsewhere)}, "bob");
    CHECK(has(refusals(d), "is not contained in dev (after this change)"));
  }
  SUBCASE("one atomic push promotes several steps") {
    const auto d = s.decide({s.branch("test", next), s.branch("production", next)}, "bob");
    CHECK_MESSAGE(d.ok(), refusals(d));
    const auto alone = s.decide({s.branch("production", next)}, "bob");
    CHECK(has(refusals(alone), "is not contained in test"));
  }
  SUBCASE("one bad ref rejects the whole push, naming it") {
    const auto d = s.decide({s.branch("test", next), s.branch("production", s.tweak(next, "x"))},
                            "bob");
    REQUIRE(d.refusals.size() == 1);
    CHECK(d.refusals[0].ref == "refs/heads/production");
  }
  SUBCASE("approvals") {
    s.config.environments[1].approvals = 1;
    s.write_config();
    auto d = s.decide({s.branch("test", next)}, "bob");
    CHECK(has(refusals(d),
              "needs 1 approval from release-managers (not counting bob); it has 0 approvals of 1 "
              "needed"));

    // Approvals are refs of their own, one per person.
    s.set_ref(core::model::approval_ref("test", next, "bob"), next);
    d = s.decide({s.branch("test", next)}, "bob");
    CHECK_MESSAGE(!d.ok(), "the promoter's own approval does not count");

    s.set_ref(core::model::approval_ref("test", next, "carol"), next);
    d = s.decide({s.branch("test", next)}, "bob");
    CHECK_MESSAGE(d.ok(), refusals(d));

    SUBCASE("an approval pushed with the promotion, in someone else's name") {
      s.set_ref(core::model::approval_ref("test", next, "carol"), std::nullopt);
      const std::string forged = core::model::approval_ref("test", next, "carol");
      d = s.decide({RefMove{forged, k_zero, next}, s.branch("test", next)}, "bob");
      CHECK(has(refusals(d), "an approval is given by its author only"));
    }
  }
  SUBCASE("the environment's overrides must fit the promoted content") {
    // A variable nothing refers to, on dev and test, with an override on test.
    const std::string with = s.commit(
        {{"variables/colour.yaml",
          "kind: Variable\nname: colour\ntype: string\ndefault: blue\ndescription: Colour.\n"}},
        {next}, "colour");
    s.set_ref("refs/heads/dev", with);
    s.set_ref("refs/heads/test", with);
    const std::string overrides =
        s.commit({{"overrides.yaml", "variables:\n  colour: red\n"}}, {}, "overrides");
    s.set_ref(core::model::local_ref("test"), overrides);
    const std::string removed = s.commit({}, {with}, "drop colour", {"variables/colour.yaml"});
    s.set_ref("refs/heads/dev", removed);
    const auto d = s.decide({s.branch("test", removed)}, "bob");
    INFO(refusals(d));
    CHECK(has(refusals(d), "would leave the variable overrides of test invalid"));
    CHECK(has(refusals(d), "colour: no environment up to test declares this variable"));
  }
}

TEST_CASE("core::server::decide_push: hotfixes on the last environment") {
  Server s;
  const std::string hotfix = s.tweak(s.base, "calm");

  SUBCASE("by a hotfixer") {
    const auto d = s.decide({s.branch("production", hotfix)}, "hank");
    CHECK_MESSAGE(d.ok(), refusals(d));
  }
  SUBCASE("by anyone else") {
    const auto d = s.decide({s.branch("production", hotfix)}, "bob");
    CHECK(has(refusals(d), "or by a hotfix from a hotfixer (hotfixers), and bob (REMOTE_USER) is not one"));
  }
  SUBCASE("hotfix content validates") {
    const std::string bad =
        s.commit({{"agents/support.yaml", "kind: Agent\nname: support\ntone: [\n"}}, {s.base},
                 "broken hotfix");
    const auto d = s.decide({s.branch("production", bad)}, "hank");
    CHECK(has(refusals(d), "does not validate"));
  }
  SUBCASE("a hotfix mixed with a promotion") {
    const std::string promoted = s.tweak(s.base, "concise");
    s.set_ref("refs/heads/dev", promoted);
    s.set_ref("refs/heads/test", promoted);
    const auto d = s.decide({s.branch("production", s.tweak(promoted, "calm"))}, "hank");
    CHECK(has(refusals(d), "mixes a promotion from test"));
  }
  SUBCASE("intermediate environments take no hotfix") {
    const auto d = s.decide({s.branch("test", hotfix)}, "hank");
    CHECK(has(refusals(d), "moves only by promotion from dev"));
  }
}

TEST_CASE("core::server::decide_push: release tags and live") {
  Server s;
  const std::string tag = s.release_tag("v1.0.0", s.base);
  const RefMove create{"refs/tags/v1.0.0", k_zero, tag};

  SUBCASE("a publisher creates an annotated release of production") {
    const auto d = s.decide({create, s.move(core::model::k_live_ref, tag)}, "paul");
    CHECK_MESSAGE(d.ok(), refusals(d));
  }
  SUBCASE("others may not") {
    CHECK(has(refusals(s.decide({create}, "alice")), "may not create release tags"));
  }
  SUBCASE("lightweight") {
    const auto d = s.decide({RefMove{"refs/tags/v1.0.0", k_zero, s.base}}, "paul");
    CHECK(has(refusals(d), "is a lightweight tag"));
  }
  SUBCASE("not a commit of the last environment") {
    const std::string elsewhere = s.tweak(s.base, "x");
    const auto d = s.decide({RefMove{"refs/tags/v1.1.0", k_zero,
                                     s.release_tag("v1.1.0", elsewhere)}},
                            "paul");
    CHECK(has(refusals(d), "which is not a commit of production"));
  }
  SUBCASE("the tag's own name must match") {
    const auto d = s.decide({RefMove{"refs/tags/v2.0.0", k_zero, tag}}, "paul");
    CHECK(has(refusals(d), "named v1.0.0 but is pushed as v2.0.0"));
  }
  SUBCASE("never moved, never deleted") {
    s.set_ref("refs/tags/v1.0.0", tag);
    const std::string other = s.release_tag("v1.0.0", s.base, "Again");
    REQUIRE(other != tag);
    CHECK(has(refusals(s.decide({RefMove{"refs/tags/v1.0.0", tag, other}}, "paul")),
              "never moved"));
    CHECK(has(refusals(s.decide({RefMove{"refs/tags/v1.0.0", tag, k_zero}}, "paul")),
              "never deleted"));
  }
  SUBCASE("signature required by the policy") {
    s.config.release_sign = true;
    s.write_config();
    const auto d = s.decide({create}, "paul");
    CHECK(has(refusals(d), "is not signed"));
  }
  SUBCASE("a tampered manifest") {
    const std::string changed = s.tweak(s.base, "x");
    s.set_ref("refs/heads/production", changed);
    const std::string raw = s.repo().tag(tag)->raw;
    const std::string forged = s.repo().write_tag_object(
        util::replace_all(util::replace_all(raw, s.base, changed), "v1.0.0", "v1.0.1"));
    const auto d = s.decide({RefMove{"refs/tags/v1.0.1", k_zero, forged}}, "paul");
    INFO(refusals(d));
    CHECK(has(refusals(d), "v1.0.1 does not verify:\n  agents/support.yaml differs: manifest"));
  }
  SUBCASE("live points at release tags only") {
    CHECK(has(refusals(s.decide({s.move(core::model::k_live_ref, s.base)}, "paul")),
              "must point at a release tag object"));
    s.set_ref("refs/tags/v1.0.0", tag);
    CHECK(s.decide({s.move(core::model::k_live_ref, tag)}, "paul").ok());
    CHECK(has(refusals(s.decide({s.move(core::model::k_live_ref, tag)}, "alice")),
              "may not move refs/envflow/live"));
    s.set_ref(core::model::k_live_ref, tag);
    CHECK(has(refusals(s.decide({s.move(core::model::k_live_ref, k_zero)}, "paul")),
              "deleting refs/envflow/live"));
  }
}

TEST_CASE("core::server::decide_push: local data and config") {
  Server s;
  const auto local = [&](const std::string& overrides) {
    return s.commit({{"overrides.yaml", overrides}}, {}, "local");
  };
  SUBCASE("an operator sets a fitting override") {
    const auto d =
        s.decide({s.move(core::model::local_ref("test"), local("variables:\n  max_turns: 5\n"))}, "olga");
    CHECK_MESSAGE(d.ok(), refusals(d));
  }
  SUBCASE("wrong type, unknown variable, malformed file") {
    CHECK(has(refusals(s.decide(
                  {s.move(core::model::local_ref("test"), local("variables:\n  max_turns: lots\n"))},
                  "olga")),
              "max_turns: value"));
    CHECK(has(refusals(s.decide(
                  {s.move(core::model::local_ref("test"), local("variables:\n  nope: 1\n"))}, "olga")),
              "nope: no environment up to test declares this variable"));
    CHECK_FALSE(
        s.decide({s.move(core::model::local_ref("test"), local("variables: [\n"))}, "olga").ok());
  }
  SUBCASE("a local guardrail that does not validate") {
    const std::string bad = s.commit({{"guardrails/pii.yaml", "kind: Guardrail\nname: other\n"}},
                                     {}, "guardrail");
    CHECK(has(refusals(s.decide({s.move(core::model::local_ref("test"), bad)}, "olga")),
              "does not validate"));
  }
  SUBCASE("outside the local groups, unknown environment, first environment") {
    const std::string fine = local("variables:\n  max_turns: 5\n");
    CHECK(has(refusals(s.decide({s.move(core::model::local_ref("test"), fine)}, "alice")),
              "may not change the local data of test"));
    CHECK(has(refusals(s.decide({s.move(core::model::local_ref("qa"), fine)}, "olga")),
              "no environment named 'qa'"));
    CHECK(has(refusals(s.decide({s.move(core::model::local_ref("dev"), fine)}, "olga")),
              "takes no overrides"));
  }
  SUBCASE("config: admins, and it must validate") {
    const auto old = s.repo().ref_target(core::model::k_config_ref);
    const std::string good = s.config_commit(core::policy::render_config(s.config), old);
    CHECK(s.decide({s.move(core::model::k_config_ref, good)}, "adam").ok());
    CHECK(has(refusals(s.decide({s.move(core::model::k_config_ref, good)}, "alice")),
              "may not change the pipeline config (admins: admins)"));
    const std::string bad = s.config_commit("environments: 12\n", old);
    CHECK(has(refusals(s.decide({s.move(core::model::k_config_ref, bad)}, "adam")),
              "the config is invalid"));
    CHECK(has(refusals(s.decide({s.move(core::model::k_config_ref, k_zero)}, "adam")),
              "deleting the pipeline config is not allowed"));
  }
  SUBCASE("other refs/envflow refs: admins only; other refs: free") {
    CHECK_FALSE(s.decide({RefMove{"refs/envflow/other", k_zero, s.base}}, "alice").ok());
    CHECK(s.decide({RefMove{"refs/envflow/other", k_zero, s.base}}, "adam").ok());
    CHECK(s.decide({RefMove{"refs/heads/feature", k_zero, s.tweak(s.base, "x")}}, "alice").ok());
  }
  SUBCASE("identity required") {
    s.config.identity_required = true;
    s.write_config();
    const auto d =
        core::server::decide_push(s.repo(), nullptr, {s.branch("dev", s.tweak(s.base, "x"))},
                                  core::pipeline::Actor{"alice", "ENVFLOW_ACTOR", false});
    REQUIRE(d.refusals.size() == 1);
    CHECK(d.refusals[0].ref.empty());
    CHECK(has(d.refusals[0].reason, "did not say who is pushing"));
  }
  SUBCASE("no policy yet: a repository is seeded") {
    s.repo().update_refs({git::RefUpdate{core::model::k_config_ref, s.repo().ref_target(core::model::k_config_ref),
                                         std::nullopt}},
                         "test");
    CHECK(s.decide({s.branch("production", s.tweak(s.base, "x"))}, "anyone").ok());
  }
}

TEST_CASE("core::server::decide_push: the audit trail is the server's") {
  Server s;
  const std::string next = s.tweak(s.base, "concise");
  s.set_ref("refs/heads/dev", next);
  core::model::AuditRecord sync;
  sync.op = "sync";
  sync.env = "test";
  sync.actor = "bob";
  sync.time = 1'700'000'000;
  sync.moves = {RefMove{"refs/heads/test", s.base, next}};
  // A record as a client would write it, on top of the trail.
  const auto record = [&](const core::model::AuditRecord& r) {
    const auto head = s.repo().ref_target(core::model::k_audit_ref);
    return s.repo().write_commit(std::string(git::k_empty_tree_id),
                                 head ? std::vector<std::string>{*head} : std::vector<std::string>{},
                                 r.to_message(), {"T", "t@x"}, 1'700'000'000);
  };

  SUBCASE("a client's record pushed with the moves it records") {
    const auto d = s.decide({s.branch("test", next), s.move(core::model::k_audit_ref, record(sync))}, "bob");
    REQUIRE(d.refusals.size() == 1);
    CHECK(d.refusals[0].ref == core::model::k_audit_ref);
    CHECK(d.refusals[0].gate == core::pipeline::Gate::record);
    CHECK(has(d.refusals[0].reason, "written by the server itself"));
  }
  SUBCASE("a forged record alone, even by an admin") {
    core::model::AuditRecord approval;
    approval.op = "approve";
    approval.env = "test";
    approval.actor = "carol";
    approval.commit = next;
    approval.time = 1;
    CHECK(has(refusals(s.decide({s.move(core::model::k_audit_ref, record(approval))}, "adam")),
              "written by the server itself"));
  }
  SUBCASE("never rewound or deleted") {
    s.set_ref(core::model::k_audit_ref, record(sync));
    CHECK_FALSE(s.decide({s.move(core::model::k_audit_ref, k_zero)}, "adam").ok());
    s.set_ref("refs/envflow/backports", s.base);
    CHECK(has(refusals(s.decide({s.move("refs/envflow/backports", k_zero)}, "bob")),
              "deleting the back-port issues is not allowed"));
  }
  SUBCASE("nor a clone's pending chain") {
    CHECK(has(refusals(s.decide({s.move(core::model::k_pending_ref, record(sync))}, "bob")),
              "never goes to the server"));
  }
}

TEST_CASE("core::server::decide_push: back-port issues") {
  Server s;
  // A hotfix on production and its open issue 1, as `hotfix finish` leaves them.
  const std::string hotfix = s.tweak(s.base, "hotfixed");
  s.set_ref("refs/heads/production", hotfix);
  core::records::BackportIssue issue;
  issue.id = 1;
  issue.hotfix = "x";
  issue.hotfix_tag = "v1.0.1";
  issue.commits = {hotfix};
  issue.summary = "Hotfix";
  issue.environment = "production";
  issue.target = "dev";
  issue.opened_by = "hank";
  issue.opened_at = 1'700'000'000;
  const auto issues_commit = [&](const std::vector<core::records::BackportIssue>& issues,
                                 const std::vector<std::string>& parents) {
    std::map<std::string, std::string> files;
    for (const auto& i : issues) {
      files[i.file_name()] = i.to_yaml();
    }
    std::map<std::string, git::NewFile> entries;
    for (const auto& [path, text] : files) {
      entries[path] = git::NewFile{s.repo().write_blob(text), git::Mode::regular};
    }
    return s.repo().write_commit(s.repo().write_tree(entries), parents, "issues\n",
                                 {"T", "t@x"}, 1'700'000'000);
  };
  const std::string opened = issues_commit({issue}, {});
  const auto backports = [&](const std::string& to) { return s.move(core::model::k_backports_ref, to); };

  SUBCASE("a hotfixer opens an issue for hotfix commits on production") {
    const auto d = s.decide({backports(opened)}, "hank");
    CHECK_MESSAGE(d.ok(), refusals(d));
    CHECK(has(refusals(s.decide({backports(opened)}, "bob")),
              "back-port issue 1 is opened by bob (REMOTE_USER), who is not a hotfixer"));
  }
  s.set_ref(core::model::k_backports_ref, opened);
  core::records::BackportIssue closed = issue;
  closed.status = core::records::BackportIssue::Status::closed;
  closed.closed_by = "auto";
  closed.closed_at = 1'700'000'100;

  SUBCASE("closing before the hotfix is in dev") {
    closed.closed_in = s.base;
    CHECK(has(refusals(s.decide({backports(issues_commit({closed}, {opened}))}, "alice")),
              "back-port issue 1 is closed, but its hotfix commits are not all in dev"));
  }
  SUBCASE("closing with the hotfix brought into dev by the same push") {
    const std::string merge = s.commit({}, {s.base, hotfix}, "bring the hotfix back");
    closed.closed_in = merge;
    const auto d = s.decide({s.branch("dev", merge), backports(issues_commit({closed}, {opened}))},
                            "alice");
    CHECK_MESSAGE(d.ok(), refusals(d));
  }
  SUBCASE("rewriting, deleting, reopening") {
    core::records::BackportIssue rewritten = issue;
    rewritten.commits = {s.base};
    CHECK(has(refusals(s.decide({backports(issues_commit({rewritten}, {opened}))}, "bob")),
              "back-port issue 1 is rewritten"));
    CHECK(has(refusals(s.decide({backports(issues_commit({}, {opened}))}, "bob")),
              "back-port issue 1.yaml is deleted"));
    const std::string merge = s.commit({}, {s.base, hotfix}, "bring the hotfix back");
    s.set_ref("refs/heads/dev", merge);
    closed.closed_in = merge;
    const std::string done = issues_commit({closed}, {opened});
    s.set_ref(core::model::k_backports_ref, done);
    CHECK(has(refusals(s.decide({backports(issues_commit({issue}, {done}))}, "bob")),
              "back-port issue 1 is closed; a closed issue never changes"));
  }
  SUBCASE("not an issue file") {
    const std::string junk = s.repo().write_commit(
        s.repo().update_tree(s.repo().tree_of(opened),
                             {{"notes.txt", git::NewFile{s.repo().write_blob("x"), git::Mode::regular}}}),
        {opened}, "junk\n", {"T", "t@x"}, 1);
    CHECK(has(refusals(s.decide({backports(junk)}, "bob")), "is not a back-port issue file"));
  }
  SUBCASE("an admin may mend by hand") {
    core::records::BackportIssue mended = issue;
    mended.summary = "Hotfix (mended)";
    const auto d = s.decide({backports(issues_commit({mended}, {opened}))}, "adam");
    CHECK_MESSAGE(d.ok(), refusals(d));
  }
}

TEST_CASE("core::server::decide_push: a pushed config must grant what it asks for") {
  Server s;
  s.config.environments[1].approvals = 3;
  s.config.environments[1].approvers = {"release-managers"};
  const std::string impossible =
      s.config_commit(core::policy::render_config(s.config), s.repo().ref_target(core::model::k_config_ref));
  CHECK(has(refusals(s.decide({s.move(core::model::k_config_ref, impossible)}, "adam")),
            "needs 3 approvals, but its approvers (release-managers) have 2 members"));
}

TEST_CASE("core::server::record_push") {
  Server s;
  const std::string next = s.tweak(s.base, "concise");
  const auto count = [&] { return core::model::read_audit(s.repo()).size(); };

  SUBCASE("one record per push, with the pusher as the person they are") {
    const RefMove test{"refs/heads/test", s.base, next};
    s.set_ref("refs/heads/dev", next);
    s.set_ref("refs/heads/test", next);
    s.set_ref(core::model::approval_ref("test", next, "carol"), next);
    const auto result = core::server::record_push(
        s.repo(), nullptr, {test, RefMove{"refs/heads/feature", k_zero, next}},
        as("bob@example.com"), core::remote::PushIntent{"ticket 7", false});
    REQUIRE(result.appended.size() == 1);
    const auto records = core::model::read_audit(s.repo());
    REQUIRE(records.size() == 1);
    CHECK(records[0].op == "sync");
    CHECK(records[0].env == "test");
    CHECK(records[0].actor == "bob");
    // The reason given, then how the server knew the pusher.
    CHECK(records[0].note == "dev -> test (ticket 7) (pusher from REMOTE_USER)");
    CHECK(records[0].approvals == std::vector<std::string>{"carol"});
    // The feature branch is not the pipeline's business.
    REQUIRE(records[0].moves.size() == 1);
    CHECK(records[0].moves[0].ref == "refs/heads/test");
    CHECK(records[0].moves[0].old_id == s.base);
    CHECK(records[0].moves[0].new_id == next);
  }
  SUBCASE("several moves in one push: still one record, holding them all") {
    s.set_ref("refs/heads/dev", next);
    s.set_ref("refs/heads/test", next);
    const auto result = core::server::record_push(
        s.repo(), nullptr,
        {RefMove{"refs/heads/dev", s.base, next}, RefMove{"refs/heads/test", s.base, next}},
        as("adam"));
    REQUIRE(result.appended.size() == 1);
    CHECK(count() == 1);
    CHECK(result.appended[0].moves.size() == 2);
  }
  SUBCASE("a push that moves nothing audited writes nothing") {
    const auto result = core::server::record_push(
        s.repo(), nullptr, {RefMove{"refs/heads/feature", k_zero, next}}, as("alice"));
    CHECK(result.appended.empty());
    CHECK_FALSE(s.repo().ref_target(core::model::k_audit_ref));
  }
  SUBCASE("a move that repeats an older one is recorded again") {
    const std::string a = s.release_tag("v1.0.0", s.base);
    const std::string b = s.release_tag("v1.0.1", s.base);
    s.set_ref("refs/tags/v1.0.0", a);
    s.set_ref("refs/tags/v1.0.1", b);
    core::server::record_push(s.repo(), nullptr, {RefMove{core::model::k_live_ref, k_zero, a}},
                              as("paul"));
    core::server::record_push(s.repo(), nullptr, {RefMove{core::model::k_live_ref, a, b}},
                              as("paul"));
    core::server::record_push(s.repo(), nullptr, {RefMove{core::model::k_live_ref, b, a}},
                              as("paul"));
    const auto again = core::server::record_push(
        s.repo(), nullptr, {RefMove{core::model::k_live_ref, a, b}}, as("paul"));
    CHECK(again.appended.size() == 1);
    CHECK(count() == 4);
  }
  SUBCASE("appends on top of a record written meanwhile") {
    core::model::AuditRecord other;
    other.op = "approve";
    other.actor = "carol";
    other.time = 1;
    core::model::commit_with_audit(s.repo(), {}, other);
    s.set_ref("refs/heads/dev", next);
    core::server::record_push(s.repo(), nullptr, {RefMove{"refs/heads/dev", s.base, next}},
                              as("alice"));
    CHECK(count() == 2);
    CHECK(core::model::read_audit(s.repo()).back().op == "push");
  }
  SUBCASE("a hotfix pushed without its issue gets one, with its own record") {
    const std::string hotfix = s.tweak(s.base, "calm");
    s.set_ref("refs/heads/production", hotfix);
    const auto result = core::server::record_push(
        s.repo(), nullptr, {RefMove{"refs/heads/production", s.base, hotfix}}, as("hank"));
    CHECK(result.appended.size() == 1);
    CHECK(result.appended[0].op == "hotfix");
    REQUIRE(result.notes.size() == 1);
    CHECK(has(result.notes[0], "back-port issue 1 opened for the hotfix pushed to production: "
                               "envflow backport apply 1 brings it into dev"));
    const auto records = core::model::read_audit(s.repo());
    REQUIRE(records.size() == 2);
    CHECK(records[1].op == "backport-open");
    REQUIRE(s.repo().ref_target(core::model::k_backports_ref));
  }
  SUBCASE("no policy: nothing to audit") {
    s.set_ref(core::model::k_config_ref, std::nullopt);
    CHECK(core::server::record_push(s.repo(), nullptr, {RefMove{"refs/heads/dev", s.base, next}},
                                    as("x"))
              .appended.empty());
  }
}
