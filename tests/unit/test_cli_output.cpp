#include <doctest/doctest.h>

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "cli/output.h"
#include "core/pipeline/rules.h"
#include "core/pipeline/session.h"

using envflow::cli::github_annotation;
using envflow::cli::github_escape_data;
using envflow::cli::github_escape_property;
using envflow::content::Diagnostic;
using envflow::content::Severity;

TEST_CASE("cli::github_escape_data") {
  SUBCASE("percent, CR and LF are encoded") {
    CHECK(github_escape_data("100% sure\r\nnext") == "100%25 sure%0D%0Anext");
  }
  SUBCASE("colons and commas stay in a message") {
    CHECK(github_escape_data("a: b, c") == "a: b, c");
  }
  SUBCASE("an escape written literally is not decoded later") {
    CHECK(github_escape_data("%0A") == "%250A");
  }
  SUBCASE("plain text and UTF-8 pass through") {
    CHECK(github_escape_data("") == "");
    CHECK(github_escape_data("name 'über' ≠ file") == "name 'über' ≠ file");
  }
}

TEST_CASE("cli::github_escape_property") {
  CHECK(github_escape_property("a:b,c%d\re\nf") == "a%3Ab%2Cc%25d%0De%0Af");
  CHECK(github_escape_property("agents/support.yaml") == "agents/support.yaml");
}

TEST_CASE("cli::github_annotation") {
  Diagnostic d;
  d.path = "agents/helper.yaml";
  d.mark = {2, 7};
  d.message = "name 'other' does not match the file name; rename the file";
  d.rule = "name-mismatch";

  SUBCASE("an error") {
    CHECK(github_annotation(d) ==
          "::error file=agents/helper.yaml,line=2,col=7,title=name-mismatch::name 'other' does "
          "not match the file name; rename the file");
  }
  SUBCASE("a warning") {
    d.severity = Severity::warning;
    CHECK(github_annotation(d).rfind("::warning file=agents/helper.yaml,line=2,col=7,", 0) == 0);
  }
  SUBCASE("a whole-file finding is at 1:1") {
    d.mark = {0, 0};
    CHECK(github_annotation(d).find(",line=1,col=1,") != std::string::npos);
  }
  SUBCASE("property values and the message are escaped") {
    d.path = "knowledge/a,b:c.yaml";
    d.rule = "x:y";
    d.message = "line one\nline two: 50%";
    CHECK(github_annotation(d) == "::error file=knowledge/a%2Cb%3Ac.yaml,line=2,col=7,title=x%3Ay::"
                                  "line one%0Aline two: 50%25");
  }
}

TEST_CASE("cli::error_report and error_json: kind from the exit code, the finer reason in code") {
  using envflow::cli::error_json;
  using envflow::cli::error_report;
  namespace util = envflow::util;
  const auto json_of = [](auto error) {
    return error_json(error_report(std::make_exception_ptr(error)))["error"];
  };
  SUBCASE("a plain refusal, usage error, I/O error") {
    const auto refused = json_of(util::Refused("no"));
    CHECK(refused["kind"] == "refused");
    CHECK(refused["code"] == "refused");
    CHECK(refused["exit"] == 1);
    CHECK_FALSE(refused.contains("hint"));
    CHECK(json_of(util::UsageError("bad"))["kind"] == "usage");
    CHECK(json_of(util::UsageError("bad"))["code"] == "usage");
    const auto io = json_of(util::IoError("disk"));
    CHECK(io["kind"] == "repository");
    CHECK(io["code"] == "io");
    CHECK(io["exit"] == 3);
  }
  SUBCASE("codes and hints the error carries") {
    const auto forbidden = json_of(util::Forbidden("dana may not"));
    CHECK(forbidden["kind"] == "refused");
    CHECK(forbidden["code"] == "forbidden");
    const auto unknown = json_of(
        util::UsageError("unknown environment 'x'", "unknown-environment", "did you mean 'y'?"));
    CHECK(unknown["kind"] == "usage");
    CHECK(unknown["code"] == "unknown-environment");
    CHECK(unknown["hint"] == "did you mean 'y'?");
    CHECK(unknown["exit"] == 2);
  }
  SUBCASE("a gate and a lost race") {
    const auto gate = json_of(envflow::core::pipeline::GateRefused(
        "needs 2 approvals", "approvals", "envflow approve uat --rev abc1234"));
    CHECK(gate["kind"] == "refused");
    CHECK(gate["code"] == "gate");
    CHECK(gate["gate"] == "approvals");
    CHECK(gate["hint"] == "envflow approve uat --rev abc1234");
    const auto race = json_of(util::LostRace("refs/heads/test", "test moved"));
    CHECK(race["kind"] == "refused");
    CHECK(race["code"] == "lost-race");
    CHECK(race["ref"] == "refs/heads/test");
    CHECK(race["hint"] == "run it again");
  }
  SUBCASE("anything else is a repository error") {
    const auto other = json_of(std::runtime_error("boom"));
    CHECK(other["kind"] == "repository");
    CHECK(other["code"] == "internal");
    CHECK(other["exit"] == 3);
  }
}
