#include "content/schema.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <regex>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "content/schema_failures.h"
#include "util/embedded.h"
#include "util/error.h"
#include "util/json.h"
#include "util/strings.h"

namespace envflow::content {

namespace {

// Compiling and running valijson. What a failure means for the user is
// worked out without it (schema_failures.h).
using schema_failures::Json;

constexpr std::string_view k_schema_dir = "schemas/";
constexpr std::string_view k_schema_suffix = ".schema.json";

struct Compiled {
  std::string title;
  Json document;
  valijson::Schema schema;
};

std::string fnv1a_hex(std::string_view data, std::uint64_t hash = 0xcbf29ce484222325ULL) {
  for (const unsigned char c : data) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

std::vector<std::pair<std::string, std::string>> embedded_schemas() {
  std::vector<std::pair<std::string, std::string>> sources;
  for (const auto& file : util::embedded_files()) {
    if (util::starts_with(file.path, k_schema_dir) && util::ends_with(file.path, k_schema_suffix)) {
      std::string_view name = file.path;
      name.remove_prefix(k_schema_dir.size());
      name.remove_suffix(k_schema_suffix.size());
      if (name.find('/') == std::string_view::npos) {
        sources.emplace_back(std::string(name), std::string(file.data));
      }
    }
  }
  return sources;
}

} // namespace

struct SchemaSet::Impl {
  std::map<std::string, std::unique_ptr<Compiled>, std::less<>> schemas;
  std::string digest;
};

const SchemaSet& SchemaSet::builtin() {
  static const SchemaSet set(embedded_schemas());
  return set;
}

SchemaSet::SchemaSet(const std::vector<std::pair<std::string, std::string>>& sources)
    : m_impl(std::make_unique<Impl>()) {
  auto sorted = sources;
  std::sort(sorted.begin(), sorted.end());
  std::string all;
  for (const auto& [name, text] : sorted) {
    auto compiled = std::make_unique<Compiled>();
    try {
      compiled->document = util::parse_ordered_json(text);
      const nlohmann::json plain = util::parse_json(text);
      valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
      const valijson::adapters::NlohmannJsonAdapter adapter(plain);
      parser.populateSchema(adapter, compiled->schema);
    } catch (const std::exception& e) {
      throw util::IoError("schema '" + name + "': " + e.what());
    }
    compiled->title =
        compiled->document.is_object() ? compiled->document.value("title", name) : name;
    m_impl->schemas[name] = std::move(compiled);
    all += name;
    all += '\0';
    all += text;
    all += '\0';
  }
  m_impl->digest = fnv1a_hex(all);
}

SchemaSet::~SchemaSet() = default;

bool SchemaSet::has(std::string_view name) const {
  return m_impl->schemas.find(name) != m_impl->schemas.end();
}

std::vector<Diagnostic> SchemaSet::validate(std::string_view name, const Value& document,
                                            const std::string& path) const {
  const auto it = m_impl->schemas.find(name);
  if (it == m_impl->schemas.end()) {
    throw util::IoError("no schema named '" + std::string(name) + "'");
  }
  const Compiled& compiled = *it->second;
  const nlohmann::json instance = document.to_json();
  const valijson::adapters::NlohmannJsonAdapter target(instance);
  valijson::ValidationResults results;
  // The validator caches compiled regular expressions; one per thread keeps
  // that cache warm across documents without sharing it between threads.
  thread_local valijson::Validator validator(valijson::Validator::kStrongTypes);
  bool valid = false;
  try {
    valid = validator.validate(compiled.schema, target, &results);
  } catch (const std::regex_error& e) {
    throw util::IoError("schema '" + std::string(name) + "': bad pattern: " + e.what());
  }
  if (valid) {
    return {};
  }
  std::vector<schema_failures::Failure> failures;
  for (const auto& error : results) {
    failures.push_back({error.context, error.description});
  }
  return schema_failures::report(compiled.document, compiled.title, document, path, failures);
}

const std::string& SchemaSet::digest() const { return m_impl->digest; }

// JSON Schema patterns are matched here and only here, with the engine
// valijson uses: a `patternProperties` key the report or the locator reads
// back matches exactly when it matched for valijson.
bool schema_failures::pattern_matches(const std::string& text, const std::string& pattern) {
  return std::regex_search(text, std::regex(pattern));
}

} // namespace envflow::content
