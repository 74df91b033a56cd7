// The pipeline config's own rules beyond its schema: what a new policy must
// grant (issue 8: a policy granting nobody).

#include "core/policy/config.h"

#include <doctest/doctest.h>

#include "support.h"

#include <string>
#include <vector>

using namespace envflow;
using namespace envflow::test;

namespace {

// A two-environment policy with `test_lines` under the test environment and
// `groups` as the groups block.
std::string two_env_policy(const std::string& test_lines, const std::string& groups) {
  return "version: 1\n"
         "environments:\n"
         "  - name: dev\n"
         "    branch: dev\n"
         "    write: [developers]\n"
         "  - name: test\n"
         "    branch: test\n" +
         test_lines + "groups:\n" + groups + "admins: [admins]\n";
}

const std::string k_groups = "  developers: [alice]\n"
                             "  release-managers: [bob, carol]\n"
                             "  qa: [quinn]\n"
                             "  admins: [adam]\n";

} // namespace

TEST_CASE("core::policy::parse_config: approvals someone can give") {
  SUBCASE("fewer approvers than approvals") {
    const auto p = problems_of(two_env_policy("    promote: [release-managers]\n    approvals: 2\n"
                                              "    approvers: [qa]\n",
                                              k_groups));
    CHECK(has(p, "envflow.yaml:9:16: error: environment 'test' needs 2 approvals, but its "
                 "approvers (qa) have 1 member: nothing could ever be synced into test"));
    CHECK(has(p, "[pipeline]"));
  }
  SUBCASE("approvals without approvers") {
    CHECK(has(problems_of(
                  two_env_policy("    promote: [release-managers]\n    approvals: 1\n", k_groups)),
              "approvers (none) have 0 members"));
  }
  SUBCASE("an empty approver group") {
    CHECK(has(
        problems_of(two_env_policy("    promote: [release-managers]\n    approvals: 1\n"
                                   "    approvers: [qa]\n",
                                   "  qa: []\n  developers: [alice]\n  release-managers: [bob]\n"
                                   "  admins: [adam]\n")),
        "approvers (qa) have 0 members"));
  }
  SUBCASE("every promoter is one of exactly `approvals` approvers: a warning") {
    const std::string text = two_env_policy("    promote: [release-managers]\n    approvals: 2\n"
                                            "    approvers: [release-managers]\n",
                                            k_groups);
    CHECK(problems_of(text).empty());
    std::vector<content::Diagnostic> problems;
    const auto config = core::policy::parse_config(text, "envflow.yaml", problems);
    REQUIRE(config);
    const auto warnings = core::policy::policy_warnings(*config);
    REQUIRE(warnings.size() == 3); // and nobody publishes or finishes hotfixes
    CHECK(warnings[0] == "environment 'test' needs 2 approvals from release-managers (2 members), "
                         "and everyone who may promote into it is one of them: a sync does not "
                         "count the approval of whoever syncs, so nobody can promote into test "
                         "yet; add an approver, or a promoter who is not one");
  }
  SUBCASE("enough approvers besides the one who syncs") {
    CHECK(problems_of(two_env_policy("    promote: [release-managers]\n    approvals: 1\n"
                                     "    approvers: [release-managers]\n",
                                     k_groups))
              .empty());
    CHECK(problems_of(two_env_policy("    promote: [release-managers]\n    approvals: 1\n"
                                     "    approvers: [qa]\n",
                                     k_groups))
              .empty());
    CHECK(problems_of(two_env_policy("    promote: [release-managers]\n    approvals: 5\n"
                                     "    approvers: [\"*\"]\n",
                                     k_groups))
              .empty());
  }
  SUBCASE("the config in force is only read: it keeps loading") {
    CHECK(problems_of(two_env_policy("    promote: [release-managers]\n    approvals: 2\n"
                                     "    approvers: [qa]\n",
                                     k_groups),
                      core::policy::ConfigUse::in_force)
              .empty());
  }
}

TEST_CASE("core::policy::parse_config: admin groups with members") {
  const std::string empty_admins = "  developers: [alice]\n  release-managers: [bob]\n  admins: []\n";
  CHECK(has(problems_of(two_env_policy("    promote: [release-managers]\n", empty_admins)),
            "the admin groups (admins) have no members: nobody could change the pipeline config "
            "any more"));
  CHECK(problems_of(two_env_policy("    promote: [release-managers]\n", empty_admins),
                    core::policy::ConfigUse::in_force)
            .empty());
}

TEST_CASE("core::policy::policy_warnings") {
  std::vector<content::Diagnostic> problems;
  const auto config = core::policy::parse_config(
      two_env_policy(
          "    promote: []\n",
          "  developers: []\n  release-managers: [bob]\n  admins: [adam]\n  publishers: []\n") +
          "publishers: [publishers]\n",
      "envflow.yaml", problems);
  REQUIRE(config);
  const auto warnings = core::policy::policy_warnings(*config);
  REQUIRE(warnings.size() == 4);
  CHECK(warnings[0] == "nobody may push content to dev (write: developers)");
  CHECK(warnings[1] == "nobody may promote into test (promote: none): the pipeline stops before it");
  CHECK(warnings[2] == "nobody may publish a release or roll back (publishers)");
  CHECK(warnings[3] == "nobody may finish a hotfix (hotfixers)");
  CHECK(core::policy::policy_warnings(core::policy::default_config({"dev", "prod"}, "you")).empty());
}

// Found by fuzzing the policy parser: render_config wrote strings as they
// were, so an actor with a quote (`envflow --actor 'a"b' init`), a branch
// like 1.0 or an environment named true gave a config that did not read
// back, or read back as another.
TEST_CASE("core::policy::render_config reads back as the same config") {
  core::policy::PipelineConfig config = core::policy::default_config({"dev", "true", "null"}, "o\"brien\\x@example.com");
  config.environments[1].branch = "1.0";
  config.environments[2].branch = "release/2026.1";
  config.groups["123"] = {"tab\there", "caf\xc3\xa9", "#hash: {x}"};
  config.admins.push_back("123");
  config.release_format = "ssh";
  config.release_signing_key = "~/.ssh/key \"quoted\".pub";
  config.release_allowed_signers = "signers\\file";
  config.backport_notify = "notify --title \"back-port\"";
  const std::string rendered = core::policy::render_config(config);
  CHECK(rendered.find("  - name: dev\n    branch: dev\n") != std::string::npos); // plain stays plain
  CHECK(rendered.find("  - name: \"true\"\n    branch: \"1.0\"\n") != std::string::npos);
  std::vector<content::Diagnostic> problems;
  const auto back = core::policy::parse_config(rendered, "envflow.yaml", problems);
  std::string why;
  for (const auto& d : problems) {
    why += d.to_text() + "\n";
  }
  const std::string context = rendered + why;
  INFO(context);
  REQUIRE(back);
  CHECK(back->environments[1].name == "true");
  CHECK(back->environments[1].branch == "1.0");
  CHECK(back->environments[2].name == "null");
  CHECK(back->groups.at("admins") == std::vector<std::string>{"o\"brien\\x@example.com"});
  CHECK(back->groups.at("123") == config.groups.at("123"));
  CHECK(back->release_signing_key == config.release_signing_key);
  CHECK(back->release_allowed_signers == config.release_allowed_signers);
  CHECK(back->backport_notify == config.backport_notify);
  CHECK(core::policy::render_config(*back) == rendered);
}

TEST_CASE("core::policy::parse_config: secret_allowlist") {
  const std::string base = two_env_policy("    promote: [release-managers]\n", k_groups);
  SUBCASE("read, and rendered back the same") {
    const std::string text = base +
                             "secret_allowlist:\n"
                             "  - fingerprint: 0123456789abcdef\n"
                             "    reason: AWS's documented example key in knowledge/aws/setup.md\n"
                             "  - fingerprint: \"fedcba9876543210\"\n"
                             "    reason: \"the public sandbox token: \\\"demo\\\"\"\n";
    std::vector<content::Diagnostic> problems;
    const auto config = core::policy::parse_config(text, "envflow.yaml", problems);
    INFO(problems_of(text));
    REQUIRE(config);
    REQUIRE(config->secret_allowlist.size() == 2);
    CHECK(config->secret_allowlist[0].fingerprint == "0123456789abcdef");
    CHECK(config->secret_allowlist[0].reason ==
          "AWS's documented example key in knowledge/aws/setup.md");
    CHECK(config->secret_allowlist[1].reason == "the public sandbox token: \"demo\"");
    const std::string rendered = core::policy::render_config(*config);
    CHECK(rendered.find("secret_allowlist:\n  - fingerprint: \"0123456789abcdef\"\n") !=
          std::string::npos);
    const auto back = core::policy::parse_config(rendered, "envflow.yaml", problems);
    REQUIRE(back);
    CHECK(back->secret_allowlist.size() == 2);
    CHECK(back->secret_allowlist[1].reason == config->secret_allowlist[1].reason);
    CHECK(core::policy::render_config(*back) == rendered);
    CHECK(core::policy::render_config(core::policy::default_config({"dev", "prod"}, "a")).find("secret_allowlist") ==
          std::string::npos);
  }
  SUBCASE("refused: a bad fingerprint, no reason, a fingerprint twice") {
    CHECK(has(problems_of(base + "secret_allowlist:\n  - fingerprint: 0123\n    reason: x\n"),
              "envflow.yaml:"));
    CHECK(has(problems_of(base + "secret_allowlist:\n  - fingerprint: 0123456789ABCDEF\n    reason: x\n"),
              "envflow.yaml:"));
    CHECK(has(problems_of(base + "secret_allowlist:\n  - fingerprint: 0123456789abcdef\n"), "reason"));
    CHECK(has(problems_of(base + "secret_allowlist:\n  - fingerprint: 0123456789abcdef\n    reason: \" \"\n"),
              "envflow.yaml:"));
    CHECK(has(problems_of(base +
                  "secret_allowlist:\n  - fingerprint: 0123456789abcdef\n    reason: a\n"
                  "  - fingerprint: 0123456789abcdef\n    reason: b\n"),
              "envflow.yaml:18:18: error: fingerprint 0123456789abcdef is listed twice"));
  }
}
