#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace envflow::content {
class ResultCache;
}

namespace envflow::git {
class Repository;
}

namespace envflow::core::model {
class RefView;
}

namespace envflow::core::policy {
struct PipelineConfig;
}

namespace envflow::core::workspace {

// One content item that differs between two commits.
struct ItemChange {
  enum class Change { added, removed, changed };

  std::string kind; // "Workspace", "Agent", ..., or "Document" for files below knowledge/<name>/
  std::string name; // the file stem; for a document, its path below knowledge/
  std::string path; // path in the tree, e.g. "agents/support.yaml"
  Change change = Change::changed;
  // For changed items: the dotted field paths that differ, e.g. "instructions",
  // "model.temperature", "steps[1].agent"; "(unparsed)" when a side is not YAML.
  std::vector<std::string> fields;
  bool breaking = false;
  std::string reason; // why breaking, e.g. "variable 'x' removed; referenced by workflows/a.yaml"

  // A rename is a removed item and an added item of the same kind that hold
  // the same content (see semantic_diff); each names the other here: the
  // removed item its new name and path (`renamed_to`), the added item its old
  // ones (`renamed_from`). Both stay in `items`, so whoever reads paths sees
  // the files as git does.
  struct Other {
    std::string name;
    std::string path;
  };
  std::optional<Other> renamed_to;   // on the removed side of a rename
  std::optional<Other> renamed_from; // on the added side of a rename

  // How every change list (diff, sync's plan, release notes, the serve page)
  // shows an item: a rename once, on its removed side, so `listed()` is false
  // for the added side; `mark()` is "R" for a rename, else "+", "-" or "~";
  // `title()` is "Agent support", or "Agent triage → router" for a rename.
  bool listed() const { return !renamed_from; }
  std::string_view mark() const;
  std::string title() const;
};

// "added", "removed" or "changed".
std::string_view change_name(ItemChange::Change change);

// How many items changed in what way.
struct ChangeCounts {
  std::size_t added = 0;
  std::size_t removed = 0;
  std::size_t changed = 0;
  std::size_t renamed = 0; // renames; each is also one of `added` and one of `removed`
  std::size_t breaking = 0;
  std::size_t total() const { return added + removed + changed; }
  // "1 added, 2 changed, 1 renamed": a rename is counted once, not as added
  // and removed; "" when all are zero.
  std::string text() const;
};

// The semantic difference between two commits of a workspace.
struct SemanticDiff {
  std::string from; // commit ids
  std::string to;
  // Sorted by kind (Workspace first, then the order of content::kinds(), with
  // Document right after KnowledgeBase), then name, then path.
  std::vector<ItemChange> items;

  bool breaking() const;
  bool empty() const { return items.empty(); }
  // Counts over every item, or over the items of `kind`.
  ChangeCounts counts() const;
  ChangeCounts counts(std::string_view kind) const;
  // "3 items: 1 added, 2 changed, 1 breaking" (zero counts left out), or
  // "no semantic differences". A rename counts as one item ("1 renamed"),
  // not as one added and one removed.
  std::string summary() const;
  // The stable JSON form documented in docs/json.md, section "diff".
  nlohmann::json to_json() const;
};

// Resolve one side of a diff to a commit id: an environment name (its branch,
// when the repository has a pipeline config), else any revision git
// understands (branch, tag, id, `HEAD~2`, ...). Throws util::UsageError
// "unknown environment or revision 'x'" when neither fits.
std::string resolve_side(const git::Repository& repo, const std::string& env_or_rev);
// The same, with the environments of `config` (nullptr: none; every side is
// then a revision) and their branches read through `refs`: in a clone the
// server's view, so a clone diffs what the server holds.
std::string resolve_side(const git::Repository& repo, const model::RefView& refs,
                         const policy::PipelineConfig* config, const std::string& env_or_rev);

// Compare the content of commits `from_commit` and `to_commit`.
//
// Only content counts: workspace.yaml, `<folder>/<name>.yaml` (or .yml) for
// the kind folders of content::kinds(), and documents below
// knowledge/<name>/. Other files are ignored. Only blobs that differ are read
// (through git::Repository::diff_trees). A YAML item whose two sides are equal
// once parsed (comments, layout, quoting) is not reported.
//
// Renames: a removed and an added item of the same kind are paired when
// their content is the same: for YAML items, equal once parsed after the
// top-level `name` field is left out of both; for documents, byte for byte.
// An added item pairs with at most one removed item; when several fit, they
// pair in path order.
//
// Breaking changes, flagged with a reason:
//  - a Variable removed or renamed, or its `type` changed (environment
//    overrides name variables);
//  - a Workflow removed or renamed;
//  - an Agent, Integration or KnowledgeBase removed that an item of the
//    `from_commit` tree references (only the kinds that can refer to it are read);
//  - an item of any other kind renamed while an item of the `to_commit` tree
//    still refers to its old name (a rename whose references were updated in
//    the same change breaks nothing).
// The flag and the reason are on the removed item; the added side of a
// rename is never breaking.
// Remembered per pair of trees in the cache folder when the run keeps a
// cache (`cache`, the one model::Pipeline::cache names; nullptr: computed
// every time). Throws util::IoError when the repository cannot be read.
SemanticDiff semantic_diff(const git::Repository& repo, const content::ResultCache* cache,
                           const std::string& from_commit, const std::string& to_commit);

} // namespace envflow::core::workspace
