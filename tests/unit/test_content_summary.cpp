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
#include "content/schema.h"
#include "content/source.h"
#include "content/summary.h"
#include "content/validator.h"
#include "content/yaml.h"
#include "core/workspace/cache.h"

namespace fs = std::filesystem;
using envflow::content::Diagnostic;
using envflow::content::FileEntry;
using envflow::content::FileSource;
using envflow::content::FileSummary;
using envflow::content::SchemaSet;
using envflow::content::ValidateOptions;
using envflow::content::ValidationReport;
using envflow::core::workspace::DiskCache;

namespace {

const fs::path k_source_dir = ENVFLOW_SOURCE_DIR;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// A snapshot in memory. With `Ids::yes` entries carry git blob ids, like a
// commit's tree or the index; without, like a working tree.
class Snapshot : public FileSource {
public:
  enum class Ids { no, yes };

  explicit Snapshot(Ids ids = Ids::yes) : m_ids(ids) {}

  void put(const std::string& path, std::string data,
           FileEntry::Type type = FileEntry::Type::regular) {
    m_files[path] = {std::move(data), type};
  }
  void remove(const std::string& path) { m_files.erase(path); }
  void set_ids(Ids ids) { m_ids = ids; }
  // List sizes as 0 (unknown), as a source that reads no blob headers does.
  void hide_sizes() { m_sizes = false; }
  std::size_t reads() const { return m_reads; }

  std::vector<FileEntry> list() override {
    std::vector<FileEntry> entries;
    for (const auto& [path, file] : m_files) {
      FileEntry entry;
      entry.path = path;
      entry.type = file.second;
      entry.size = m_sizes ? file.first.size() : 0;
      if (m_ids == Ids::yes) {
        entry.id = envflow::content::git_blob_id(file.first);
      }
      entries.push_back(entry);
    }
    return entries;
  }

  std::string read(const FileEntry& entry) override {
    ++m_reads;
    return m_files.at(entry.path).first;
  }

private:
  Ids m_ids;
  bool m_sizes = true;
  std::map<std::string, std::pair<std::string, FileEntry::Type>> m_files;
  std::size_t m_reads = 0;
};

// The starter workspace of `envflow init`, from templates/workspace.
Snapshot starter() {
  Snapshot snapshot;
  const fs::path root = k_source_dir / "templates" / "workspace";
  for (const auto& item : fs::recursive_directory_iterator(root)) {
    if (item.is_regular_file()) {
      snapshot.put(fs::relative(item.path(), root).generic_string(), read_text(item.path()));
    }
  }
  return snapshot;
}

// A deterministic pseudo-random sequence (the same on every platform).
class Lcg {
public:
  explicit Lcg(std::uint64_t seed) : m_state(seed) {}
  std::size_t below(std::size_t n) {
    m_state = m_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::size_t>((m_state >> 33) % n);
  }

private:
  std::uint64_t m_state;
};

std::string num(std::size_t i) { return std::to_string(i); }

// A generated workspace of agents, workflows, variables, integrations,
// knowledge bases and channels that reference each other, with errors of
// every rule seeded in.
Snapshot generated(std::size_t agents) {
  Lcg rng(6);
  Snapshot s;
  s.put("workspace.yaml", "kind: Workspace\nname: gen\nschema_version: 1\n");
  const std::size_t variables = agents / 2 + 1;
  const std::size_t integrations = agents / 5 + 1;
  const std::size_t workflows = agents;
  for (std::size_t i = 0; i < variables; ++i) {
    s.put("variables/v" + num(i) + ".yaml",
          "kind: Variable\nname: v" + num(i) + "\ntype: number\ndefault: " + num(i) + "\n");
  }
  for (std::size_t i = 0; i < integrations; ++i) {
    s.put("integrations/i" + num(i) + ".yaml",
          "kind: Integration\nname: i" + num(i) +
              "\nbase_url: https://i.example.com\nauth:\n  type: bearer\n  secret: "
              "${secrets.I_TOKEN}\nendpoints:\n  - name: get\n    method: GET\n    path: /x\n"
              "  - name: put\n    method: PUT\n    path: /y\n");
  }
  s.put("knowledge/kb.yaml", "kind: KnowledgeBase\nname: kb\nsources:\n  - type: file\n"
                             "    path: knowledge/kb/a.md\n  - type: file\n    path: knowledge/kb/\n");
  s.put("knowledge/kb/a.md", "# A\n");
  s.put("channels/web.yaml", "kind: Channel\nname: web\ntype: web\nagent: a0\n");
  for (std::size_t i = 0; i < agents; ++i) {
    const std::size_t integration = rng.below(integrations);
    s.put("agents/a" + num(i) + ".yaml",
          "kind: Agent\nname: a" + num(i) + "\ninstructions: |\n  Help. Write to {{ vars.v" +
              num(rng.below(variables)) + " }} when stuck.\ntools:\n  - integration: i" +
              num(integration) + "\n    endpoint: get\nknowledge:\n  - kb\nfallback:\n"
              "  message: sorry\n  handoff_agent: a" + num(rng.below(agents)) + "\n");
  }
  for (std::size_t i = 0; i < workflows; ++i) {
    std::string text = "kind: Workflow\nname: w" + num(i) + "\ntrigger:\n  type: message\n"
                       "  channel: web\nsteps:\n";
    const std::size_t steps = 3 + rng.below(6);
    for (std::size_t k = 0; k < steps; ++k) {
      text += "  - id: s" + num(k) + "\n";
      if (rng.below(2) == 0) {
        text += "    agent: a" + num(rng.below(agents)) + "\n";
      } else {
        text += "    integration: i" + num(rng.below(integrations)) + "\n    endpoint: put\n";
      }
      text += "    input: \"{{ vars.v" + num(rng.below(variables)) + " }}\"\n";
    }
    s.put("workflows/w" + num(i) + ".yaml", text);
  }
  // Errors, one or more of each rule.
  s.put("agents/a1.yaml", "kind: Agent\nname: a1\ninstructions: x\ntools:\n"
                          "  - integration: i0\n    endpoint: gte\n  - integration: nope\n"
                          "    endpoint: get\nknowledge:\n  - kbb\n");
  s.put("agents/a2.yaml", "kind: Agent\nname: a2\ninstructions: {{ vars.V }}\n");
  s.put("agents/a3.yaml", "kind: Agent\nname: a3\ninstructions: \"{{ vars.v9999 }} and "
                          "{{ vars.BAD-name }}\"\ncolour: blue\n");
  s.put("agents/a4.yaml", "kind: Workflow\nname: a4\n");
  s.put("agents/a5.yaml", "kind: Agent\nname: not-a5\ninstructions: x\n");
  s.put("agents/a6.yaml", "kind: Agent\nname: a6\ninstructions: x\nkey: a\nkey: b\n");
  s.put("agents/a7.yaml", "kind: Agent\nname: a7\ninstructions: [unclosed\n");
  s.put("agents/a8.yaml", "kind: Agent\nname: a8\ninstructions: x\ndescription: "
                          "AKIAIOSFODNN7EXAMPLE\napi_token: ghp_abcdefghijklmnopqrstuvwxyz0123456789\n");
  s.put("agents/a9.yaml", std::string("kind: Agent\nname: a9\0\n", 23));
  s.put("agents/a10.yaml", "kind: Agent\nname: a10\ninstructions: \xff\xfe\n");
  s.put("agents/a11.yaml", "- just\n- a list\n");
  s.put("agents/a12.yaml", "");
  s.put("agents/a13.yaml", "kind: Nonsense\nname: a13\n");
  s.put("agents/a14.yaml", "name: a14\ninstructions: x\n");
  s.put("agents/link.yaml", "../outside.yaml", FileEntry::Type::symlink);
  s.put("agents/notes.txt", "not yaml\n");
  s.put("workflows/w1.yaml", "kind: Workflow\nname: w1\ntrigger:\n  type: message\n"
                             "  channel: tvv\nsteps:\n  - id: s0\n    agent: a0\n    next: s9\n"
                             "  - id: s0\n    workflow: w999\n  - id: s2\n    integration: i0\n"
                             "    endpoint: delete\n");
  s.put("variables/v0.yaml", "kind: Variable\nname: v0\ntype: number\ndefault: many\n");
  s.put("knowledge/kb2.yaml", "kind: KnowledgeBase\nname: kb2\nsources:\n  - type: file\n"
                              "    path: knowledge/kb2/missing.md\n  - type: file\n"
                              "    path: knowledge/kb/a.md\n");
  s.put("channels/tv.yaml", "kind: Channel\nname: tv\ntype: voice\nworkflow: w-missing\n");
  s.put("analytics/2024.yaml", "x: 1\n");
  s.put("evaluators/e.yaml", "kind: Evaluator\nname: e\n");
  return s;
}

// Files of generated() the listing alone decides (the symlink): never cached.
constexpr std::size_t k_uncached = 1;

std::string dump(const std::vector<Diagnostic>& diagnostics) {
  std::string text;
  for (const auto& d : diagnostics) {
    text += d.to_text() + "\n";
  }
  return text;
}

void expect_same(const ValidationReport& actual, const ValidationReport& expected) {
  CHECK(actual.files == expected.files);
  CHECK(dump(actual.diagnostics) == dump(expected.diagnostics));
  CHECK(actual.diagnostics == expected.diagnostics);
}

ValidationReport full(Snapshot& snapshot, unsigned threads = 1,
                      const SchemaSet& schemas = SchemaSet::builtin()) {
  ValidateOptions options;
  options.threads = threads;
  return validate(snapshot, options, schemas);
}

ValidationReport with_cache(Snapshot& snapshot, DiskCache& cache, unsigned threads = 2,
                            const SchemaSet& schemas = SchemaSet::builtin()) {
  ValidateOptions options;
  options.threads = threads;
  options.cache = &cache;
  return validate(snapshot, options, schemas);
}

// A fresh temporary folder, removed afterwards.
class TempDir {
public:
  TempDir() {
    static int counter = 0;
    m_path = fs::temp_directory_path() /
             ("envflow-summary-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(m_path);
    fs::create_directories(m_path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
  std::string str() const { return m_path.string() + "/"; }
  const fs::path& path() const { return m_path; }

private:
  fs::path m_path;
};

std::vector<fs::path> segments(const fs::path& dir) {
  std::vector<fs::path> found;
  for (const auto& item : fs::directory_iterator(dir)) {
    if (item.path().extension() == ".seg") {
      found.push_back(item.path());
    }
  }
  return found;
}

// The builtin schemas, read from schemas/, with `edit` applied to one of them.
SchemaSet edited_schemas(const std::string& name, const std::string& from, const std::string& to) {
  std::vector<std::pair<std::string, std::string>> sources;
  for (const auto& item : fs::directory_iterator(k_source_dir / "schemas")) {
    const std::string file = item.path().filename().string();
    const std::string stem = file.substr(0, file.find('.'));
    std::string text = read_text(item.path());
    if (stem == name) {
      const auto at = text.find(from);
      REQUIRE(at != std::string::npos);
      text.replace(at, from.size(), to);
    }
    sources.emplace_back(stem, text);
  }
  return SchemaSet(sources);
}

} // namespace

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
    Snapshot snapshot = starter();
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
  const std::string good = read_text(written[0]);

  SUBCASE("a flipped byte") {
    std::string bad = good;
    bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x20);
    std::ofstream(written[0], std::ios::binary | std::ios::trunc) << bad;
  }
  SUBCASE("truncated") {
    std::ofstream(written[0], std::ios::binary | std::ios::trunc) << good.substr(0, good.size() / 3);
  }
  SUBCASE("empty") {
    std::ofstream(written[0], std::ios::binary | std::ios::trunc);
  }
  SUBCASE("a damaged snapshot report") {
    for (const auto& item : fs::directory_iterator(dir.path() / "snapshots")) {
      std::string bad = read_text(item.path());
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

  if (read_text(written[0]) != good) {
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
    const SchemaSet strict = edited_schemas("agent", "\"const\": \"Agent\"",
                                            "\"const\": \"Agentx\"");
    CHECK(strict.digest() != SchemaSet::builtin().digest());
    const ValidationReport expected = full(snapshot, 1, strict);
    const ValidationReport report = with_cache(snapshot, cache, 2, strict);
    CHECK(report.cached == 0);
    expect_same(report, expected);
    CHECK(dump(expected.diagnostics) != dump(full(snapshot).diagnostics));
    CHECK(with_cache(snapshot, cache, 2, strict).cached == report.files);
  }
  SUBCASE("options") {
    ValidateOptions options;
    options.cache = &cache;
    options.max_file_size = 64;
    ValidateOptions plain = options;
    plain.cache = nullptr;
    const ValidationReport report = validate(snapshot, options, SchemaSet::builtin());
    CHECK(report.cached == 0);
    expect_same(report, validate(snapshot, plain, SchemaSet::builtin()));
  }
  SUBCASE("context names the validator version") {
    const std::string context =
        envflow::content::cache_context(ValidateOptions{}, SchemaSet::builtin());
    CHECK(context.find("validator " + std::to_string(envflow::content::k_validator_version)) !=
          std::string::npos);
    CHECK(context.find(SchemaSet::builtin().digest()) != std::string::npos);
  }
}

TEST_CASE("core::workspace::DiskCache stays bounded") {
  Snapshot snapshot = generated(30);
  TempDir dir;
  envflow::core::workspace::CacheLimits limits;
  limits.max_files = 3;
  // Twelve runs, each changing one file: at most max_files segments remain.
  for (int run = 0; run < 12; ++run) {
    snapshot.put("variables/v1.yaml", "kind: Variable\nname: v1\ntype: number\ndefault: " +
                                          std::to_string(run) + "\n");
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
