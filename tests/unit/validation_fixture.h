#pragma once
// Workspaces in memory for the validation and result-cache tests: a
// snapshot source, the starter workspace, a generated one with every rule's
// errors seeded in, and validation with and without the cache.

#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "content/schema.h"
#include "content/source.h"
#include "content/summary.h"
#include "content/validator.h"
#include "core/workspace/cache.h"

#include "support.h"

namespace envflow::test {

// A snapshot in memory. With `Ids::yes` entries carry git blob ids, like a
// commit's tree or the index; without, like a working tree.
class Snapshot : public content::FileSource {
public:
  enum class Ids { no, yes };

  explicit Snapshot(Ids ids = Ids::yes) : m_ids(ids) {}

  void put(const std::string& path, std::string data,
           content::FileEntry::Type type = content::FileEntry::Type::regular) {
    m_files[path] = {std::move(data), type};
  }
  void remove(const std::string& path) { m_files.erase(path); }
  void set_ids(Ids ids) { m_ids = ids; }
  // List sizes as 0 (unknown), as a source that reads no blob headers does.
  void hide_sizes() { m_sizes = false; }
  std::size_t reads() const { return m_reads; }

  std::vector<content::FileEntry> list() override {
    std::vector<content::FileEntry> entries;
    for (const auto& [path, file] : m_files) {
      content::FileEntry entry;
      entry.path = path;
      entry.type = file.second;
      entry.size = m_sizes ? file.first.size() : 0;
      if (m_ids == Ids::yes) {
        entry.id = content::git_blob_id(file.first);
      }
      entries.push_back(entry);
    }
    return entries;
  }

  std::string read(const content::FileEntry& entry) override {
    ++m_reads;
    return m_files.at(entry.path).first;
  }

private:
  Ids m_ids;
  bool m_sizes = true;
  std::map<std::string, std::pair<std::string, content::FileEntry::Type>> m_files;
  std::size_t m_reads = 0;
};

// The starter workspace of `envflow init`, from templates/workspace.
inline Snapshot starter_snapshot() {
  Snapshot snapshot;
  const std::filesystem::path root = k_source_dir / "templates" / "workspace";
  for (const auto& item : std::filesystem::recursive_directory_iterator(root)) {
    if (item.is_regular_file()) {
      snapshot.put(std::filesystem::relative(item.path(), root).generic_string(),
                   read_file(item.path()));
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

inline std::string num(std::size_t i) { return std::to_string(i); }

// A generated workspace of agents, workflows, variables, integrations,
// knowledge bases and channels that reference each other, with errors of
// every rule seeded in.
inline Snapshot generated(std::size_t agents) {
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
  s.put("knowledge/kb.yaml",
        "kind: KnowledgeBase\nname: kb\nsources:\n  - type: file\n"
        "    path: knowledge/kb/a.md\n  - type: file\n    path: knowledge/kb/\n");
  s.put("knowledge/kb/a.md", "# A\n");
  s.put("channels/web.yaml", "kind: Channel\nname: web\ntype: web\nagent: a0\n");
  for (std::size_t i = 0; i < agents; ++i) {
    const std::size_t integration = rng.below(integrations);
    s.put("agents/a" + num(i) + ".yaml",
          "kind: Agent\nname: a" + num(i) + "\ninstructions: |\n  Help. Write to {{ vars.v" +
              num(rng.below(variables)) + " }} when stuck.\ntools:\n  - integration: i" +
              num(integration) +
              "\n    endpoint: get\nknowledge:\n  - kb\nfallback:\n"
              "  message: sorry\n  handoff_agent: a" +
              num(rng.below(agents)) + "\n");
  }
  for (std::size_t i = 0; i < workflows; ++i) {
    std::string text = "kind: Workflow\nname: w" + num(i) +
                       "\ntrigger:\n  type: message\n"
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
  s.put("agents/a8.yaml",
        "kind: Agent\nname: a8\ninstructions: x\ndescription: "
        "AKIAIOSFODNN7EXAMPLE\napi_token: ghp_abcdefghijklmnopqrstuvwxyz0123456789\n");
  s.put("agents/a9.yaml", std::string("kind: Agent\nname: a9\0\n", 23));
  s.put("agents/a10.yaml", "kind: Agent\nname: a10\ninstructions: \xff\xfe\n");
  s.put("agents/a11.yaml", "- just\n- a list\n");
  s.put("agents/a12.yaml", "");
  s.put("agents/a13.yaml", "kind: Nonsense\nname: a13\n");
  s.put("agents/a14.yaml", "name: a14\ninstructions: x\n");
  s.put("agents/link.yaml", "../outside.yaml", content::FileEntry::Type::symlink);
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
inline constexpr std::size_t k_uncached = 1;

inline void expect_same(const content::ValidationReport& actual,
                        const content::ValidationReport& expected) {
  CHECK(actual.files == expected.files);
  CHECK(dump(actual.diagnostics) == dump(expected.diagnostics));
  CHECK(actual.diagnostics == expected.diagnostics);
}

inline content::ValidationReport
full(Snapshot& snapshot, unsigned threads = 1,
     const content::SchemaSet& schemas = content::SchemaSet::builtin()) {
  content::ValidateOptions options;
  options.threads = threads;
  return content::validate(snapshot, options, schemas);
}

inline content::ValidationReport
with_cache(Snapshot& snapshot, core::workspace::DiskCache& cache, unsigned threads = 2,
           const content::SchemaSet& schemas = content::SchemaSet::builtin()) {
  content::ValidateOptions options;
  options.threads = threads;
  options.cache = &cache;
  return content::validate(snapshot, options, schemas);
}

inline std::vector<std::filesystem::path> segments(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> found;
  for (const auto& item : std::filesystem::directory_iterator(dir)) {
    if (item.path().extension() == ".seg") {
      found.push_back(item.path());
    }
  }
  return found;
}

// The builtin schemas, read from schemas/, with `edit` applied to one of them.
inline content::SchemaSet edited_schemas(const std::string& name, const std::string& from,
                                         const std::string& to) {
  std::vector<std::pair<std::string, std::string>> sources;
  for (const auto& item : std::filesystem::directory_iterator(k_source_dir / "schemas")) {
    const std::string file = item.path().filename().string();
    const std::string stem = file.substr(0, file.find('.'));
    std::string text = read_file(item.path());
    if (stem == name) {
      const auto at = text.find(from);
      REQUIRE(at != std::string::npos);
      text.replace(at, from.size(), to);
    }
    sources.emplace_back(stem, text);
  }
  return content::SchemaSet(sources);
}

} // namespace envflow::test
