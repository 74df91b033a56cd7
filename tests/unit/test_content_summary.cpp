// Per-file summaries and the result cache: a validation from the cache, or
// an incremental one after a few files change, reports exactly what a full
// validation does.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "content/kinds.h"
#include "content/references.h"
#include "content/yaml.h"
#include "content/schema.h"
#include "content/source.h"
#include "content/summary.h"
#include "content/validator.h"
#include "core/workspace/cache.h"

#include "support.h"
#include "validation_fixture.h"

namespace fs = std::filesystem;
using envflow::content::Diagnostic;
using envflow::content::FileEntry;
using envflow::content::FileSource;
using envflow::content::FileSummary;
using envflow::content::SchemaSet;
using envflow::content::ValidateOptions;
using envflow::content::ValidationReport;
using envflow::core::workspace::DiskCache;
using namespace envflow::test;

TEST_CASE("content::git_blob_id") {
  // git hash-object of "hello\n", and of the empty blob.
  CHECK(envflow::content::git_blob_id("hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a");
  CHECK(envflow::content::git_blob_id("") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
  // Lengths around the 64-byte blocks and the 56-byte padding edge.
  const std::pair<std::size_t, const char*> vectors[] = {
      {0, "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
      {1, "9842926af7ca0a8cca12604f945414f07b01e13d"},
      {55, "ddf57317ef34bfee3b6df83d359098930eb278bc"},
      {56, "a0d492bb0fc889d0eca3bc137066ab6f4f74f369"},
      {57, "11a02dcf95859677a62e75024067c22b165d890f"},
      {63, "c55856749bef509bdfe6bfebfc7bf4e793e82132"},
      {64, "bede92be29c3874e1b54ddc77988d606fc857a8e"},
      {65, "b05a80522b053d6dc7e0a517d0e70212c7dad11f"},
      {119, "504e27376a6e0f0dba8295b85cb25dc4dfa17d23"},
      {120, "82134b02fb3f702491be9bed581eeab59334acb2"},
      {127, "34d5e582029e9b9b85b2febe31da3db7cdabaaea"},
      {128, "a09133e6730ffe899efb70204cb5646cd5dc24ee"},
      {1000, "4231a8a50a10fa9758db8ec71fdef855b751048a"},
      {4097, "fdb2e012e62d840b9ea0bb5d7bcfd4e4378a41e9"},
  };
  for (const auto& [size, digest] : vectors) {
    std::string data(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
      data[i] = static_cast<char>((i * 7 + 3) % 256);
    }
    INFO("size " << size);
    CHECK(envflow::content::sha1_hex(data) == digest);
  }
  CHECK(envflow::content::sha1_hex(std::string(200, 'a')) ==
        "e61cfffe0d9195a525fc6cf06ca2d77119c24a40");
}

TEST_CASE("content::summarize finds {{ vars.X }} as the regex does") {
  // The reference the scanner replaced, applied to random strings.
  static const std::regex k_reference(R"(\{\{\s*vars\.([^\s}]*)\s*\}\})");
  static const std::regex k_name("^[a-z_][a-z0-9_]{0,62}$");
  const std::string alphabet = "{{}} \tvars.x_A-9";
  Lcg rng(42);
  for (int round = 0; round < 3000; ++round) {
    std::string text = "vars.";
    const std::size_t length = rng.below(40);
    for (std::size_t i = 0; i < length; ++i) {
      text.insert(rng.below(text.size() + 1), 1, alphabet[rng.below(alphabet.size())]);
    }
    if (round % 3 == 0) {
      text += " {{ vars." + std::string(rng.below(70), 'a') + " }}";
    }
    std::vector<std::string> expected;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), k_reference);
         it != std::sregex_iterator(); ++it) {
      const std::string name = (*it)[1].str();
      expected.push_back(std::regex_match(name, k_name) ? "var " + name : "bad " + it->str());
    }
    envflow::content::Value root;
    root.type = envflow::content::Value::Type::mapping;
    envflow::content::Entry entry;
    entry.key = "text";
    entry.value.type = envflow::content::Value::Type::string;
    entry.value.string = text;
    root.members.push_back(entry);
    const auto summary =
        envflow::content::summarize(envflow::content::Document{"agents/a.yaml", "Agent", "a", &root});
    std::vector<std::string> actual;
    for (const auto& check : summary.checks) {
      if (check.type == envflow::content::ReferenceCheck::Type::variable) {
        actual.push_back("var " + check.name);
      } else {
        const auto quote = check.where.find('\'', 1);
        actual.push_back("bad " + check.where.substr(1, quote - 1));
      }
    }
    INFO("text: " << text);
    CHECK(actual == expected);
  }
}

TEST_CASE("content::ReferenceChecker reports what check_references does") {
  Snapshot snapshot = generated(60);
  std::deque<envflow::content::Value> values;
  std::vector<envflow::content::DocumentSummary> summaries;
  envflow::content::Catalog catalog;
  for (const auto& entry : snapshot.list()) {
    const auto* kind = envflow::content::kind_by_folder(entry.path.substr(0, entry.path.find('/')));
    if (kind == nullptr || entry.type != FileEntry::Type::regular) {
      continue;
    }
    auto loaded = envflow::content::load_yaml(snapshot.read(entry), entry.path);
    if (!loaded.value || !loaded.value->is_mapping()) {
      continue;
    }
    const auto& value = values.emplace_back(std::move(*loaded.value));
    summaries.push_back(envflow::content::summarize(envflow::content::Document{
        entry.path, std::string(kind->kind), value.string_at("name"), &value}));
    catalog.declare(summaries.back());
    catalog.files.insert(entry.path);
  }
  const envflow::content::ReferenceChecker checker(catalog);
  std::size_t findings = 0;
  for (const auto& summary : summaries) {
    const auto expected = envflow::content::check_references(summary, catalog);
    CHECK(dump(checker.check(summary)) == dump(expected));
    findings += expected.size();
  }
  CHECK(findings > 10);
}

TEST_CASE("content::encode and decode") {
  Snapshot snapshot = generated(40);
  // Every summary a real validation produces survives a round trip.
  TempDir dir;
  DiskCache cache(dir.str());
  with_cache(snapshot, cache);
  cache.open(envflow::content::cache_context(ValidateOptions{}, SchemaSet::builtin()));
  std::size_t checked = 0;
  for (const auto& entry : snapshot.list()) {
    const auto bytes = cache.find(entry.id, entry.path);
    if (!bytes) {
      continue;
    }
    const std::optional<FileSummary> summary = envflow::content::decode(*bytes, entry.path);
    REQUIRE(summary.has_value());
    CHECK(envflow::content::encode(*summary, entry.path) == *bytes);
    ++checked;
    // Truncated or altered bytes never decode to something else silently.
    for (std::size_t cut = 0; cut < bytes->size(); cut += 7) {
      CHECK_FALSE(envflow::content::decode(bytes->substr(0, cut), entry.path).has_value());
    }
  }
  cache.close();
  CHECK(checked > 100);
  CHECK_FALSE(envflow::content::decode("", "x").has_value());
  CHECK_FALSE(envflow::content::decode(std::string(64, '\xff'), "x").has_value());
  CHECK_FALSE(envflow::content::decode(std::string("\x01\xff\xff\xff\xff\x0f", 6), "x")
                  .has_value());
}

TEST_CASE("content::validate: full, cached and incremental give the same report") {
  SUBCASE("the starter workspace") {
    Snapshot snapshot = starter_snapshot();
    const ValidationReport expected = full(snapshot);
    CHECK(expected.ok());
    CHECK(expected.files > 5);
    TempDir dir;
    DiskCache cache(dir.str());
    const ValidationReport cold = with_cache(snapshot, cache);
    expect_same(cold, expected);
    CHECK(cold.cached == 0);
    const ValidationReport warm = with_cache(snapshot, cache);
    expect_same(warm, expected);
    CHECK(warm.cached == expected.files);
    // The starter plus an error: removing the agent the workflow calls.
    snapshot.remove("agents/triage.yaml");
    const ValidationReport broken = full(snapshot);
    CHECK_FALSE(broken.ok());
    expect_same(with_cache(snapshot, cache), broken);
  }

  SUBCASE("a generated workspace with errors seeded") {
    Snapshot snapshot = generated(120);
    const ValidationReport expected = full(snapshot);
    INFO(dump(expected.diagnostics));
    CHECK(expected.files > 300);
    // Every rule seeded shows up.
    for (const char* rule :
         {"ref-agent", "ref-workflow", "ref-knowledge", "ref-integration", "ref-endpoint",
          "ref-channel", "ref-step", "duplicate-step-id", "ref-document", "ref-variable",
          "schema", "kind", "kind-mismatch", "unknown-kind", "name-mismatch", "yaml-syntax",
          "yaml-duplicate-key", "file-binary", "file-encoding", "file-symlink", "unexpected-file",
          "not-promoted", "variable-default-type", "secret-literal"}) {
      INFO("rule " << std::string(rule));
      CHECK(std::any_of(expected.diagnostics.begin(), expected.diagnostics.end(),
                        [&](const Diagnostic& d) { return d.rule == rule; }));
    }

    // Threads change nothing.
    expect_same(full(snapshot, 4), expected);

    // Cold, then warm: every file from the cache, nothing read.
    TempDir dir;
    DiskCache cache(dir.str());
    expect_same(with_cache(snapshot, cache, 3), expected);
    const std::size_t reads = snapshot.reads();
    const ValidationReport warm = with_cache(snapshot, cache, 3);
    expect_same(warm, expected);
    CHECK(warm.cached == warm.files); // the whole snapshot's report
    CHECK(snapshot.reads() == reads);

    // Incremental: a few files change, one disappears, one is added, one
    // is fixed. Only those are read; references are rechecked everywhere.
    snapshot.put("agents/a0.yaml", "kind: Agent\nname: a0\ninstructions: {{ vars.v1 }}\n");
    snapshot.remove("integrations/i1.yaml"); // breaks unchanged agents and workflows
    snapshot.put("variables/v9999.yaml", "kind: Variable\nname: v9999\ntype: string\n");
    snapshot.put("agents/a5.yaml", "kind: Agent\nname: a5\ninstructions: fixed\n");
    snapshot.put("workflows/w2.yaml", "kind: Workflow\nname: w2\ntrigger:\n  type: message\n"
                                      "steps:\n  - id: s0\n    agent: a404\n");
    const ValidationReport changed = full(snapshot);
    const std::size_t before = snapshot.reads();
    const ValidationReport incremental = with_cache(snapshot, cache, 2);
    expect_same(incremental, changed);
    CHECK(snapshot.reads() - before == 4); // the changed and added files
    CHECK(incremental.cached == incremental.files - 4 - k_uncached);
    // The removed integration is reported where it is used, in unchanged files.
    CHECK(std::any_of(incremental.diagnostics.begin(), incremental.diagnostics.end(),
                      [](const Diagnostic& d) {
                        return d.rule == "ref-integration" &&
                               d.message.find("'i1'") != std::string::npos;
                      }));

    // A working tree (no ids listed) shares the same results.
    snapshot.set_ids(Snapshot::Ids::no);
    const ValidationReport worktree = with_cache(snapshot, cache, 2);
    expect_same(worktree, changed);
    CHECK(worktree.cached == worktree.files - k_uncached);

    // `only` filters the same way.
    ValidateOptions only;
    only.only = {"agents/a1.yaml", "workflows"};
    only.cache = &cache;
    ValidateOptions only_full = only;
    only_full.cache = nullptr;
    expect_same(validate(snapshot, only, SchemaSet::builtin()),
                validate(snapshot, only_full, SchemaSet::builtin()));
    // And from a whole snapshot's stored report (ids listed, seen before).
    snapshot.set_ids(Snapshot::Ids::yes);
    validate(snapshot, only, SchemaSet::builtin());
    const ValidationReport stored = validate(snapshot, only, SchemaSet::builtin());
    CHECK(stored.cached == stored.files);
    expect_same(stored, validate(snapshot, only_full, SchemaSet::builtin()));
  }
}

TEST_CASE("content::validate: a listing without sizes reports the same") {
  Snapshot snapshot = generated(20);
  snapshot.put("agents/big.yaml", "kind: Agent\nname: big\ninstructions: |\n" +
                                      std::string(3000, 'x') + "\n");
  ValidateOptions options;
  options.max_file_size = 2048;
  const ValidationReport sized = validate(snapshot, options, SchemaSet::builtin());
  CHECK(std::any_of(sized.diagnostics.begin(), sized.diagnostics.end(),
                    [](const Diagnostic& d) { return d.rule == "file-too-large"; }));
  snapshot.hide_sizes();
  expect_same(validate(snapshot, options, SchemaSet::builtin()), sized);
}
