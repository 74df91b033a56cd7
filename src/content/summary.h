#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "content/diagnostic.h"
#include "content/value.h"

// Per-file validation results in a compact, serializable form: what one
// file's own checks found, and everything the cross-file reference check
// needs of it. A summary depends only on the file's path and bytes (plus the
// schemas and options, see ValidateOptions), so it can be cached by blob id
// and the reference check can run across a whole tree without parsing it.
namespace envflow::content {

// One step of a document's reference check, in the order the check reports.
struct ReferenceCheck {
  enum class Type : std::uint8_t {
    // `name` must be a declared `target` (a kind, e.g. "Agent").
    named,
    // `name` must be an endpoint of integration `target`. Checked only when
    // the named check just before it (the integration) passed.
    endpoint,
    // `name` (a path) must be a file of the snapshot, or a folder holding one.
    document,
    // `name` must be a declared Variable (`where` holds the reference text).
    variable,
    // A finding that needs no catalog (duplicate step id, a step's `next`,
    // a document outside its folder, a malformed variable reference):
    // `where` holds the whole message, `rule` the rule.
    finding,
  };

  Type type = Type::named;
  // Only checked when the snapshot carries promoted content (guardrails and
  // evaluators on a local ref name agents the ref does not hold).
  bool promoted_only = false;
  Mark mark;
  std::string target; // named: the kind; endpoint: the integration
  std::string name;   // the name, path or variable referred to
  std::string where;  // the field path, e.g. "steps[2].agent"; finding: the message
  std::string rule;   // e.g. "ref-agent"
};

// What the reference check needs of one content document.
struct DocumentSummary {
  std::string path;
  std::string kind;                   // e.g. "Agent"
  std::string name;                   // the `name` field ("" when absent)
  std::string variable_type;          // a Variable's `type`
  std::vector<std::string> endpoints; // an Integration's endpoint names
  std::vector<ReferenceCheck> checks; // in report order
};

// What validating one file gave.
struct FileSummary {
  std::vector<Diagnostic> diagnostics;     // the file's own findings
  std::optional<DocumentSummary> document; // set when it reached the reference check
};

// Serialize `summary` (of the file at `path`) to bytes, and back. `decode`
// returns nullopt on anything malformed (truncated, wrong version, garbage):
// callers treat that as "not cached". With Part::declarations the document's
// checks are verified but left out (what building a Catalog needs).
enum class Part { all, declarations };
std::string encode(const FileSummary& summary, const std::string& path);
std::optional<FileSummary> decode(std::string_view bytes, const std::string& path,
                                  Part part = Part::all);

// Git's blob id (lowercase hex SHA-1 of "blob <size>\0" + data): the key of
// a file's results whether it comes from a tree, the index or the working tree.
std::string git_blob_id(std::string_view data);

// Lowercase hex SHA-1 of `data`.
std::string sha1_hex(std::string_view data);

} // namespace envflow::content
