// Keeps the user documentation honest: every command of the command table has
// a page and a line in the index, and every validator rule id the docs list
// exists in the source and in docs/commands/validate.md.

#include "cli/command.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

#include "support.h"

namespace fs = std::filesystem;

using namespace envflow::test;

namespace {

// Commands whose pages are written together with the command by whoever
// builds it. A missing page is only a warning for these, so a new command can
// land before its page; every other command must have one.
const std::set<std::string_view> k_pages_pending{"publish", "releases", "verify",  "rollback",
                                                 "hotfix",  "backport", "cache"};

// Every rule id a diagnostic can carry, as documented in
// docs/commands/validate.md. Add a rule here when the validator gains one.
constexpr std::array k_rules{
    // YAML
    "yaml-syntax", "yaml-duplicate-key", "yaml-merge-key", "yaml-complex-key",
    "yaml-multi-document", "yaml-limit", "yaml-tag",
    // files
    "file-symlink", "file-type", "file-too-large", "file-binary", "file-encoding",
    "unexpected-file", "not-promoted", "workspace-missing", "case-collision", "path-unsafe",
    // structure
    "kind", "kind-mismatch", "unknown-kind", "name-mismatch", "schema", "variable-default-type",
    // references
    "ref-agent", "ref-workflow", "ref-knowledge", "ref-integration", "ref-endpoint", "ref-channel",
    "ref-step", "duplicate-step-id", "ref-document", "ref-variable",
    // secrets
    "secret-literal", "secret-reference",
    // the pipeline config
    "pipeline"};

// Concatenated text of every .cpp file directly in `folder`.
std::string sources_in(const fs::path& folder) {
  std::string all;
  for (const auto& entry : fs::recursive_directory_iterator(folder)) {
    if (entry.path().extension() == ".cpp") {
      all += read_file(entry.path());
      all += '\n';
    }
  }
  return all;
}

} // namespace

TEST_CASE("docs: every command has a page") {
  const fs::path pages = k_source_dir / "docs" / "commands";
  REQUIRE(fs::is_directory(pages));
  const std::string index = read_file(pages / "README.md");
  REQUIRE_FALSE(index.empty());
  for (const auto& command : envflow::cli::commands()) {
    const std::string name = command.name;
    INFO("command: " << name);
    const fs::path page = pages / (name + ".md");
    const bool has_page = fs::is_regular_file(page);
    if (!has_page && k_pages_pending.count(name) > 0) {
      WARN_MESSAGE(has_page, "docs/commands/" << name << ".md is not written yet");
      continue;
    }
    CHECK_MESSAGE(has_page, "missing docs/commands/" << name << ".md");
    CHECK_MESSAGE(index.find("(" + name + ".md)") != std::string::npos,
                  "docs/commands/README.md does not link " << name << ".md");
    if (has_page) {
      const std::string text = read_file(page);
      CHECK_MESSAGE(text.rfind("# envflow " + name, 0) == 0,
                    "docs/commands/" << name << ".md does not start with '# envflow " << name
                                     << "'");
    }
  }
}

TEST_CASE("docs: every validator rule id is documented and real") {
  const std::string doc = read_file(k_source_dir / "docs" / "commands" / "validate.md");
  REQUIRE_FALSE(doc.empty());
  const std::string code = sources_in(k_source_dir / "src" / "content") +
                           sources_in(k_source_dir / "src" / "core");
  REQUIRE_FALSE(code.empty());
  for (const std::string rule : k_rules) {
    INFO("rule: " << rule);
    CHECK_MESSAGE(doc.find("`" + rule + "`") != std::string::npos,
                  "docs/commands/validate.md does not list `" << rule << "`");
    CHECK_MESSAGE(code.find("\"" + rule + "\"") != std::string::npos,
                  "no \"" << rule << "\" in src/content/ or src/core/: "
                          << "remove it from the docs and from this list");
  }
}
