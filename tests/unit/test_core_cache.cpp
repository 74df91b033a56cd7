// The result cache on disk (core::workspace::DiskCache): damaged files, a change of
// schema, options or version, and its bound. A validation through it reports
// exactly what a full validation does.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "content/schema.h"
#include "content/validator.h"
#include "core/workspace/cache.h"

#include "support.h"
#include "validation_fixture.h"

namespace fs = std::filesystem;
using namespace envflow;
using envflow::content::ValidationReport;
using envflow::core::workspace::DiskCache;
using namespace envflow::test;

TEST_CASE("core::workspace::DiskCache tolerates corrupt, truncated and foreign files") {
  Snapshot snapshot = generated(30);
  const ValidationReport expected = full(snapshot);
  TempDir dir;
  {
    DiskCache cache(dir.str());
    with_cache(snapshot, cache);
  }
  const auto written = segments(dir.path());
  REQUIRE(written.size() == 1);
  const std::string good = read_file(written[0]);

  SUBCASE("a flipped byte") {
    std::string bad = good;
    bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x20);
    std::ofstream(written[0], std::ios::binary | std::ios::trunc) << bad;
  }
  SUBCASE("truncated") {
    std::ofstream(written[0], std::ios::binary | std::ios::trunc)
        << good.substr(0, good.size() / 3);
  }
  SUBCASE("empty") { std::ofstream(written[0], std::ios::binary | std::ios::trunc); }
  SUBCASE("a damaged snapshot report") {
    for (const auto& item : fs::directory_iterator(dir.path() / "snapshots")) {
      std::string bad = read_file(item.path());
      bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x01);
      std::ofstream(item.path(), std::ios::binary | std::ios::trunc) << bad;
    }
  }
  SUBCASE("garbage and leftovers beside it") {
    std::ofstream(dir.path() / "0000000000000000-1-0-0.seg", std::ios::binary) << "EFVC\x01garbage";
    std::ofstream(dir.path() / "tmp-1-2-3", std::ios::binary) << "half a segm";
    std::ofstream(dir.path() / "README", std::ios::binary) << "not ours";
    fs::remove_all(dir.path() / "snapshots"); // so the segments are read
  }

  if (read_file(written[0]) != good) {
    fs::remove_all(dir.path() / "snapshots"); // so the segments are read
  }
  DiskCache cache(dir.str());
  const ValidationReport report = with_cache(snapshot, cache);
  expect_same(report, expected);
  // Damaged files were replaced by a good one; the next run is all hits.
  DiskCache again(dir.str());
  const ValidationReport warm = with_cache(snapshot, again);
  expect_same(warm, expected);
  CHECK(warm.cached == warm.files);
  CHECK(segments(dir.path()).size() == 1);
}

TEST_CASE("core::workspace::DiskCache: a change of schema, options or version is a miss") {
  Snapshot snapshot = generated(20);
  TempDir dir;
  DiskCache cache(dir.str());
  with_cache(snapshot, cache);
  CHECK(with_cache(snapshot, cache).cached > 0);

  SUBCASE("schema digest") {
    // An agent's kind must now be spelled differently: every agent fails.
    const content::SchemaSet strict =
        edited_schemas("agent", "\"const\": \"Agent\"", "\"const\": \"Agentx\"");
    CHECK(strict.digest() != content::SchemaSet::builtin().digest());
    const ValidationReport expected = full(snapshot, 1, strict);
    const ValidationReport report = with_cache(snapshot, cache, 2, strict);
    CHECK(report.cached == 0);
    expect_same(report, expected);
    CHECK(dump(expected.diagnostics) != dump(full(snapshot).diagnostics));
    CHECK(with_cache(snapshot, cache, 2, strict).cached == report.files);
  }
  SUBCASE("options") {
    content::ValidateOptions options;
    options.cache = &cache;
    options.max_file_size = 64;
    content::ValidateOptions plain = options;
    plain.cache = nullptr;
    const ValidationReport report = validate(snapshot, options, content::SchemaSet::builtin());
    CHECK(report.cached == 0);
    expect_same(report, validate(snapshot, plain, content::SchemaSet::builtin()));
  }
  SUBCASE("context names the validator version") {
    const std::string context =
        content::cache_context(content::ValidateOptions{}, content::SchemaSet::builtin());
    CHECK(context.find("validator " + std::to_string(envflow::content::k_validator_version)) !=
          std::string::npos);
    CHECK(context.find(content::SchemaSet::builtin().digest()) != std::string::npos);
  }
}

TEST_CASE("core::workspace::DiskCache stays bounded") {
  Snapshot snapshot = generated(30);
  TempDir dir;
  envflow::core::workspace::CacheLimits limits;
  limits.max_files = 3;
  // Twelve runs, each changing one file: at most max_files segments remain.
  for (int run = 0; run < 12; ++run) {
    snapshot.put("variables/v1.yaml",
                 "kind: Variable\nname: v1\ntype: number\ndefault: " + std::to_string(run) + "\n");
    DiskCache cache(dir.str(), limits);
    expect_same(with_cache(snapshot, cache), full(snapshot));
    CHECK(segments(dir.path()).size() <= limits.max_files);
  }
  // At most 32 snapshot reports are kept.
  std::size_t reports = 0;
  for ([[maybe_unused]] const auto& item : fs::directory_iterator(dir.path() / "snapshots")) {
    ++reports;
  }
  CHECK(reports == 12);
  // A size bound below one tree's results keeps only what the last run used
  // (snapshot reports removed, so that the per-file results are used).
  limits.max_bytes = 1;
  fs::remove_all(dir.path() / "snapshots");
  {
    DiskCache cache(dir.str(), limits);
    CHECK(with_cache(snapshot, cache).cached == full(snapshot).files - k_uncached);
  }
  fs::remove_all(dir.path() / "snapshots");
  DiskCache cache(dir.str(), limits);
  const ValidationReport warm = with_cache(snapshot, cache);
  CHECK(warm.cached == warm.files - k_uncached);
  expect_same(warm, full(snapshot));
}
