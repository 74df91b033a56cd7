#include "cli/output.h"

#include <doctest/doctest.h>

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
