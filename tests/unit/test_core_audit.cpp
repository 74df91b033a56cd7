#include <doctest/doctest.h>

#include "support.h"

#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/model/audit.h"
#include "git/repo.h"
#include "util/error.h"

using namespace envflow;
using namespace envflow::test;

namespace {


core::model::AuditRecord sample_record() {
  core::model::AuditRecord record;
  record.op = "sync";
  record.env = "test";
  record.actor = "alice@example.com";
  record.time = 1'767'225'600; // 2026-01-01T00:00:00Z
  record.tool = "envflow 0.1.0";
  record.moves = {{"refs/heads/test", k_a, k_b}, {"refs/envflow/local/test", k_zero, k_a}};
  record.commit = k_b;
  record.approvals = {"bob@example.com", "carol@example.com"};
  record.note = "promoted after review";
  return record;
}

} // namespace

TEST_CASE("core::model::AuditRecord") {
  SUBCASE("the message holds one key: value line per field") {
    const std::string message = sample_record().to_message();
    CHECK(message.rfind("envflow sync test\n\n", 0) == 0);
    CHECK(message.find("\nop: sync\n") != std::string::npos);
    CHECK(message.find("\nenv: test\n") != std::string::npos);
    CHECK(message.find("\nactor: alice@example.com\n") != std::string::npos);
    CHECK(message.find("\ntime: 2026-01-01T00:00:00Z\n") != std::string::npos);
    CHECK(message.find("\ntool: envflow 0.1.0\n") != std::string::npos);
    CHECK(message.find("\nmove: refs/heads/test " + k_a + " " + k_b + "\n") != std::string::npos);
    CHECK(message.find("\nmove: refs/envflow/local/test " + k_zero + " " + k_a + "\n") !=
          std::string::npos);
    CHECK(message.find("\ncommit: " + k_b + "\n") != std::string::npos);
    CHECK(message.find("\napproval: bob@example.com\napproval: carol@example.com\n") !=
          std::string::npos);
    CHECK(message.find("\nnote: promoted after review\n") != std::string::npos);
  }

  SUBCASE("round trip") {
    const core::model::AuditRecord record = sample_record();
    const auto back = core::model::AuditRecord::from_message(record.to_message());
    REQUIRE(back.has_value());
    CHECK(back->op == record.op);
    CHECK(back->env == record.env);
    CHECK(back->actor == record.actor);
    CHECK(back->time == record.time);
    CHECK(back->tool == record.tool);
    CHECK(back->commit == record.commit);
    CHECK(back->approvals == record.approvals);
    CHECK(back->note == record.note);
    REQUIRE(back->moves.size() == 2);
    CHECK(back->moves[0].ref == "refs/heads/test");
    CHECK(back->moves[0].old_id == k_a);
    CHECK(back->moves[0].new_id == k_b);
    CHECK(back->moves[1].ref == "refs/envflow/local/test");
    CHECK(back->moves[1].old_id == k_zero);
    CHECK(back->id.empty());
  }

  SUBCASE("a minimal record leaves optional fields out") {
    core::model::AuditRecord record;
    record.op = "init";
    record.actor = "alice@example.com";
    record.time = 1;
    record.tool = "envflow 0.1.0";
    const std::string message = record.to_message();
    CHECK(message.rfind("envflow init\n\n", 0) == 0);
    CHECK(message.find("env:") == std::string::npos);
    CHECK(message.find("commit:") == std::string::npos);
    CHECK(message.find("note:") == std::string::npos);
    const auto back = core::model::AuditRecord::from_message(message);
    REQUIRE(back.has_value());
    CHECK(back->env.empty());
    CHECK(back->moves.empty());
    CHECK(back->approvals.empty());
  }

  SUBCASE("a note stays on one line") {
    core::model::AuditRecord record = sample_record();
    record.note = "first line\nsecond line";
    const auto back = core::model::AuditRecord::from_message(record.to_message());
    REQUIRE(back.has_value());
    CHECK(back->note == "first line second line");
  }

  SUBCASE("no field can add another: line breaks in any field become spaces (fuzz finding)") {
    core::model::AuditRecord record = sample_record();
    record.actor = "eve\nop: publish";
    record.env = "test\nnote: forged";
    record.approvals = {"bob\napproval: mallory"};
    const std::string message = record.to_message();
    CHECK(message.find("\nop: publish") == std::string::npos);
    const auto back = core::model::AuditRecord::from_message(message);
    REQUIRE(back.has_value());
    CHECK(back->op == "sync");
    CHECK(back->actor == "eve op: publish");
    CHECK(back->env == "test note: forged");
    CHECK(back->note == record.note);
    CHECK(back->approvals == std::vector<std::string>{"bob approval: mallory"});
    CHECK(back->to_message() == message);
  }

  SUBCASE("malformed records") {
    CHECK_FALSE(core::model::AuditRecord::from_message("").has_value());
    CHECK_FALSE(core::model::AuditRecord::from_message("just a commit message\n").has_value());
    CHECK_FALSE(core::model::AuditRecord::from_message("envflow sync\n\nenv: test\nactor: a\n")
                    .has_value()); // no op
    CHECK_FALSE(
        core::model::AuditRecord::from_message("op: sync\nmove: refs/heads/test " + k_a + "\n")
            .has_value()); // move with two fields
    CHECK_FALSE(core::model::AuditRecord::from_message("op: sync\nmove: refs/heads/test " + k_a +
                                                       " " + k_b + " extra\n")
                    .has_value());
  }

  SUBCASE("unknown keys and lines are ignored; a bad time reads as 0") {
    const auto back = core::model::AuditRecord::from_message(
        "envflow sync\n\nop: sync\nfuture: field\nfree text line\ntime: yesterday\n");
    REQUIRE(back.has_value());
    CHECK(back->op == "sync");
    CHECK(back->time == 0);
  }
}

TEST_CASE("core::model::commit_with_audit") {
  TempRepo temp;
  git::Repository& repo = temp.repo();
  const std::string c1 = temp.commit({{"file.txt", "one"}}, {}, "one\n");
  const std::string c2 = temp.commit({{"file.txt", "two"}}, {c1}, "two\n");

  core::model::AuditRecord record;
  record.op = "sync";
  record.env = "test";
  record.actor = "alice@example.com";
  record.time = 1'767'225'600;

  SUBCASE("refs and the record move together") {
    core::model::commit_with_audit(
        repo, {{"refs/heads/test", std::nullopt, c1}, {"refs/envflow/live", std::nullopt, c2}},
        record);
    CHECK(repo.ref_target("refs/heads/test") == c1);
    CHECK(repo.ref_target("refs/envflow/live") == c2);
    const auto records = core::model::read_audit(repo);
    REQUIRE(records.size() == 1);
    const core::model::AuditRecord& written = records[0];
    CHECK(written.op == "sync");
    CHECK(written.env == "test");
    CHECK(written.actor == "alice@example.com");
    CHECK(written.time == 1'767'225'600);
    CHECK(written.tool == std::string("envflow ") + ENVFLOW_VERSION);
    CHECK(written.id == repo.ref_target(core::model::k_audit_ref));
    REQUIRE(written.moves.size() == 2);
    CHECK(written.moves[0].ref == "refs/heads/test");
    CHECK(written.moves[0].old_id == k_zero);
    CHECK(written.moves[0].new_id == c1);
    CHECK(written.moves[1].ref == "refs/envflow/live");
    const git::CommitInfo info = repo.commit(written.id);
    CHECK(info.tree == std::string(git::k_empty_tree_id));
    CHECK(info.parents.empty());
  }

  SUBCASE("moves the record names are kept (a pending deletion of a ref this clone lacks)") {
    record.moves = {{"refs/envflow/holds/uat/" + k_a, k_a, k_zero}, {"refs/heads/test", k_zero, c1}};
    core::model::commit_with_audit(repo, {{"refs/heads/test", std::nullopt, c1}}, record);
    const auto records = core::model::read_audit(repo);
    REQUIRE(records.size() == 1);
    REQUIRE(records[0].moves.size() == 2);
    CHECK(records[0].moves[0].ref == "refs/envflow/holds/uat/" + k_a);
    CHECK(records[0].moves[1].new_id == c1);
  }

  SUBCASE("records chain, oldest first") {
    core::model::commit_with_audit(repo, {{"refs/heads/test", std::nullopt, c1}}, record);
    record.op = "rollback";
    core::model::commit_with_audit(repo, {{"refs/heads/test", c1, c2}}, record);
    record.op = "unset";
    core::model::commit_with_audit(repo, {{"refs/heads/test", c2, std::nullopt}}, record);
    CHECK_FALSE(repo.ref_target("refs/heads/test").has_value());
    const auto records = core::model::read_audit(repo);
    REQUIRE(records.size() == 3);
    CHECK(records[0].op == "sync");
    CHECK(records[1].op == "rollback");
    CHECK(records[2].op == "unset");
    CHECK(records[1].moves[0].old_id == c1);
    CHECK(records[1].moves[0].new_id == c2);
    CHECK(records[2].moves[0].new_id == k_zero);
    CHECK(repo.commit(records[1].id).parents == std::vector<std::string>{records[0].id});
    CHECK(repo.commit(records[2].id).parents == std::vector<std::string>{records[1].id});
  }

  SUBCASE("a record with no ref updates still appends") {
    record.op = "approve";
    record.commit = c1;
    core::model::commit_with_audit(repo, {}, record);
    const auto records = core::model::read_audit(repo);
    REQUIRE(records.size() == 1);
    CHECK(records[0].moves.empty());
    CHECK(records[0].commit == c1);
  }

  SUBCASE("a moved ref refuses and changes nothing") {
    core::model::commit_with_audit(repo, {{"refs/heads/test", std::nullopt, c1}}, record);
    const auto audit_before = repo.ref_target(core::model::k_audit_ref);
    // Someone moved test to c2 since this operation read c1... expected is stale.
    repo.update_refs({{"refs/heads/test", c1, c2}}, "someone else");
    bool conflict = false;
    try {
      core::model::commit_with_audit(
          repo, {{"refs/heads/test", c1, c1}, {"refs/heads/uat", std::nullopt, c1}}, record);
    } catch (const util::RefConflict& e) {
      conflict = true;
      CHECK(e.ref() == "refs/heads/test");
    }
    CHECK(conflict);
    CHECK(repo.ref_target("refs/heads/test") == c2);
    CHECK_FALSE(repo.ref_target("refs/heads/uat").has_value());
    CHECK(repo.ref_target(core::model::k_audit_ref) == audit_before);
    CHECK(core::model::read_audit(repo).size() == 1);
  }

  SUBCASE("a ref that must not exist but does refuses") {
    repo.update_refs({{"refs/heads/test", std::nullopt, c1}}, "by hand");
    CHECK_THROWS_AS(
        core::model::commit_with_audit(repo, {{"refs/heads/test", std::nullopt, c2}}, record),
        util::RefConflict);
    CHECK(repo.ref_target("refs/heads/test") == c1);
    CHECK_FALSE(repo.ref_target(core::model::k_audit_ref).has_value());
  }

  SUBCASE("time and tool are filled in when left empty") {
    setenv("ENVFLOW_NOW", "1767225601", 1);
    record.time = 0;
    record.tool.clear();
    core::model::commit_with_audit(repo, {{"refs/heads/test", std::nullopt, c1}}, record);
    unsetenv("ENVFLOW_NOW");
    const auto records = core::model::read_audit(repo);
    REQUIRE(records.size() == 1);
    CHECK(records[0].time == 1'767'225'601);
    CHECK(records[0].tool == std::string("envflow ") + ENVFLOW_VERSION);
  }

  SUBCASE("when only the audit ref moves meanwhile, the record is re-parented and retried") {
    // Two writers on their own refs race for refs/envflow/audit: every
    // record lands, on one linear chain, and each ref ends where its
    // writer left it.
    constexpr int k_rounds = 15;
    std::vector<std::thread> writers;
    std::vector<std::string> failures(2);
    for (int w = 0; w < 2; ++w) {
      writers.emplace_back([&, w] {
        try {
          git::Repository own = git::Repository::open(temp.path());
          const std::string ref = "refs/heads/writer" + std::to_string(w);
          std::optional<std::string> at;
          for (int i = 0; i < k_rounds; ++i) {
            const std::string next = i % 2 == 0 ? c1 : c2;
            core::model::AuditRecord r = record;
            r.op = "writer" + std::to_string(w);
            core::model::commit_with_audit(own, {{ref, at, next}}, r);
            at = next;
          }
        } catch (const std::exception& e) {
          failures[static_cast<size_t>(w)] = e.what();
        }
      });
    }
    for (auto& writer : writers) {
      writer.join();
    }
    CHECK(failures[0] == "");
    CHECK(failures[1] == "");
    const auto records = core::model::read_audit(repo);
    CHECK(records.size() == 2 * k_rounds);
    for (size_t i = 1; i < records.size(); ++i) {
      CHECK(repo.commit(records[i].id).parents == std::vector<std::string>{records[i - 1].id});
    }
    CHECK(repo.ref_target("refs/heads/writer0") == c1);
    CHECK(repo.ref_target("refs/heads/writer1") == c1);
  }
}
