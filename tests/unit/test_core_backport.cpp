#include "core/records/backport.h"
#include "core/release/hotfix.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/process.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support.h"

using namespace envflow;
using namespace envflow::test;

namespace {

const std::string k_where = "refs/envflow/backports:3.yaml";

core::records::BackportIssue sample_issue() {
  core::records::BackportIssue issue;
  issue.id = 3;
  issue.hotfix = "fix-tone";
  issue.hotfix_tag = "v1.0.1";
  issue.commits = {k_a, k_b};
  issue.changes = {{"agents/support.yaml", "Agent", "support", "changed", {"tone", "model.temperature"}},
                   {"variables/x.yaml", "Variable", "x", "added", {}}};
  issue.summary = "Tone: \"friendly\" again\n(second line) # not a comment";
  issue.environment = "production";
  issue.target = "dev";
  issue.opened_by = "alice@example.com";
  issue.opened_at = 1'767'225'600; // 2026-01-01T00:00:00Z
  return issue;
}

// `text` with the first `from` replaced by `to`.
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

std::string parse_refusal(const std::string& text) {
  try {
    core::records::BackportIssue::parse(text, k_where);
  } catch (const util::Refused& e) {
    return e.what();
  }
  return "(accepted)";
}

} // namespace

TEST_CASE("core::backport record: emit and parse round trip") {
  SUBCASE("an open issue") {
    const core::records::BackportIssue issue = sample_issue();
    const std::string text = issue.to_yaml();
    CHECK(text.find("\nid: 3\n") != std::string::npos);
    CHECK(text.find("\nstatus: open\n") != std::string::npos);
    CHECK(text.find("\nopened_at: \"2026-01-01T00:00:00Z\"\n") != std::string::npos);
    CHECK(text.find("\nclosed_at: null\n") != std::string::npos);
    const core::records::BackportIssue back = core::records::BackportIssue::parse(text, k_where);
    CHECK(back.to_yaml() == text);
    CHECK(back.to_json() == issue.to_json());
    CHECK(back.summary == issue.summary);
    CHECK(back.commits == issue.commits);
    REQUIRE(back.changes.size() == 2);
    CHECK(back.changes[0].fields == std::vector<std::string>{"tone", "model.temperature"});
    CHECK(back.changes[1].change == "added");
    CHECK(back.is_open());
  }
  SUBCASE("a closed issue") {
    core::records::BackportIssue issue = sample_issue();
    issue.status = core::records::BackportIssue::Status::closed;
    issue.closed_by = "auto";
    issue.closed_at = 1'767'312'000;
    issue.closed_in = k_b;
    const core::records::BackportIssue back = core::records::BackportIssue::parse(issue.to_yaml(), k_where);
    CHECK_FALSE(back.is_open());
    CHECK(back.closed_by == "auto");
    CHECK(back.closed_at == 1'767'312'000);
    CHECK(back.closed_in == k_b);
    CHECK(back.to_json()["closed_at"] == "2026-01-02T00:00:00Z");
  }
  SUBCASE("any text reads back as written") {
    core::records::BackportIssue issue = sample_issue();
    issue.summary = std::string("tab\tnul") + '\0' +
                    "del\x7f nel\xc2\x85 ls\xe2\x80\xa8 bom\xef\xbb\xbf \"q\" \\ \xf0\x9f\x9a\x80";
    issue.hotfix = "#not-a-comment: {x}";
    const core::records::BackportIssue back = core::records::BackportIssue::parse(issue.to_yaml(), k_where);
    CHECK(back.summary == issue.summary);
    CHECK(back.hotfix == issue.hotfix);
    CHECK(back.to_yaml() == issue.to_yaml());
  }
  SUBCASE("JSON nulls while open") {
    const nlohmann::json json = sample_issue().to_json();
    CHECK(json["status"] == "open");
    CHECK(json["closed_by"].is_null());
    CHECK(json["closed_at"].is_null());
    CHECK(json["changes"][0]["fields"][1] == "model.temperature");
  }
}

TEST_CASE("core::backport record: from_json reads back what to_json writes") {
  core::records::BackportIssue open = sample_issue();
  open.summary = std::string("tab\tnul") + '\0' + " \"q\" \\ \xf0\x9f\x9a\x80";
  core::records::BackportIssue closed = sample_issue();
  closed.status = core::records::BackportIssue::Status::closed;
  closed.closed_by = "auto";
  closed.closed_at = 1'767'312'000;
  closed.closed_in = k_b;
  for (const auto& issue : {open, closed}) {
    const auto back = core::records::BackportIssue::from_json(issue.to_json());
    REQUIRE(back);
    CHECK(back->to_yaml() == issue.to_yaml());
    CHECK(back->opened_at == issue.opened_at);
    CHECK(back->closed_at == issue.closed_at);
  }
  nlohmann::json bad = open.to_json();
  bad["opened_at"] = "yesterday";
  CHECK_FALSE(core::records::BackportIssue::from_json(bad));
  bad = open.to_json();
  bad["status"] = "ajar";
  CHECK_FALSE(core::records::BackportIssue::from_json(bad));
  bad.erase("changes");
  CHECK_FALSE(core::records::BackportIssue::from_json(bad));
  CHECK_FALSE(core::records::BackportIssue::from_json(nlohmann::json::array()));
}

TEST_CASE("core::backport record: a malformed record is refused with its position") {
  const std::string good = sample_issue().to_yaml();
  SUBCASE("unknown status") {
    const std::string why = parse_refusal(replaced(good, "status: open", "status: maybe"));
    CHECK(why.rfind(k_where + ":3:9: error: 'status' must be open or closed", 0) == 0);
    CHECK(why.find("[backport]") != std::string::npos);
  }
  SUBCASE("a commit that is not an id") {
    const std::string why = parse_refusal(replaced(good, "\"" + k_b + "\"", "HEAD~1"));
    CHECK(why.find(k_where + ":11:5: error: every entry of 'commits' must be a commit id") == 0);
  }
  SUBCASE("a missing field") {
    const std::string why = parse_refusal(replaced(good, "hotfix_tag: \"v1.0.1\"\n", ""));
    CHECK(why.find("missing field 'hotfix_tag'") != std::string::npos);
  }
  SUBCASE("a bad time") {
    const std::string why = parse_refusal(replaced(good, "2026-01-01T00:00:00Z", "yesterday"));
    CHECK(why.find("'opened_at' must be a UTC time") != std::string::npos);
  }
  // Found by fuzzing: a year sscanf took but iso_time writes back in
  // other digits, so envflow refused the record it had just written.
  SUBCASE("a time envflow would write back otherwise") {
    for (const char* time : {"0951-11-22T03:08:30Z", " 951-11-22T03:08:30Z", "+951-11-22T03:08:30Z",
                             "1969-12-31T23:59:59Z", "2026-1-01T00:00:00Z "}) {
      CAPTURE(time);
      const std::string why = parse_refusal(replaced(good, "2026-01-01T00:00:00Z", time));
      CHECK(why.find("'opened_at' must be a UTC time") != std::string::npos);
    }
  }
  SUBCASE("not YAML") {
    const std::string why = parse_refusal("id: [1\n");
    CHECK(why.rfind(k_where + ":", 0) == 0);
  }
  SUBCASE("open with closed fields") {
    const std::string why = parse_refusal(replaced(good, "closed_by: null", "closed_by: \"bob\""));
    CHECK(why.find("an open issue has closed_by") != std::string::npos);
  }
}

TEST_CASE("core::backport merge: a three-way merge gives a tree or lists each conflict") {
  TempRepo t(true);
  const std::string base = t.commit({{"agents/a.yaml", "tone: formal\nmodel: x\n"},
                                     {"agents/b.yaml", "tone: dry\n"},
                                     {"workspace.yaml", "name: w\n"}});
  SUBCASE("clean: both sides kept") {
    const std::string ours = t.commit({{"agents/a.yaml", "tone: formal\nmodel: x\n"},
                                       {"agents/b.yaml", "tone: dry\n"},
                                       {"workspace.yaml", "name: w2\n"}},
                                      {base});
    const std::string theirs = t.commit({{"agents/a.yaml", "tone: friendly\nmodel: x\n"},
                                         {"agents/b.yaml", "tone: dry\n"},
                                         {"workspace.yaml", "name: w\n"}},
                                        {base});
    const git::MergeResult merged = t.repo().merge_commits(ours, theirs);
    REQUIRE(merged.tree);
    CHECK(merged.conflicts.empty());
    const std::string commit = t.repo().write_commit(*merged.tree, {ours, theirs}, "merge\n",
                                                     git::Person{"T", "t@example.com"});
    CHECK(*t.repo().read_path(commit, "agents/a.yaml") == "tone: friendly\nmodel: x\n");
    CHECK(*t.repo().read_path(commit, "workspace.yaml") == "name: w2\n");
    CHECK(t.repo().is_ancestor(theirs, commit));
  }
  SUBCASE("conflicts: every conflicted path, once, sorted") {
    const std::string ours = t.commit({{"agents/a.yaml", "tone: casual\nmodel: x\n"},
                                       {"agents/b.yaml", "tone: wry\n"},
                                       {"workspace.yaml", "name: w\n"}},
                                      {base});
    const std::string theirs = t.commit({{"agents/a.yaml", "tone: friendly\nmodel: x\n"},
                                         {"agents/b.yaml", "tone: warm\n"},
                                         {"workspace.yaml", "name: w\n"}},
                                        {base});
    const git::MergeResult merged = t.repo().merge_commits(ours, theirs);
    CHECK_FALSE(merged.tree);
    CHECK(merged.conflicts == std::vector<std::string>{"agents/a.yaml", "agents/b.yaml"});
  }
}

TEST_CASE("core::backport notify command") {
  CHECK(util::split_command("  gh issue  create\t--label hotfix ") ==
        std::vector<std::string>{"gh", "issue", "create", "--label", "hotfix"});
  CHECK(util::split_command("   ").empty());
}
