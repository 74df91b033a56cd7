// Fuzz target: the path rules (content/paths.h) and the report of a whole
// snapshot of such paths. The input is a listing: one path a line. Each path
// becomes a one-line file of a snapshot beside workspace.yaml, so the
// validator's own handling of odd names (escaping, the secret scan of files
// outside the content folders) runs too.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "content/paths.h"
#include "content/schema.h"
#include "content/source.h"
#include "content/validator.h"
#include "fuzz_check.h"
#include "util/json.h"
#include "util/strings.h"

namespace {

using namespace envflow::content;
using envflow::fuzz::expect;

// The folded key of a whole path, component by component.
std::string folded(std::string_view path) {
  std::string key;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = path.find('/', start);
    key += fold_name(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) {
      return key;
    }
    key += '/';
    start = slash + 1;
  }
}

bool printable(std::string_view text) {
  return envflow::util::is_valid_utf8(text) &&
         std::none_of(text.begin(), text.end(), [](char c) {
           const auto u = static_cast<unsigned char>(c);
           return u < 0x20 || u == 0x7F;
         });
}

// What check_paths promises: findings only on listed paths, with its two
// rules; every unsafe path reported; two paths that fold alike reported.
void check_rules(const std::vector<FileEntry>& entries) {
  const std::vector<Diagnostic> found = check_paths(entries);
  std::set<std::string> paths;
  for (const auto& entry : entries) {
    paths.insert(entry.path);
  }
  std::set<std::string> unsafe_reported;
  std::size_t collisions = 0;
  for (const auto& d : found) {
    expect(paths.contains(d.path), [&] { return "finding on a path not listed: " + d.to_text(); });
    expect(d.rule == "path-unsafe" || d.rule == "case-collision",
           [&] { return "unexpected rule: " + d.to_text(); });
    expect(printable(d.message), [&] { return "unprintable message: " + d.to_text(); });
    if (d.rule == "path-unsafe") {
      unsafe_reported.insert(d.path);
    } else {
      ++collisions;
    }
  }
  std::map<std::string, std::string> by_key;
  bool twins = false;
  for (const auto& entry : entries) {
    expect(unsafe_path_reason(entry.path).empty() || unsafe_reported.contains(entry.path),
           [&] { return "unsafe path not reported: " + envflow::util::printable(entry.path); });
    const auto [it, inserted] = by_key.emplace(folded(entry.path), entry.path);
    twins = twins || (!inserted && it->second != entry.path);
    if (envflow::util::is_valid_utf8(entry.path)) {
      const std::string once = fold_name(entry.path);
      expect(fold_name(once) == once, [&] { return "fold_name is not idempotent on " + entry.path; });
    }
  }
  expect(!twins || collisions > 0, "two paths fold alike and no case-collision is reported");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::set<std::string> listed;
  std::size_t start = 0;
  while (start <= text.size() && listed.size() < 64) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    if (end > start) {
      listed.emplace(text.substr(start, end - start));
    }
    start = end + 1;
  }
  std::vector<FileEntry> entries;
  for (const auto& path : listed) {
    entries.push_back(FileEntry{path, FileEntry::Type::regular, 2, ""});
  }
  check_rules(entries); // sorted and unique, as a source lists them

  MemorySource source;
  source.add("workspace.yaml", "kind: Workspace\nname: fuzz\nschema_version: 1\n");
  for (const auto& path : listed) {
    if (path != "workspace.yaml") {
      source.add(path, "x\n");
    }
  }
  ValidateOptions options;
  options.threads = 1;
  const ValidationReport report = validate(source, options, SchemaSet::builtin());
  for (const auto& d : report.diagnostics) {
    expect(printable(d.path) && printable(d.message),
           [&] { return "unprintable diagnostic: " + envflow::util::printable(d.to_text()); });
    try {
      (void)envflow::util::dump_json(d.to_json());
    } catch (const nlohmann::json::exception& e) {
      expect(false, std::string("a diagnostic does not convert to JSON text: ") + e.what());
    }
  }
  return 0;
}
