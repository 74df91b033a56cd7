// The validator's checks across files (issue 8: hostile input).

#include "content/schema.h"
#include "content/source.h"
#include "content/validator.h"
#include "util/json.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "support.h"

using namespace envflow::content;
using envflow::test::read_file;

namespace {

// The starter workspace in memory.
MemorySource starter_source() {
  namespace fs = std::filesystem;
  const fs::path root = ENVFLOW_SOURCE_DIR "/templates/workspace";
  MemorySource source;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) {
      source.add(fs::relative(entry.path(), root).generic_string(), read_file(entry.path()));
    }
  }
  return source;
}

std::vector<Diagnostic> with_rule(const ValidationReport& report, const std::string& rule) {
  std::vector<Diagnostic> out;
  std::copy_if(report.diagnostics.begin(), report.diagnostics.end(), std::back_inserter(out),
               [&](const Diagnostic& d) { return d.rule == rule; });
  return out;
}

} // namespace

TEST_CASE("content::validate: names that differ only in letter case") {
  MemorySource source = starter_source();

  SUBCASE("a document: both paths reported, each naming the other") {
    source.add("knowledge/product-faq/Returns.md", "# Returns\n");
    const auto report = validate(source, {}, SchemaSet::builtin());
    const auto found = with_rule(report, "case-collision");
    REQUIRE(found.size() == 2);
    CHECK(found[0].path == "knowledge/product-faq/Returns.md");
    CHECK(found[0].message.find("'knowledge/product-faq/returns.md' differ only in letter case") !=
          std::string::npos);
    CHECK(found[1].path == "knowledge/product-faq/returns.md");
    CHECK(found[1].message.find("case-insensitive filesystem") != std::string::npos);
    CHECK_FALSE(report.ok());
  }
  SUBCASE("three spellings of one path") {
    source.add("knowledge/product-faq/RETURNS.md", "x\n");
    source.add("knowledge/product-faq/Returns.md", "y\n");
    CHECK(with_rule(validate(source, {}, SchemaSet::builtin()), "case-collision").size() == 3);
  }
  SUBCASE("different folders, or different names: no collision") {
    source.add("knowledge/product-faq/returns-2.md", "x\n");
    CHECK(with_rule(validate(source, {}, SchemaSet::builtin()), "case-collision").empty());
  }
}

namespace {

// Pieces of fake credentials (see test_content_secrets.cpp): nothing here
// is a literal that secret scanners would flag.
std::string fake_github_token() {
  return std::string("gh") + "p_" + "aB3dE5gH7jK9mN1pQ2rS4tU6vW8xY0zA1bC2";
}
std::string fake_openssh_key(const std::string& prefix) {
  const std::string label = std::string("OPENSSH PRIVATE") + " KEY";
  return prefix + "-----" + "BEGIN " + label + "-----\n" + prefix +
         "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n" + prefix +
         "Qm9ndXNLZXlGb3JUZXN0c09ubHlOb3RBUmVhbEtleUF0QWxsMDEyMzQ1Njc4OWFiY2Rl\n" + prefix +
         "-----" + "END " + label + "-----\n";
}

std::string dump_all(const ValidationReport& report) {
  std::string out;
  for (const Diagnostic& d : report.diagnostics) {
    out += d.to_text() + "\n";
  }
  return out;
}

} // namespace

TEST_CASE("content::validate: the attacks of issue 12, each refused where it is") {
  MemorySource source = starter_source();

  SUBCASE("a case variant of a content folder, with broken YAML and a password") {
    source.add("Agents/evil.yaml",
               "kind: Agent\nname: [evil\npassword = " + std::string("q8Vn3L") + "mZ0pRt\n");
    const auto report = validate(source, {}, SchemaSet::builtin());
    INFO(dump_all(report));
    const auto collisions = with_rule(report, "case-collision");
    REQUIRE(collisions.size() == 1);
    CHECK(collisions[0].path == "Agents/evil.yaml");
    CHECK(collisions[0].message.find("content folder 'agents/'") != std::string::npos);
    const auto secrets = with_rule(report, "secret-literal");
    REQUIRE(secrets.size() == 1);
    CHECK(secrets[0].path == "Agents/evil.yaml");
    CHECK(secrets[0].mark.line == 3);
    CHECK_FALSE(report.ok());
  }
  SUBCASE("case variants of runtime and local folders") {
    for (const std::string folder : {"Secrets", "GUARDRAILS", "Conversations", "EVALUATORS"}) {
      MemorySource copy = starter_source();
      copy.add(folder + "/x.yaml", "a: 1\n");
      const auto report = validate(copy, {}, SchemaSet::builtin());
      INFO(dump_all(report));
      CHECK(with_rule(report, "case-collision").size() == 1);
    }
  }
  SUBCASE("unsafe tree entries") {
    source.add("../escape.yaml", "a: 1\n");
    source.add(".GIT/config", "[core]\n");
    source.add(".git/hooks/post-checkout", "#!/bin/sh\n");
    const auto report = validate(source, {}, SchemaSet::builtin());
    INFO(dump_all(report));
    CHECK(with_rule(report, "path-unsafe").size() == 3);
  }
  SUBCASE("secrets where the scanner did not look") {
    source.add("knowledge/product-faq/deploy.md", "# Deploy\n\n" + fake_openssh_key(""));
    source.add("README.md", "Token for the demo: " + fake_github_token() + "\n");
    source.add("agents/keeper.yaml",
               "kind: Agent\nname: keeper\ndescription: x\nmodel: {provider: openai, name: gpt-4o}\n"
               "instructions: Help.\n# old key:\n" +
                   fake_openssh_key("# "));
    const auto report = validate(source, {}, SchemaSet::builtin());
    INFO(dump_all(report));
    const auto secrets = with_rule(report, "secret-literal");
    REQUIRE(secrets.size() == 3);
    CHECK(secrets[0].path == "README.md");
    CHECK(secrets[0].mark.line == 1);
    CHECK(secrets[0].mark.column == 21);
    CHECK(secrets[1].path == "agents/keeper.yaml");
    CHECK(secrets[1].mark.line == 7);
    CHECK(secrets[1].mark.column == 3);
    CHECK(secrets[2].path == "knowledge/product-faq/deploy.md");
    CHECK(secrets[2].mark.line == 3);
    for (const Diagnostic& d : secrets) {
      CHECK(d.fingerprint.size() == 16);
      CHECK(d.to_json()["fingerprint"] == d.fingerprint);
    }
    CHECK(secrets[1].fingerprint == secrets[2].fingerprint); // the same key

    // A known false positive, allowed by its fingerprint: gone wherever it is.
    ValidateOptions options;
    options.allowed_secrets = {secrets[1].fingerprint};
    const auto allowed = validate(source, options, SchemaSet::builtin());
    INFO(dump_all(allowed));
    const auto left = with_rule(allowed, "secret-literal");
    REQUIRE(left.size() == 1);
    CHECK(left[0].path == "README.md");
  }
  SUBCASE("files outside the content folders: only text is scanned, nothing else is checked") {
    source.add("logo.png", std::string("\x89PNG\r\n\x1a\n\0\0\0", 11) + fake_github_token());
    source.add("docs/latin1.txt", "caf\xE9 " + fake_github_token());
    source.add("docs/notes.yaml", "not: [valid\n");
    ValidateOptions options;
    options.max_file_size = 4096;
    source.add("docs/huge.txt", std::string(5000, 'x') + fake_github_token());
    const auto report = validate(source, options, SchemaSet::builtin());
    INFO(dump_all(report));
    CHECK(report.ok());
    CHECK(report.files == 11); // the content files; the others are only scanned
  }
  SUBCASE("unprintable names are escaped in the report") {
    source.add("knowledge/product-faq/\x1b[2Jx.md", "x\n");
    source.add("knowledge/product-faq/bad\xFF.md", "x\n");
    const auto report = validate(source, {}, SchemaSet::builtin());
    INFO(dump_all(report));
    const auto unsafe = with_rule(report, "path-unsafe");
    REQUIRE(unsafe.size() == 2);
    CHECK(unsafe[0].path == "knowledge/product-faq/\\x1b[2Jx.md");
    CHECK(unsafe[1].path == "knowledge/product-faq/bad\\xff.md");
    CHECK_NOTHROW((void)envflow::util::dump_json(unsafe[1].to_json()));
  }
  SUBCASE("YAML tags") {
    source.add("variables/leak.yaml",
               "kind: Variable\nname: leak\ntype: string\ndefault: !include /etc/passwd\n");
    const auto report = validate(source, {}, SchemaSet::builtin());
    INFO(dump_all(report));
    const auto tags = with_rule(report, "yaml-tag");
    REQUIRE(tags.size() == 1);
    CHECK(tags[0].path == "variables/leak.yaml");
    CHECK(tags[0].mark.line == 4);
    CHECK(tags[0].mark.column == 10);
  }
}

TEST_CASE("content::validate: progress") {
  MemorySource source = starter_source();
  for (int i = 0; i < 250; ++i) {
    // Named, not "v" + std::to_string(i): GCC 12 at -O3 sees a false overlap
    // (-Wrestrict) in libstdc++'s operator+(const char*, std::string&&).
    const std::string n = std::to_string(i);
    const std::string name = "v" + n;
    source.add("variables/" + name + ".yaml", "kind: Variable\nname: " + name +
                                                  "\ntype: string\ndefault: x\ndescription: d\n");
  }
  std::vector<std::pair<std::size_t, std::size_t>> told;
  ValidateOptions options;
  options.progress = [&told](std::size_t done, std::size_t total) {
    told.emplace_back(done, total);
  };
  const auto report = validate(source, options, SchemaSet::builtin());
  CHECK(report.ok());
  REQUIRE_FALSE(told.empty());
  // Told in order, at most once a percent, the last time when all are done.
  const std::size_t total = told.front().second;
  CHECK(total >= 250);
  CHECK(told.size() <= 101);
  CHECK(told.back() == std::make_pair(total, total));
  for (std::size_t i = 1; i < told.size(); ++i) {
    CHECK(told[i].second == total);
    CHECK(told[i - 1].first * 100 / total < told[i].first * 100 / total);
  }
}
