// The parts of team mode (core/remote, RemoteRefs of core/view) that need
// no server: where a clone keeps the server's refs, the atomic push command
// with its leases and push options, reading `git push --porcelain`, the
// refusal text, and the push options the server's hooks read back.

#include "core/remote/remote.h"
#include "core/model/view.h"
#include "git/repo.h"

#include "support.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace envflow;
using namespace envflow::test;
using core::model::RefMove;

namespace {

const std::string k_c(40, 'c');

} // namespace

TEST_CASE("core::model::RemoteRefs::tracking_name") {
  using core::model::RemoteRefs;
  CHECK(RemoteRefs::tracking_name("origin", "refs/heads/test") == "refs/remotes/origin/test");
  CHECK(RemoteRefs::tracking_name("origin", "refs/envflow/local/uat") ==
        "refs/envflow-remote/origin/envflow/local/uat");
  CHECK(RemoteRefs::tracking_name("origin", "refs/envflow/approvals/test/" + k_a + "/bob") ==
        "refs/envflow-remote/origin/envflow/approvals/test/" + k_a + "/bob");
  CHECK(RemoteRefs::tracking_name("up", "refs/tags/v1.0.0") == "refs/envflow-remote/up/tags/v1.0.0");
  // Prefixes map the same way (names() lists through them).
  CHECK(RemoteRefs::tracking_name("origin", "refs/envflow/") == "refs/envflow-remote/origin/envflow/");
  // Outside the namespaces envflow reads: no tracking name.
  CHECK(RemoteRefs::tracking_name("origin", "refs/notes/commits").empty());
  CHECK(RemoteRefs::tracking_name("origin", "refs/envflowx").empty());
  CHECK(RemoteRefs::tracking_name("origin", "HEAD").empty());
}

TEST_CASE("core::remote::view_refspecs") {
  const auto specs = core::remote::view_refspecs("origin");
  REQUIRE(specs.size() == 3);
  CHECK(specs[0] == "+refs/heads/*:refs/remotes/origin/*");
  CHECK(specs[1] == "+refs/envflow/*:refs/envflow-remote/origin/envflow/*");
  CHECK(specs[2] == "+refs/tags/*:refs/envflow-remote/origin/tags/*");
  for (const auto& spec : specs) {
    // Forced (the server's refs move backwards: a rollback, a released hold)
    // and never onto this clone's own refs.
    CHECK(spec.front() == '+');
    const std::string destination = spec.substr(spec.find(':') + 1);
    CHECK_FALSE(destination.starts_with("refs/envflow/"));
    CHECK_FALSE(destination.starts_with("refs/tags/"));
    CHECK_FALSE(destination.starts_with("refs/heads/"));
  }
}

TEST_CASE("core::model::RemoteRefs reads the server's refs, and pending ones from the clone's own") {
  test::TempRepo clone;
  auto& repo = clone.repo();
  const std::string one = clone.commit({{"a", "1"}});
  const std::string two = clone.commit({{"a", "2"}}, {one});
  const auto set = [&](const std::string& ref, const std::string& id) {
    repo.update_refs({git::RefUpdate{ref, repo.ref_target(ref), id}}, "test");
  };
  set("refs/remotes/origin/test", one);
  set("refs/envflow-remote/origin/envflow/live", one);
  set("refs/envflow-remote/origin/envflow/holds/uat/" + one, one);
  set("refs/envflow-remote/origin/tags/v1.0.0", one);
  set("refs/heads/test", two);            // the clone's own branch: not the server's
  set("refs/envflow/live", two);          // a stale local copy
  set("refs/envflow/holds/uat/" + two, two); // made offline, pending

  SUBCASE("without pending operations, everything is read from the view") {
    const core::model::RemoteRefs view(repo, "origin", {});
    CHECK(view.target("refs/heads/test") == one);
    CHECK(view.target("refs/envflow/live") == one);
    CHECK(view.target("refs/tags/v1.0.0") == one);
    CHECK_FALSE(view.target("refs/heads/uat"));
    CHECK(view.names("refs/envflow/holds/uat/") ==
          std::vector<std::string>{"refs/envflow/holds/uat/" + one});
    CHECK(view.names("refs/tags/") == std::vector<std::string>{"refs/tags/v1.0.0"});
  }
  SUBCASE("pending refs come from the clone's own refs, listed and read") {
    const core::model::RemoteRefs view(repo, "origin", {"refs/envflow/holds/uat/" + two, "refs/heads/test"});
    CHECK(view.target("refs/heads/test") == two);
    CHECK(view.target("refs/envflow/live") == one);
    std::vector<std::string> both{"refs/envflow/holds/uat/" + one, "refs/envflow/holds/uat/" + two};
    std::sort(both.begin(), both.end());
    CHECK(view.names("refs/envflow/holds/uat/") == both);
  }
  SUBCASE("a pending deletion hides the server's ref") {
    const core::model::RemoteRefs view(repo, "origin", {"refs/envflow/holds/uat/" + one});
    CHECK_FALSE(view.target("refs/envflow/holds/uat/" + one));
    CHECK(view.names("refs/envflow/holds/uat/").empty());
  }
  SUBCASE("MovedRefs on top: moved, created, deleted") {
    const core::model::RemoteRefs view(repo, "origin", {});
    const core::model::MovedRefs moved(view, {RefMove{"refs/heads/test", one, two},
                                       RefMove{"refs/envflow/holds/uat/" + one, one, k_zero},
                                       RefMove{"refs/envflow/holds/uat/" + two, k_zero, two}});
    CHECK(moved.target("refs/heads/test") == two);
    CHECK(moved.target("refs/envflow/live") == one);
    CHECK_FALSE(moved.target("refs/envflow/holds/uat/" + one));
    CHECK(moved.names("refs/envflow/holds/") ==
          std::vector<std::string>{"refs/envflow/holds/uat/" + two});
  }
}

TEST_CASE("core::remote::push_command") {
  const std::vector<RefMove> moves{{"refs/heads/test", k_a, k_b},
                                   {"refs/tags/v1.0.0", k_zero, k_c},
                                   {"refs/envflow/holds/uat/" + k_a, k_a, k_zero},
                                   {"refs/envflow/approvals/test/" + k_b + "/bob", "", k_b}};
  SUBCASE("one atomic push, a lease on every ref's old value (empty: must not exist)") {
    const std::vector<std::string> expected{
        "git",
        "push",
        "--atomic",
        "--porcelain",
        "upstream",
        "--force-with-lease=refs/heads/test:" + k_a,
        "--force-with-lease=refs/tags/v1.0.0:",
        "--force-with-lease=refs/envflow/holds/uat/" + k_a + ":" + k_a,
        "--force-with-lease=refs/envflow/approvals/test/" + k_b + "/bob:",
        k_b + ":refs/heads/test",
        k_c + ":refs/tags/v1.0.0",
        ":refs/envflow/holds/uat/" + k_a,
        k_b + ":refs/envflow/approvals/test/" + k_b + "/bob"};
    CHECK(core::remote::push_command("upstream", moves) == expected);
    // The audit trail is never pushed: the server writes it.
    for (const auto& arg : core::remote::push_command("upstream", moves)) {
      CHECK_FALSE(has(arg, "refs/envflow/audit"));
    }
  }
  SUBCASE("push options: the reason and sync --auto, before the remote") {
    core::remote::PushIntent intent;
    intent.reason = "  incident 42\nsecond line\r\n ";
    intent.automatic = true;
    const auto argv = core::remote::push_command("origin", {moves[0]}, intent);
    const std::vector<std::string> expected{"git",
                                            "push",
                                            "--atomic",
                                            "--porcelain",
                                            "--push-option=envflow.reason=incident 42 second line",
                                            "--push-option=envflow.auto=1",
                                            "origin",
                                            "--force-with-lease=refs/heads/test:" + k_a,
                                            k_b + ":refs/heads/test"};
    CHECK(argv == expected);
  }
  SUBCASE("a blank reason is no option; a long one is cut") {
    core::remote::PushIntent blank;
    blank.reason = " \n ";
    CHECK(core::remote::push_command("origin", {moves[0]}, blank).size() == 7);
    core::remote::PushIntent lengthy;
    lengthy.reason = std::string(5000, 'x');
    const auto argv = core::remote::push_command("origin", {moves[0]}, lengthy);
    REQUIRE(argv.size() == 8);
    CHECK(argv[4].size() < 1100);
    CHECK(argv[4].starts_with("--push-option=envflow.reason=xxx"));
  }
}

TEST_CASE("core::remote::intent_from_push_options") {
  CHECK_FALSE(core::remote::intent_from_push_options({}).automatic);
  CHECK(core::remote::intent_from_push_options({}).reason.empty());
  const auto intent = core::remote::intent_from_push_options(
      {"ci.skip", "envflow.reason=rolled back: bad prompt", "envflow.auto=1", "other=1"});
  CHECK(intent.reason == "rolled back: bad prompt");
  CHECK(intent.automatic);
  CHECK_FALSE(core::remote::intent_from_push_options({"envflow.auto=0"}).automatic);
  CHECK_FALSE(core::remote::intent_from_push_options({"envflow.auto=yes"}).automatic);
  // A reason stays one line, whatever a hostile client sends.
  CHECK(core::remote::intent_from_push_options({"envflow.reason=a\nop: approve"}).reason ==
        "a op: approve");
  // What push_command sends, the hook reads back.
  core::remote::PushIntent sent;
  sent.reason = "freeze for the audit";
  sent.automatic = true;
  std::vector<std::string> options;
  for (const auto& arg : core::remote::push_command("origin", {{"refs/heads/test", k_a, k_b}}, sent)) {
    if (arg.starts_with("--push-option=")) {
      options.push_back(arg.substr(std::string("--push-option=").size()));
    }
  }
  const auto back = core::remote::intent_from_push_options(options);
  CHECK(back.reason == sent.reason);
  CHECK(back.automatic);
}

TEST_CASE("core::remote::parse_push_porcelain") {
  SUBCASE("accepted") {
    const std::string out = "To /srv/git/shop.git\n"
                            " \t" + k_b + ":refs/heads/test\ta1b2c3d..e4f5a6b\n"
                            "*\t" + k_c + ":refs/tags/v1.0.0\t[new tag]\n"
                            "=\t" + k_a + ":refs/envflow/live\t[up to date]\n"
                            "Done\n";
    const auto statuses = core::remote::parse_push_porcelain(out);
    REQUIRE(statuses.size() == 3);
    CHECK(statuses[0].flag == ' ');
    CHECK(statuses[0].from == k_b);
    CHECK(statuses[0].to == "refs/heads/test");
    CHECK(statuses[0].summary == "a1b2c3d..e4f5a6b");
    CHECK(statuses[0].reason.empty());
    CHECK_FALSE(statuses[0].rejected());
    CHECK(statuses[1].flag == '*');
    CHECK(statuses[1].summary == "[new tag]");
    CHECK(statuses[2].flag == '=');
  }
  SUBCASE("a lost lease in an atomic push") {
    const std::string out = "To ../o.git\n"
                            "!\t" + k_b + ":refs/envflow/local/test\t[rejected] (atomic push failed)\n"
                            "!\t" + k_b + ":refs/heads/test\t[rejected] (stale info)\n"
                            "Done\n";
    const auto statuses = core::remote::parse_push_porcelain(out);
    REQUIRE(statuses.size() == 2);
    CHECK(statuses[0].rejected());
    CHECK(statuses[0].summary == "[rejected]");
    CHECK(statuses[0].reason == "atomic push failed");
    CHECK(statuses[1].to == "refs/heads/test");
    CHECK(statuses[1].reason == "stale info");
  }
  SUBCASE("a deletion and a forced update") {
    const std::string out = "-\t:refs/heads/old\t[deleted]\n"
                            "+\t" + k_a + ":refs/heads/x\t1111111...2222222 (forced update)\r\n";
    const auto statuses = core::remote::parse_push_porcelain(out);
    REQUIRE(statuses.size() == 2);
    CHECK(statuses[0].from.empty());
    CHECK(statuses[0].to == "refs/heads/old");
    CHECK(statuses[1].summary == "1111111...2222222");
    CHECK(statuses[1].reason == "forced update");
  }
  SUBCASE("no status lines") { CHECK(core::remote::parse_push_porcelain("fatal: nope\n").empty()); }
  SUBCASE("lines that only look like status lines") {
    CHECK(core::remote::parse_push_porcelain("!x\tfoo\n?\ta:b\tc\n!\tonly-one-field\n").empty());
  }
}

TEST_CASE("core::remote::remote_lines") {
  const std::string err =
      "remote: envflow: push rejected, nothing was changed (bob (REMOTE_USER))        \n"
      "remote: \n"
      "remote: envflow: refs/heads/test: bob may not promote into test\n"
      "error: failed to push some refs to '../o.git'\n"
      "Counting objects: 50%\rCounting objects: 100%\rremote: done.   \n";
  const auto lines = core::remote::remote_lines(err);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "remote: envflow: push rejected, nothing was changed (bob (REMOTE_USER))");
  CHECK(lines[1] == "remote: envflow: refs/heads/test: bob may not promote into test");
  CHECK(lines[2] == "remote: done.");
  CHECK(core::remote::remote_lines("").empty());
}

TEST_CASE("core::remote::describe_refusal") {
  using core::remote::PushStatus;
  SUBCASE("a lost lease names the ref and says to run it again") {
    const std::vector<PushStatus> statuses{
        {'!', k_b, "refs/envflow/local/test", "[rejected]", "atomic push failed"},
        {'!', k_b, "refs/heads/test", "[rejected]", "stale info"}};
    const std::string text = core::remote::describe_refusal("origin", statuses, {});
    CHECK(has(text, "refs/heads/test: origin moved it since this operation read it"));
    CHECK(has(text, "run it again"));
    CHECK_FALSE(has(text, "refs/envflow/local/test")); // collateral only
  }
  SUBCASE("the server's hook: one line, then what it said") {
    const std::vector<PushStatus> statuses{
        {'!', k_b, "refs/envflow/local/test", "[remote rejected]", "pre-receive hook declined"},
        {'!', k_b, "refs/heads/test", "[remote rejected]", "pre-receive hook declined"}};
    const std::string text = core::remote::describe_refusal(
        "origin", statuses, {"remote: envflow: refs/heads/test: alice may not promote into test"});
    CHECK(text == "\n  origin's pre-receive hook declined the push (refs/envflow/local/test, "
                  "refs/heads/test); it said:\nremote: envflow: refs/heads/test: alice may not "
                  "promote into test");
  }
  SUBCASE("a compare-and-swap lost on the server") {
    const std::vector<PushStatus> statuses{
        {'!', k_b, "refs/heads/test", "[remote rejected]", "failed to update ref"}};
    const std::string text = core::remote::describe_refusal("origin", statuses, {});
    CHECK(has(text, "moved it while this push was under way"));
  }
  SUBCASE("the server's own compare-and-swap failed") {
    const std::vector<PushStatus> statuses{
        {'!', k_b, "refs/envflow/local/test", "[remote rejected]", "atomic transaction failed"},
        {'!', k_b, "refs/heads/test", "[remote rejected]", "atomic transaction failed"}};
    const std::string lock = "remote: error: cannot lock ref 'refs/heads/test': is at " + k_a +
                             " but expected " + k_c;
    CHECK(core::remote::describe_refusal("origin", statuses, {lock}) ==
          "\n  origin could not apply the push (refs/envflow/local/test, refs/heads/test): a ref "
          "moved there while this push was under way, another push got there first; run the "
          "command again\n" + lock);
    CHECK(core::remote::describe_refusal("origin", statuses, {}) ==
          "\n  origin could not apply the push (refs/envflow/local/test, refs/heads/test)");
  }
  SUBCASE("anything else is shown as git said it") {
    const std::vector<PushStatus> statuses{
        {'!', k_b, "refs/heads/test", "[rejected]", "non-fast-forward"}};
    CHECK(core::remote::describe_refusal("origin", statuses, {}) ==
          "\n  refs/heads/test: [rejected] (non-fast-forward)");
  }
  SUBCASE("only collateral rejections: the atomic push failed") {
    const std::vector<PushStatus> statuses{
        {'!', k_b, "refs/heads/test", "[rejected]", "atomic push failed"}};
    CHECK(core::remote::describe_refusal("origin", statuses, {}) == "\n  the atomic push failed");
  }
  SUBCASE("nothing rejected: nothing to say") {
    const std::vector<PushStatus> statuses{{' ', k_b, "refs/heads/test", "a..b", ""}};
    CHECK(core::remote::describe_refusal("origin", statuses, {}).empty());
  }
}
