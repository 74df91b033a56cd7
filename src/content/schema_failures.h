#pragma once

// valijson's failures turned into diagnostics, private to src/content/:
// where a failure is (schema_locate.cpp) and what to say about it
// (schema_report.cpp). Free of valijson, whose headers only schema.cpp
// includes: they are slow to compile, and compiled once there.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "content/diagnostic.h"
#include "content/value.h"

namespace envflow::content::schema_failures {

// The schema as written, property order kept, for reading back what a failed
// constraint expected: valijson's errors say only which kind of check failed.
using Json = nlohmann::ordered_json;

// One failure as valijson reports it: its context (`<root>`, `[servers]`,
// `[1]`, ...) and its description.
struct Failure {
  std::vector<std::string> context;
  std::string description;
};

// Where a valijson error points: the node, the mapping entry holding it
// (for the key's position), the path as a user writes it, and every
// subschema that applies there.
struct Location {
  const Value* node = nullptr;
  const Entry* entry = nullptr;
  std::string path;
  std::vector<const Json*> schemas;
};

// Where `context` (a failure's) points in `document`, validated against the
// schema `root`.
Location locate(const Json& root, const Value& document, const std::vector<std::string>& context);

// The diagnostics (rule "schema", sorted) for the `failures` of `document`
// (loaded from `path`) against the schema `root` titled `title`.
std::vector<Diagnostic> report(const Json& root, const std::string& title, const Value& document,
                               const std::string& path, const std::vector<Failure>& failures);

// Whether `pattern`, a JSON Schema pattern (of `patternProperties`), matches
// somewhere in `text`, the way valijson matches it (std::regex, ECMAScript,
// regex_search). Defined in schema.cpp, the one file that compiles <regex>.
// Throws std::regex_error when `pattern` does not compile.
bool pattern_matches(const std::string& text, const std::string& pattern);

// The positions mentioned as "#N" in a valijson message, in order: the
// numbers of R"(#([0-9]+))" found leftmost first and without overlaps.
// Throws std::out_of_range for a number past std::size_t (std::stoul).
std::vector<std::size_t> indexes_in(const std::string& text);

} // namespace envflow::content::schema_failures
