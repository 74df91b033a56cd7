// Fuzz target: content::validate on one file. The first byte picks where the
// file sits (its low 7 bits: a slot of k_slots; its high bit: a local ref
// instead of a promoted branch); the rest is the file. On a promoted branch
// the file joins the starter workspace (replacing the template at its path),
// so references to and from it are checked against real content.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "content/schema.h"
#include "content/source.h"
#include "content/validator.h"
#include "fuzz_check.h"
#include "util/embedded.h"

namespace {

using namespace envflow::content;
using envflow::fuzz::expect;

// Where the fuzzed file may sit. Seeds name their slot in their first byte:
// append here, never reorder.
constexpr std::string_view k_slots[] = {
    "workspace.yaml",
    "agents/support.yaml",
    "agents/triage.yaml",
    "workflows/support-request.yaml",
    "integrations/crm.yaml",
    "channels/web-widget.yaml",
    "variables/max_turns.yaml",
    "variables/crm_base_url.yaml",
    "variables/support_email.yaml",
    "knowledge/product-faq.yaml",
    "knowledge/product-faq/returns.md",
    "agents/fuzz.yaml",
    "workflows/fuzz.yaml",
    "integrations/fuzz.yaml",
    "channels/fuzz.yaml",
    "variables/fuzz.yaml",
    "knowledge/fuzz.yaml",
    "guardrails/fuzz.yaml",
    "evaluators/fuzz.yaml",
    "agents/fuzz.yml",
    "agents/sub/fuzz.yaml",
    "secrets/fuzz.yaml",
    "README.md",
    "Agents/fuzz.yaml",
    "docs/fuzz.md",
};
constexpr std::size_t k_slot_count = sizeof k_slots / sizeof k_slots[0];

constexpr std::string_view k_template_root = "templates/workspace/";

// Per-file results kept in memory, as core::workspace::DiskCache keeps them on disk.
// Results for the starter workspace's own files outlive one input (they are
// computed once, so each run spends its time on the fuzzed file); the others
// last for one input.
class MemoryCache : public ResultCache {
public:
  explicit MemoryCache(std::map<std::string, std::string>& lasting) : m_lasting(lasting) {}

  void open(const std::string& context) override {
    if (context != m_context) {
      m_entries.clear();
      m_context = context;
    }
  }
  std::optional<std::string_view> find(std::string_view id, std::string_view path) override {
    const std::string key = std::string(id) + '\0' + std::string(path);
    for (const auto* entries : {&m_entries, &m_lasting}) {
      if (const auto it = entries->find(key); it != entries->end()) {
        return std::string_view(it->second);
      }
    }
    return std::nullopt;
  }
  void insert(std::string_view id, std::string_view path, std::string_view result) override {
    const std::string key = std::string(id) + '\0' + std::string(path);
    (path == m_fuzzed ? m_entries : m_lasting).insert_or_assign(key, std::string(result));
  }
  void close() noexcept override {}
  void set_fuzzed(std::string_view path) { m_fuzzed = path; }

private:
  std::string m_context;
  std::string m_fuzzed;
  std::map<std::string, std::string> m_entries;
  std::map<std::string, std::string>& m_lasting;
};

// What validate promises of any report: sorted, no repeats, each finding on
// a file of the snapshot (or the missing workspace.yaml) at a 1-based position.
void check(const ValidationReport& report, const std::set<std::string>& paths) {
  const auto& all = report.diagnostics;
  expect(std::is_sorted(all.begin(), all.end()), "diagnostics are not sorted");
  expect(std::adjacent_find(all.begin(), all.end()) == all.end(), "a diagnostic is repeated");
  for (const auto& d : all) {
    expect(paths.contains(d.path) || d.path == k_workspace_file,
           [&] { return "diagnostic on a path the snapshot does not hold: " + d.to_text(); });
    expect(d.mark.line >= 1 && d.mark.column >= 1,
           [&] { return "diagnostic without a 1-based position: " + d.to_text(); });
    expect(!d.rule.empty() && !d.message.empty(), "diagnostic without rule or message");
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::string_view path = k_slots[(data[0] & 0x7f) % k_slot_count];
  const bool local = (data[0] & 0x80) != 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);

  MemorySource source;
  std::set<std::string> paths{std::string(path)};
  source.add(std::string(path), text);
  if (!local) {
    for (const auto& file : envflow::util::embedded_files()) {
      if (!file.path.starts_with(k_template_root)) {
        continue;
      }
      const std::string relative(file.path.substr(k_template_root.size()));
      if (paths.insert(relative).second) {
        source.add(relative, std::string(file.data));
      }
    }
  }
  ValidateOptions options;
  options.scope = local ? Scope::local : Scope::promoted;
  options.threads = 1;
  // Every run uses the same schemas and options (per scope), so one lasting
  // map per scope holds the starter workspace's results.
  static std::map<std::string, std::string> lasting[2];
  MemoryCache cache(lasting[local ? 1 : 0]);
  cache.set_fuzzed(path);
  options.cache = &cache;
  const SchemaSet& schemas = SchemaSet::builtin();

  const ValidationReport computed = validate(source, options, schemas);
  check(computed, paths);
  // "The report is the same whichever way a summary came": the second run
  // takes every file's summary from what the first one stored (a
  // MemorySource has no blob ids, so there is no snapshot report to reuse).
  const ValidationReport remembered = validate(source, options, schemas);
  expect(remembered.diagnostics == computed.diagnostics,
         "the cached report differs from the computed one");
  expect(remembered.files == computed.files, "the cached report counts other files");
  return 0;
}
