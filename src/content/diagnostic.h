#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "content/value.h"

namespace envflow::content {

enum class Severity { error, warning };

// One finding, reported like a compiler: `path:line:col: error: message [rule]`.
struct Diagnostic {
  std::string path; // relative to the workspace root, '/'-separated
  Mark mark;        // 1-based; {1,1} for whole-file findings
  Severity severity = Severity::error;
  std::string message; // what is wrong and how to mend it
  std::string rule;    // stable id, e.g. "schema", "ref-agent", "secret-literal"
  // For a literal secret ("secret-literal"): what names the secret (see
  // content/secrets.h), to allow a known false positive by; else "". Has an
  // initializer, so `Diagnostic{path, mark, severity, message, rule}` stays
  // complete.
  std::string fingerprint = {};

  std::string to_text() const;
  // `fingerprint` only when there is one.
  nlohmann::json to_json() const;
};

bool operator<(const Diagnostic& a, const Diagnostic& b);
bool operator==(const Diagnostic& a, const Diagnostic& b);

// Sort by path, line, column, rule, message and drop exact repeats.
void sort_diagnostics(std::vector<Diagnostic>& diagnostics);

} // namespace envflow::content
