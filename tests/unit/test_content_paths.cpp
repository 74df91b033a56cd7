// Path rules (issue 12): names a checkout cannot write, and names that macOS
// and Windows take for one another or for a content folder.

#include "content/paths.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace envflow::content;

namespace {

std::vector<FileEntry> listing(std::vector<std::string> paths) {
  std::sort(paths.begin(), paths.end());
  std::vector<FileEntry> entries;
  for (auto& path : paths) {
    entries.push_back(FileEntry{std::move(path), FileEntry::Type::regular, 10, ""});
  }
  return entries;
}

std::string text_of(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    out += d.to_text() + "\n";
  }
  return out;
}

// "é" composed (U+00E9) and decomposed (e + U+0301).
const std::string k_e_nfc = "caf\xC3\xA9";
const std::string k_e_nfd = "cafe\xCC\x81";

} // namespace

TEST_CASE("content::fold_name") {
  CHECK(fold_name("Agents") == "agents");
  CHECK(fold_name("AGENTS") == fold_name("agents"));
  CHECK(fold_name(k_e_nfc) == fold_name(k_e_nfd));
  CHECK(fold_name("CAF\xC3\x89") == fold_name(k_e_nfd)); // É composed, é decomposed
  CHECK(fold_name("\xC5\xBF" "ecrets") == "secrets");      // ſ (long s) folds to s
  CHECK(fold_name("\xE2\x84\xAA" "nowledge") == "knowledge"); // K (Kelvin sign)
  CHECK(fold_name("Stra\xC3\x9F" "e") == fold_name("STRASSE"));
  CHECK(fold_name("caf\xC3\xA9") != fold_name("cafe"));
  CHECK(fold_name("X\xFFY") == "x\xFFy"); // not UTF-8: bytes kept, ASCII lowered
  CHECK(fold_name("") == "");
}

TEST_CASE("content::unsafe_path_reason") {
  for (const std::string& path : std::vector<std::string>{
           "agents/a.yaml", ".github/workflows/ci.yml", ".gitignore", "knowledge/kb/.gitkeep",
        "knowledge/kb/" + k_e_nfc + ".md", "a.b/c..d", "...", ".gitmodules"}) {
    CAPTURE(path);
    CHECK(unsafe_path_reason(path).empty());
  }
  struct Case {
    std::string path;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"..", "'..'"},
      {"../x", "'..'"},
      {"agents/./a.yaml", "'.'"},
      {"agents//a.yaml", "empty component"},
      {".git/config", "'.git'"},
      {".GIT/config", "'.GIT'"},
      {"knowledge/.Git/hooks/x", "'.Git'"},
      {"git~1/config", "'git~1'"},
      {".git./config", "'.git.'"},
      {".git /config", "'.git '"},
      {".g\xE2\x80\x8Cit/config", ".git folder"},
      {".git::$INDEX_ALLOCATION/x", ".git folder"},
      {"agents\\evil.yaml", "backslash"},
      {"agents/a\x1b[2J.yaml", "control character"},
      {"agents/a\xC2\x85.yaml", "control character"},
      {"agents/a\xFF.yaml", "not valid UTF-8"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.path);
    const std::string why = unsafe_path_reason(c.path);
    CHECK(why.find(c.why) != std::string::npos);
  }
}

TEST_CASE("content::check_paths") {
  SUBCASE("case variants of content folders, runtime folders and workspace.yaml") {
    const auto found = check_paths(listing({"Agents/evil.yaml", "Agents/other.yaml",
                                            "agents/support.yaml", "Secrets/prod.env",
                                            "GUARDRAILS/g.yaml", "Conversations/1.json",
                                            "Workspace.yaml", "workspace.yaml"}));
    INFO(text_of(found));
    REQUIRE(found.size() == 6); // each file under a variant, once
    for (const Diagnostic& d : found) {
      CHECK(d.rule == "case-collision");
      CHECK(d.mark.line == 1);
    }
    CHECK(found[0].path == "Agents/evil.yaml");
    CHECK(found[0].message.find("'Agents/' and the content folder 'agents/' differ only in "
                                "letter case") != std::string::npos);
    CHECK(found[0].message.find("move the file to agents/") != std::string::npos);
    CHECK(found[1].path == "Agents/other.yaml");
    CHECK(found[2].path == "Conversations/1.json");
    CHECK(found[2].message.find("runtime folder 'conversations/'") != std::string::npos);
    CHECK(found[2].message.find("never promoted") != std::string::npos);
    CHECK(found[3].path == "GUARDRAILS/g.yaml");
    CHECK(found[3].message.find("environment-local folder 'guardrails/'") != std::string::npos);
    CHECK(found[4].path == "Secrets/prod.env");
    CHECK(found[4].message.find("${secrets.NAME}") != std::string::npos);
    CHECK(found[5].path == "Workspace.yaml");
    CHECK(found[5].message.find("workspace descriptor 'workspace.yaml'") != std::string::npos);
  }
  SUBCASE("a variant that is not ASCII: long s, Kelvin sign") {
    const auto found = check_paths(listing({"\xC5\xBF" "ecrets/x", "\xE2\x84\xAA" "nowledge/k.md"}));
    INFO(text_of(found));
    REQUIRE(found.size() == 2);
    CHECK(found[0].message.find("'secrets/'") != std::string::npos);
    CHECK(found[1].message.find("'knowledge/'") != std::string::npos);
  }
  SUBCASE("the content folders themselves are fine") {
    CHECK(check_paths(listing({"agents/a.yaml", "secrets/x", "workspace.yaml", "README.md"}))
              .empty());
  }
  SUBCASE("two files that differ in case: each names the other") {
    const auto found = check_paths(listing({"knowledge/kb/Returns.md", "knowledge/kb/returns.md"}));
    INFO(text_of(found));
    REQUIRE(found.size() == 2);
    CHECK(found[0].path == "knowledge/kb/Returns.md");
    CHECK(found[0].message.find("'knowledge/kb/Returns.md' and 'knowledge/kb/returns.md' differ "
                                "only in letter case") != std::string::npos);
    CHECK(found[1].path == "knowledge/kb/returns.md");
  }
  SUBCASE("NFC and NFD twins") {
    const auto found = check_paths(
        listing({"knowledge/kb/" + k_e_nfc + ".md", "knowledge/kb/" + k_e_nfd + ".md"}));
    INFO(text_of(found));
    REQUIRE(found.size() == 2);
    CHECK(found[0].message.find("differ only in Unicode normalisation") != std::string::npos);
    CHECK(found[0].message.find("macOS") != std::string::npos);
  }
  SUBCASE("two folders that differ in case: once for each spelling, nothing under them again") {
    const auto found =
        check_paths(listing({"knowledge/KB/a.md", "knowledge/KB/b.md", "knowledge/kb/a.md",
                             "knowledge/kb/c.md", "knowledge/kb/d.md"}));
    INFO(text_of(found));
    REQUIRE(found.size() == 2);
    CHECK(found[0].path == "knowledge/KB/a.md");
    CHECK(found[0].message.find("folder 'knowledge/KB/' (2 files, this one first) and "
                                "'knowledge/kb/'") != std::string::npos);
    CHECK(found[1].path == "knowledge/kb/a.md");
    CHECK(found[1].message.find("(3 files") != std::string::npos);
  }
  SUBCASE("a file and a folder that fold alike") {
    const auto found = check_paths(listing({"knowledge/Guide", "knowledge/guide/a.md"}));
    INFO(text_of(found));
    CHECK(found.size() == 2);
  }
  SUBCASE("unsafe paths, with the rest still checked") {
    const auto found = check_paths(listing({"../x", ".GIT/config", "a\\b"}));
    INFO(text_of(found));
    REQUIRE(found.size() == 3);
    for (const Diagnostic& d : found) {
      CHECK(d.rule == "path-unsafe");
    }
  }
  SUBCASE("unprintable names are escaped in messages") {
    const auto found = check_paths(listing({"agents/\x1b[2J.yaml"}));
    REQUIRE(found.size() == 1);
    CHECK(found[0].message.find("\x1b") == std::string::npos);
    CHECK(found[0].message.find("\\x1b[2J") != std::string::npos);
  }
}
