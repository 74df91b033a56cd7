#include "core/cache.h"
#include "core/sources.h"
#include "content/schema.h"
#include "content/validator.h"
#include "support.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

using namespace envflow;

namespace {

// A TreeSource that counts what the validator asks of it.
class CountingTree : public core::TreeSource {
public:
  using TreeSource::TreeSource;
  std::vector<content::FileEntry> list() override {
    ++lists;
    return TreeSource::list();
  }
  std::string read(const content::FileEntry& entry) override {
    reads.push_back(entry.path);
    return TreeSource::read(entry);
  }
  int lists = 0;
  std::vector<std::string> reads;
};

const std::map<std::string, std::string> k_files{
    {"workspace.yaml", "kind: Workspace\nname: w\nschema_version: 1\n"},
    {"agents/a.yaml", "kind: Agent\nname: a\ninstructions: Help.\n"},
    {"agents/big.yaml",
     "kind: Agent\nname: big\ninstructions: |\n  " + std::string(5000, 'x') + "\n"},
    {"workflows/w.yaml", "kind: Workflow\nname: w\ntrigger: {type: manual}\nsteps:\n"
                         "  - {id: s1, agent: missing}\n"},
};

bool has_rule(const content::ValidationReport& report, const std::string& path,
              const std::string& rule) {
  return std::any_of(report.diagnostics.begin(), report.diagnostics.end(),
                     [&](const content::Diagnostic& d) { return d.path == path && d.rule == rule; });
}

} // namespace

TEST_CASE("core::TreeSource") {
  test::TempRepo temp;
  const std::string commit = temp.commit(k_files);

  SUBCASE("lists without sizes, answers size() from the blob header") {
    core::TreeSource source(temp.repo(), commit);
    const auto entries = source.list();
    REQUIRE(entries.size() == k_files.size());
    for (const auto& entry : entries) {
      CHECK(entry.size == 0);
      CHECK(source.size(entry) == k_files.at(entry.path).size());
    }
    CHECK(source.snapshot_id() == temp.repo().tree_of(commit));
  }

  SUBCASE("a file over the size limit is refused without being read") {
    CountingTree source(temp.repo(), commit);
    content::ValidateOptions options;
    options.max_file_size = 1024;
    const auto report = content::validate(source, options, content::SchemaSet::builtin());
    CHECK(has_rule(report, "agents/big.yaml", "file-too-large"));
    CHECK(std::find(source.reads.begin(), source.reads.end(), "agents/big.yaml") ==
          source.reads.end());
    CHECK(report.files == k_files.size());
  }

  SUBCASE("a tree validated before is answered by its id, without listing it") {
    test::TempDir dir;
    core::DiskCache cache((dir.path() / "cache").string());
    content::ValidateOptions options;
    options.cache = &cache;
    CountingTree first(temp.repo(), commit);
    const auto cold = content::validate(first, options, content::SchemaSet::builtin());
    CHECK(first.lists == 1);
    CHECK(cold.cached == 0);
    CHECK(has_rule(cold, "workflows/w.yaml", "ref-agent"));

    CountingTree second(temp.repo(), commit);
    const auto warm = content::validate(second, options, content::SchemaSet::builtin());
    CHECK(second.lists == 0);
    CHECK(second.reads.empty());
    CHECK(cache.stats().snapshot);
    CHECK(warm.files == cold.files);
    CHECK(warm.cached == warm.files);
    REQUIRE(warm.diagnostics.size() == cold.diagnostics.size());
    for (std::size_t i = 0; i < warm.diagnostics.size(); ++i) {
      CHECK(warm.diagnostics[i].to_text() == cold.diagnostics[i].to_text());
    }

    SUBCASE("and `only` still filters the stored report") {
      options.only = {"agents/"};
      CountingTree third(temp.repo(), commit);
      const auto filtered = content::validate(third, options, content::SchemaSet::builtin());
      CHECK(third.lists == 0);
      CHECK_FALSE(has_rule(filtered, "workflows/w.yaml", "ref-agent"));
    }
  }
}
