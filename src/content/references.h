#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "content/diagnostic.h"
#include "content/summary.h"
#include "content/value.h"

namespace envflow::content {

// One loaded content document.
struct Document {
  std::string path;  // e.g. "agents/support.yaml"
  std::string kind;  // e.g. "Agent"
  std::string name;  // the `name` field
  const Value* value = nullptr;
};

// The names each kind declares, plus each variable's declared type.
struct Catalog {
  std::map<std::string, std::set<std::string>> names; // kind -> names
  std::map<std::string, std::string> variable_types;  // variable name -> type
  std::set<std::string> files;                        // file paths of the snapshot: all,
                                                      // or at least those under knowledge/
                                                      // (only they can be referred to)

  static Catalog from(const std::vector<Document>& documents);
  // Add what `document` declares (its name, a variable's type, an
  // integration's endpoints); documents without a name declare nothing.
  void declare(const DocumentSummary& document);
  bool has(const std::string& kind, const std::string& name) const;
};

// A `{{ vars.NAME }}` reference in a string: the name as written (it may be
// empty or not a valid variable name) and where the whole reference starts
// and ends (offsets into the string, `end` one past the last "}").
struct VariableReference {
  std::string_view name;
  std::size_t begin = 0;
  std::size_t end = 0;
};

// The `{{ vars.NAME }}` references in `text`, leftmost first and without
// overlaps: what std::sregex_iterator finds with
// R"(\{\{\s*vars\.([^\s}]*)\s*\}\})" (`\s` being " \t\n\v\f\r"), group 1
// being the name. Names are views into `text`. The one place that rule is
// written: the reference check and the diff's "who uses what" both read
// references through it.
std::vector<VariableReference> variable_references(std::string_view text);

// Everything the reference check needs of `document`, without the catalog:
// its declarations and, in report order, each reference it makes and each
// finding that needs no other file. `check_references(summarize(d), c)`
// reports exactly what `check_references(d, c)` does.
DocumentSummary summarize(const Document& document);

// Cross-file references of `document` against `catalog`:
//  - a workflow step's `agent`, `integration`, `workflow` exist (rules
//    "ref-agent", "ref-integration", "ref-workflow");
//  - an agent's `knowledge` entries and `tools[].integration` exist
//    ("ref-knowledge", "ref-integration");
//  - a channel's `agent` / `workflow` exist;
//  - every `{{ vars.X }}` in any string names a declared variable ("ref-variable").
// Each diagnostic sits on the referencing node and names what is missing
// and which names are declared (or "did you mean …").
std::vector<Diagnostic> check_references(const Document& document, const Catalog& catalog);
std::vector<Diagnostic> check_references(const DocumentSummary& document, const Catalog& catalog);

// check_references for many documents against one catalog: indexes the
// catalog's names once for hash lookups, so the catalog must not change
// while the checker is in use.
class ReferenceChecker {
public:
  explicit ReferenceChecker(const Catalog& catalog);
  ~ReferenceChecker();
  ReferenceChecker(const ReferenceChecker&) = delete;
  ReferenceChecker& operator=(const ReferenceChecker&) = delete;

  std::vector<Diagnostic> check(const DocumentSummary& document) const;

  struct Index;

private:
  const Catalog& m_catalog;
  std::unique_ptr<Index> m_index;
};

} // namespace envflow::content
