// The validator's checks across files (issue 8: hostile input).

#include "content/schema.h"
#include "content/source.h"
#include "content/validator.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

using namespace envflow::content;

namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The starter workspace in memory.
MemorySource starter() {
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
  MemorySource source = starter();

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
