#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "content/value.h"
#include "core/workspace/diff.h"

namespace envflow::git {
class Repository;
}

// Old and new values behind a semantic diff's field paths (`envflow diff
// --values`, and the web page's "what waits" view).
namespace envflow::core::workspace {

// One changed field of an item: its values on each side; nullopt where the
// field does not exist on that side (a key added or removed).
struct FieldValues {
  std::string field; // as in ItemChange::fields: "model.temperature", "steps[1].agent", `["a b"]`
  std::optional<content::Value> before;
  std::optional<content::Value> after;
  // When both sides are strings and one is_long_text: text_diff(before, after).
  std::vector<std::string> text_diff;
};

// Strings longer than this, or with a line break, are compared as text.
constexpr std::size_t k_inline_text_limit = 60;
// Documents larger than this (either side) get no text diff.
constexpr std::size_t k_max_document_text = 1024 * 1024;
// Past this many cells (changed lines before × changed lines after) text_diff
// stops aligning lines.
constexpr std::size_t k_max_text_diff_cells = 4'000'000;

// True when `value` is a string that reads better as text than on one line:
// longer than k_inline_text_limit bytes, or holding a line break.
bool is_long_text(const content::Value& value);

// The unified diff of two texts, line by line, as `diff -u` and git show it
// without file headers: "@@ -3,7 +3,8 @@" hunk headers, then lines starting
// with ' ' (context, up to `context` lines around each change), '-' or '+';
// each line without its line break. Empty when the texts are equal. A last
// line without a line break counts as if it had one. Lines are aligned by
// longest common subsequence after the common head and tail are set aside;
// past k_max_text_diff_cells, the rest is shown as all removed, then all added.
std::vector<std::string> text_diff(std::string_view before, std::string_view after,
                                   std::size_t context = 3);

// The node `field` names inside `root`, or nullptr when it does not exist.
// `field` uses the syntax of ItemChange::fields: `.key` or `key` at the
// start, `["key"]` (with `\"` and `\\` escapes), `[index]`; "(document)" is
// the whole document. Returns nullptr for a syntax it does not know.
const content::Value* value_at(const content::Value& root, std::string_view field);

// The values of every field of `item` (a changed YAML item of `diff`), read
// from the item's file in `diff.from` and `diff.to`, with text_diff filled for
// long text. For a changed Document, one "(document)" entry with both texts
// as strings when both are UTF-8 without NUL and at most k_max_document_text
// bytes. Empty for added and removed items and for sides that do not parse
// ("(unparsed)").
std::vector<FieldValues> field_values(const git::Repository& repo, const SemanticDiff& diff,
                                      const ItemChange& item);

// `values` as JSON: [{"field": ..., "before": <value>, "after": <value>}],
// `before` / `after` left out where the field does not exist on that side;
// "text_diff": the whole unified diff as one string (lines ended by "\n")
// where text_diff is not empty.
nlohmann::json field_values_json(const std::vector<FieldValues>& values);

} // namespace envflow::core::workspace
