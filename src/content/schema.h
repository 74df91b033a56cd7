#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "content/diagnostic.h"
#include "content/value.h"

namespace envflow::content {

// The JSON Schemas (draft-07) envflow validates against, compiled once.
// Schema names are file stems under schemas/: "agent", "workflow",
// "knowledge", "integration", "channel", "variable", "guardrail",
// "evaluator", "workspace", "pipeline".
class SchemaSet {
public:
  // The schemas embedded in the binary.
  static const SchemaSet& builtin();

  // Compile schemas from (name, JSON text) pairs. Throws util::IoError on a bad schema.
  explicit SchemaSet(const std::vector<std::pair<std::string, std::string>>& sources);
  ~SchemaSet();
  SchemaSet(const SchemaSet&) = delete;
  SchemaSet& operator=(const SchemaSet&) = delete;

  bool has(std::string_view name) const;

  // Validate `document` (loaded from `path`) against schema `name`.
  // Each failure becomes one diagnostic (rule "schema") at the position of
  // the offending node, with the JSON path and what the schema expects.
  std::vector<Diagnostic> validate(std::string_view name, const Value& document,
                                   const std::string& path) const;

  // A digest of all schema texts: changes whenever any schema changes.
  const std::string& digest() const;

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace envflow::content
