#include <doctest/doctest.h>

#include <stdexcept>

#include "core/admin/ci.h"
#include "util/error.h"

using envflow::core::admin::check_ci_system;
using envflow::core::admin::ci_files;
using envflow::core::admin::render_ci_template;

TEST_CASE("core::admin::render_ci_template") {
  const std::vector<std::string> envs{"dev", "qa", "prod"};

  SUBCASE("a block is repeated for every environment but the last") {
    const std::string text = "options:\n#@each-promotion\n  - @@ENV@@ -> @@NEXT@@\n#@end\nend\n";
    CHECK(render_ci_template(text, envs) == "options:\n  - dev -> qa\n  - qa -> prod\nend\n");
  }
  SUBCASE("indented markers, several lines in a block") {
    const std::string text = "a:\n  #@each-promotion\n  @@ENV@@:\n    to: @@NEXT@@\n  #@end\n";
    CHECK(render_ci_template(text, envs) == "a:\n  dev:\n    to: qa\n  qa:\n    to: prod\n");
  }
  SUBCASE("globals anywhere") {
    CHECK(render_ci_template("on @@FIRST@@: @@NEXT_JSON@@", envs) ==
          "on dev: {\"dev\":\"qa\",\"qa\":\"prod\"}");
    CHECK(render_ci_template("v@@VERSION@@", envs) == std::string("v") + ENVFLOW_VERSION);
  }
  SUBCASE("text without markers is unchanged, final newline or not") {
    CHECK(render_ci_template("x: ${{ inputs.env }}\n", envs) == "x: ${{ inputs.env }}\n");
    CHECK(render_ci_template("x", envs) == "x");
  }
  SUBCASE("an unterminated block is an error") {
    CHECK_THROWS_AS(render_ci_template("#@each-promotion\nx\n", envs), std::invalid_argument);
  }
}

TEST_CASE("core::admin::ci_files") {
  const std::vector<std::string> envs{"dev", "test", "prod"};

  SUBCASE("github: three workflows, rendered") {
    const auto files = ci_files("github", envs);
    REQUIRE(files.size() == 3);
    REQUIRE(files.count(".github/workflows/envflow-validate.yml") == 1);
    REQUIRE(files.count(".github/workflows/envflow-promote.yml") == 1);
    REQUIRE(files.count(".github/workflows/envflow-promote-manual.yml") == 1);
    const std::string& manual = files.at(".github/workflows/envflow-promote-manual.yml");
    CHECK(manual.find("          - dev\n          - test\n") != std::string::npos);
    CHECK(manual.find("          - prod\n") == std::string::npos);
    CHECK(manual.find("fromJSON('{\"dev\":\"test\",\"test\":\"prod\"}')[inputs.env]") !=
          std::string::npos);
    CHECK(files.at(".github/workflows/envflow-promote.yml").find("branches: [dev]") !=
          std::string::npos);
    for (const auto& [path, text] : files) {
      INFO(path);
      CHECK(text.find("@@") == std::string::npos);
      CHECK(text.find("#@") == std::string::npos);
    }
  }
  SUBCASE("gitlab: one file with a manual job per promotion") {
    const auto files = ci_files("gitlab", envs);
    REQUIRE(files.size() == 1);
    const std::string& text = files.at(".gitlab-ci.yml");
    CHECK(text.find("envflow-promote-dev:") != std::string::npos);
    CHECK(text.find("envflow-promote-test:") != std::string::npos);
    CHECK(text.find("envflow-promote-prod:") == std::string::npos);
    CHECK(text.find("envflow sync test --push") != std::string::npos);
    CHECK(text.find("@@") == std::string::npos);
  }
  SUBCASE("none and unknown") {
    CHECK(ci_files("", envs).empty());
    CHECK_THROWS_AS(ci_files("jenkins", envs), envflow::util::UsageError);
    CHECK_THROWS_AS(check_ci_system("GitHub"), envflow::util::UsageError);
    CHECK_NOTHROW(check_ci_system("gitlab"));
  }
}
