#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "content/diagnostic.h"
#include "content/kinds.h"
#include "content/source.h"

namespace envflow::content {

class SchemaSet;

struct ValidateOptions {
  std::uint64_t max_file_size = 1024 * 1024;
  // Which content the snapshot holds: a promoted branch refuses local kinds
  // (guardrails, evaluators); a local ref holds only those.
  Scope scope = Scope::promoted;
  // Report only diagnostics of these paths (files or folders); empty: all.
  // The whole snapshot is still read, so references are checked across it.
  std::vector<std::string> only;
};

struct ValidationReport {
  std::vector<Diagnostic> diagnostics; // sorted
  std::size_t files = 0;               // content files checked
  bool ok() const;
};

// Validate every content file of `source`: file guards (symlink, binary,
// size, not YAML), YAML, kind/name, schema, secrets, variable defaults,
// then references across files.
ValidationReport validate(FileSource& source, const ValidateOptions& options,
                          const SchemaSet& schemas);

} // namespace envflow::content
