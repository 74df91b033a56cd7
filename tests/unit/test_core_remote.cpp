// The parts of --push (core/remote) that need no repository and no process:
// the mirror names, the moved refs, the push command line, reading
// `git push --porcelain`, the refusal text, and the alignment decisions.

#include "core/remote.h"

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

using namespace envflow;
using core::RefMove;

namespace {

const std::string k_a(40, 'a');
const std::string k_b(40, 'b');
const std::string k_c(40, 'c');

} // namespace

TEST_CASE("core::mirror_ref") {
  CHECK(core::mirror_ref("origin", "refs/heads/test") == "refs/envflow-remote/origin/heads/test");
  CHECK(core::mirror_ref("origin", "refs/envflow/local/uat") ==
        "refs/envflow-remote/origin/envflow/local/uat");
  CHECK(core::mirror_ref("up", "refs/tags/v1.0.0") == "refs/envflow-remote/up/tags/v1.0.0");
  CHECK(core::mirror_ref("origin", "refs/notes/commits").empty());
  CHECK(core::mirror_ref("origin", "refs/envflowx").empty());
}

TEST_CASE("core::mirror_refspecs") {
  const auto specs = core::mirror_refspecs("origin");
  REQUIRE(specs.size() == 3);
  CHECK(specs[0] == "+refs/heads/*:refs/envflow-remote/origin/heads/*");
  CHECK(specs[1] == "+refs/envflow/*:refs/envflow-remote/origin/envflow/*");
  CHECK(specs[2] == "+refs/tags/*:refs/envflow-remote/origin/tags/*");
  for (const auto& spec : specs) {
    // Never into the local refs/envflow/* themselves.
    CHECK(spec.find(":refs/envflow/") == std::string::npos);
  }
}

TEST_CASE("core::moved_refs") {
  const core::RefValues before{{"refs/heads/test", k_a},
                               {"refs/envflow/audit", k_a},
                               {"refs/heads/dev", k_b},
                               {"refs/tags/old", k_c}};
  SUBCASE("nothing moved") { CHECK(core::moved_refs(before, before).empty()); }
  SUBCASE("moved, created and deleted, sorted by name") {
    core::RefValues after = before;
    after["refs/heads/test"] = k_b;
    after["refs/envflow/audit"] = k_c;
    after["refs/tags/v1.0.0"] = k_a;
    after.erase("refs/tags/old");
    const auto moves = core::moved_refs(before, after);
    REQUIRE(moves.size() == 4);
    CHECK(moves[0].ref == "refs/envflow/audit");
    CHECK(moves[0].old_id == k_a);
    CHECK(moves[0].new_id == k_c);
    CHECK(moves[1].ref == "refs/heads/test");
    CHECK(moves[2].ref == "refs/tags/old");
    CHECK(moves[2].old_id == k_c);
    CHECK(moves[2].new_id.empty());
    CHECK(moves[3].ref == "refs/tags/v1.0.0");
    CHECK(moves[3].old_id.empty());
    CHECK(moves[3].new_id == k_a);
  }
}

TEST_CASE("core::push_command") {
  const std::vector<RefMove> moves{{"refs/envflow/audit", k_a, k_b},
                                   {"refs/tags/v1.0.0", "", k_c},
                                   {"refs/heads/gone", k_a, ""}};
  const std::vector<std::string> expected{"git",
                                          "push",
                                          "--atomic",
                                          "--porcelain",
                                          "upstream",
                                          "--force-with-lease=refs/envflow/audit:" + k_a,
                                          "--force-with-lease=refs/tags/v1.0.0:",
                                          "--force-with-lease=refs/heads/gone:" + k_a,
                                          k_b + ":refs/envflow/audit",
                                          k_c + ":refs/tags/v1.0.0",
                                          ":refs/heads/gone"};
  CHECK(core::push_command("upstream", moves) == expected);
}

TEST_CASE("core::parse_push_porcelain") {
  SUBCASE("accepted") {
    const std::string out = "To /srv/git/shop.git\n"
                            " \t" + k_b + ":refs/heads/test\ta1b2c3d..e4f5a6b\n"
                            "*\t" + k_c + ":refs/tags/v1.0.0\t[new tag]\n"
                            "=\t" + k_a + ":refs/envflow/live\t[up to date]\n"
                            "Done\n";
    const auto statuses = core::parse_push_porcelain(out);
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
                            "!\t" + k_b + ":refs/envflow/audit\t[rejected] (atomic push failed)\n"
                            "!\t" + k_b + ":refs/heads/test\t[rejected] (stale info)\n"
                            "Done\n";
    const auto statuses = core::parse_push_porcelain(out);
    REQUIRE(statuses.size() == 2);
    CHECK(statuses[0].rejected());
    CHECK(statuses[0].summary == "[rejected]");
    CHECK(statuses[0].reason == "atomic push failed");
    CHECK(statuses[1].to == "refs/heads/test");
    CHECK(statuses[1].reason == "stale info");
  }
  SUBCASE("a deletion and a forced update") {
    const std::string out = "-\t:refs/heads/old\t[deleted]\n"
                            "+\t" + k_a + ":refs/heads/x\t1111111...2222222 (forced update)\n";
    const auto statuses = core::parse_push_porcelain(out);
    REQUIRE(statuses.size() == 2);
    CHECK(statuses[0].from.empty());
    CHECK(statuses[0].to == "refs/heads/old");
    CHECK(statuses[1].summary == "1111111...2222222");
    CHECK(statuses[1].reason == "forced update");
  }
  SUBCASE("no status lines") { CHECK(core::parse_push_porcelain("fatal: nope\n").empty()); }
}

TEST_CASE("core::remote_lines") {
  const std::string err =
      "remote: envflow: push rejected, nothing was changed (bob (REMOTE_USER))        \n"
      "remote: \n"
      "remote: envflow: refs/heads/test: bob may not promote into test\n"
      "error: failed to push some refs to '../o.git'\n"
      "Counting objects: 50%\rCounting objects: 100%\rremote: done.   \n";
  const auto lines = core::remote_lines(err);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "remote: envflow: push rejected, nothing was changed (bob (REMOTE_USER))");
  CHECK(lines[1] == "remote: envflow: refs/heads/test: bob may not promote into test");
  CHECK(lines[2] == "remote: done.");
}

TEST_CASE("core::describe_refusal") {
  using core::PushStatus;
  SUBCASE("a lost race names the ref and says to run it again") {
    const std::vector<PushStatus> statuses{
        {'!', k_b, "refs/envflow/audit", "[rejected]", "atomic push failed"},
        {'!', k_b, "refs/heads/test", "[rejected]", "stale info"}};
    const std::string text = core::describe_refusal("origin", statuses, {});
    CHECK(text.find("refs/heads/test: origin moved it since this run fetched it") !=
          std::string::npos);
    CHECK(text.find("run the command again") != std::string::npos);
    CHECK(text.find("refs/envflow/audit") == std::string::npos); // collateral only
  }
  SUBCASE("the server's hook: one line, then what it said") {
    const std::vector<PushStatus> statuses{
        {'!', k_b, "refs/envflow/audit", "[remote rejected]", "pre-receive hook declined"},
        {'!', k_b, "refs/heads/test", "[remote rejected]", "pre-receive hook declined"}};
    const std::string text = core::describe_refusal(
        "origin", statuses, {"remote: envflow: refs/heads/test: alice may not promote into test"});
    CHECK(text ==
          "\n  origin's pre-receive hook declined the push (refs/envflow/audit, refs/heads/test); "
          "it said:\nremote: envflow: refs/heads/test: alice may not promote into test");
  }
  SUBCASE("a compare-and-swap lost on the server") {
    const std::vector<PushStatus> statuses{
        {'!', k_b, "refs/heads/test", "[remote rejected]", "failed to update ref"}};
    const std::string text = core::describe_refusal("origin", statuses, {});
    CHECK(text.find("moved it while this push was under way") != std::string::npos);
  }
  SUBCASE("the server's own compare-and-swap failed") {
    const std::vector<PushStatus> statuses{
        {'!', k_b, "refs/envflow/audit", "[remote rejected]", "atomic transaction failed"},
        {'!', k_b, "refs/heads/test", "[remote rejected]", "atomic transaction failed"}};
    const std::string lock = "remote: error: cannot lock ref 'refs/envflow/audit': is at " + k_a +
                             " but expected " + k_c;
    CHECK(core::describe_refusal("origin", statuses, {lock}) ==
          "\n  origin could not apply the push (refs/envflow/audit, refs/heads/test): a ref moved "
          "there while this push was under way, another push got there first; run the command "
          "again\n" + lock);
    CHECK(core::describe_refusal("origin", statuses, {}) ==
          "\n  origin could not apply the push (refs/envflow/audit, refs/heads/test)");
  }
  SUBCASE("anything else is shown as git said it") {
    const std::vector<PushStatus> statuses{
        {'!', k_b, "refs/heads/test", "[rejected]", "non-fast-forward"}};
    CHECK(core::describe_refusal("origin", statuses, {}) ==
          "\n  refs/heads/test: [rejected] (non-fast-forward)");
  }
}

TEST_CASE("core::plan_alignment") {
  using core::AlignConflict;
  using core::Relation;
  // The relation is given per ref, as the repository would compute it.
  std::map<std::string, Relation> relations;
  auto relate = [&relations](const std::string& ref, const std::string&, const std::string&) {
    return relations.at(ref);
  };
  SUBCASE("equal refs stay, missing ones are created, behind ones move") {
    const core::RefValues local{{"refs/heads/dev", k_a}, {"refs/envflow/audit", k_a}};
    const core::RefValues remote{{"refs/heads/dev", k_a},
                                 {"refs/envflow/audit", k_b},
                                 {"refs/heads/test", k_c}};
    relations["refs/envflow/audit"] = Relation::behind;
    const auto plan = core::plan_alignment(local, remote, relate);
    CHECK(plan.conflicts.empty());
    REQUIRE(plan.moves.size() == 2);
    CHECK(plan.moves[0].ref == "refs/envflow/audit");
    CHECK(plan.moves[0].old_id == k_a);
    CHECK(plan.moves[0].new_id == k_b);
    CHECK(plan.moves[1].ref == "refs/heads/test");
    CHECK(plan.moves[1].old_id.empty());
    CHECK(plan.moves[1].new_id == k_c);
  }
  SUBCASE("work only here is a conflict: ahead, diverged, or a ref the remote lacks") {
    const core::RefValues local{{"refs/heads/dev", k_a},
                                {"refs/heads/test", k_a},
                                {"refs/envflow/local/test", k_a},
                                {"refs/envflow/audit", k_a}};
    const core::RefValues remote{{"refs/heads/dev", k_b},
                                 {"refs/heads/test", k_b},
                                 {"refs/envflow/audit", k_b}};
    relations["refs/heads/dev"] = Relation::ahead;
    relations["refs/heads/test"] = Relation::diverged;
    relations["refs/envflow/audit"] = Relation::behind;
    const auto plan = core::plan_alignment(local, remote, relate);
    REQUIRE(plan.conflicts.size() == 3);
    CHECK(plan.conflicts[0].ref == "refs/heads/dev");
    CHECK(plan.conflicts[0].kind == AlignConflict::Kind::ahead);
    CHECK(plan.conflicts[1].ref == "refs/heads/test");
    CHECK(plan.conflicts[1].kind == AlignConflict::Kind::diverged);
    CHECK(plan.conflicts[2].ref == "refs/envflow/local/test");
    CHECK(plan.conflicts[2].kind == AlignConflict::Kind::local_only);
  }
}
