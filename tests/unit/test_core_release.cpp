// Releases (core/release.h): versions, the --bump words, and the manifest
// every release tag carries. Publishing, verifying and rolling back:
// tests/e2e/test_publish.sh.

#include <doctest/doctest.h>

#include <string>

#include "core/release/release.h"
#include "util/error.h"

using namespace envflow;
using core::release::Manifest;
using core::release::Version;

TEST_CASE("core::release::Version") {
  SUBCASE("parse and str") {
    for (const char* text : {"v1.2.3", "1.2.3"}) {
      INFO(std::string(text));
      const auto v = Version::parse(text);
      REQUIRE(v);
      CHECK(v->major == 1);
      CHECK(v->minor == 2);
      CHECK(v->patch == 3);
      CHECK(v->str() == "v1.2.3");
    }
    CHECK(Version::parse("v0.0.0")->str() == "v0.0.0");
    CHECK(Version::parse("v123456789.0.1")->major == 123'456'789);
  }
  SUBCASE("not a version") {
    for (const char* text : {"", "v", "v1.2", "v1.2.3.4", "v01.2.3", "v1.02.3", "v1.2.x", "v1..3",
                             "v1234567890.0.0", "V1.2.3", "v1.2.3-rc1", " v1.2.3",
                             "v1.-2.3", "v+1.2.3", "-1.2.3"}) {
      INFO(std::string(text));
      CHECK_FALSE(Version::parse(text));
    }
  }
  SUBCASE("ordered by number, not by text") {
    CHECK(*Version::parse("v1.2.3") < *Version::parse("v1.10.0"));
    CHECK(*Version::parse("v1.10.0") < *Version::parse("v2.0.0"));
    CHECK(*Version::parse("v1.2.9") < *Version::parse("v1.2.10"));
    CHECK(*Version::parse("v1.2.3") == *Version::parse("1.2.3"));
  }
}

TEST_CASE("core::release::parse_bump") {
  CHECK(core::release::parse_bump("auto") == core::release::Bump::auto_);
  CHECK(core::release::parse_bump("patch") == core::release::Bump::patch);
  CHECK(core::release::parse_bump("minor") == core::release::Bump::minor);
  CHECK(core::release::parse_bump("major") == core::release::Bump::major);
  CHECK_THROWS_WITH_AS(core::release::parse_bump("huge"),
                       "--bump takes auto, patch, minor or major, not 'huge'", util::UsageError);
  CHECK_THROWS_AS(core::release::parse_bump("Patch"), util::UsageError);
}

TEST_CASE("core::release::Manifest: to_text and parse") {
  Manifest m;
  m.environment = "production";
  m.commit = std::string(40, 'c');
  m.version = "v1.1.0";
  m.previous = "v1.0.0";
  m.bump = "minor";
  m.items = {{"agents/support.yaml", std::string(40, '1')},
             {"workspace.yaml", std::string(40, '2')}};
  m.overrides = {{"max_turns", "7"}, {"greeting", "\"Hi there\""}};

  const auto same = [&](const Manifest& back) {
    CHECK(back.environment == m.environment);
    CHECK(back.commit == m.commit);
    CHECK(back.version == m.version);
    CHECK(back.previous == m.previous);
    CHECK(back.bump == m.bump);
    CHECK(back.hotfix == m.hotfix);
    CHECK(back.items == m.items);
    CHECK(back.overrides == m.overrides);
  };

  SUBCASE("after the release notes, as publish writes it") {
    const auto back = Manifest::parse("Release v1.1.0\n\nNotes.\n" + m.to_text());
    REQUIRE(back);
    same(*back);
  }
  SUBCASE("with the signature git appends") {
    const auto back = Manifest::parse("Release v1.1.0\n" + m.to_text() +
                                      "-----BEGIN SSH SIGNATURE-----\nxyz\n"
                                      "-----END SSH SIGNATURE-----\n");
    REQUIRE(back);
    same(*back);
  }
  SUBCASE("a first release, a hotfix") {
    m.previous = "";
    m.bump = "initial";
    m.hotfix = true;
    const std::string text = "Release\n" + m.to_text();
    CHECK(text.find("previous: none\n") != std::string::npos);
    CHECK(text.find("hotfix: true\n") != std::string::npos);
    const auto back = Manifest::parse(text);
    REQUIRE(back);
    same(*back);
  }
  SUBCASE("not a manifest") {
    CHECK_FALSE(Manifest::parse(""));
    CHECK_FALSE(Manifest::parse("Release v1.1.0\n\nNo manifest here.\n"));
    // The marker, but no commit; a line that is not `key: value`; an unknown key.
    CHECK_FALSE(Manifest::parse("x\nenvflow-manifest:\nversion: v1.0.0\n"));
    CHECK_FALSE(Manifest::parse("x\n" + m.to_text() + "garbage\n"));
    CHECK_FALSE(Manifest::parse("x\n" + m.to_text() + "colour: blue\n"));
  }
}
