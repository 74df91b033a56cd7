#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "content/value.h"
#include "core/diff.h"

namespace envflow::git {
class Repository;
}

// Old and new values behind a semantic diff's field paths (`envflow diff
// --values`, and the web page's "what waits" view).
namespace envflow::core {

// One changed field of an item: its values on each side; nullopt where the
// field does not exist on that side (a key added or removed).
struct FieldValues {
  std::string field; // as in ItemChange::fields: "model.temperature", "steps[1].agent", `["a b"]`
  std::optional<content::Value> before;
  std::optional<content::Value> after;
};

// The node `field` names inside `root`, or nullptr when it does not exist.
// `field` uses the syntax of ItemChange::fields: `.key` or `key` at the
// start, `["key"]` (with `\"` and `\\` escapes), `[index]`; "(document)" is
// the whole document. Returns nullptr for a syntax it does not know.
const content::Value* value_at(const content::Value& root, std::string_view field);

// The values of every field of `item` (a changed YAML item of `diff`), read
// from the item's file in `diff.from` and `diff.to`. Empty for added and
// removed items and for sides that do not parse ("(unparsed)").
std::vector<FieldValues> field_values(const git::Repository& repo, const SemanticDiff& diff,
                                      const ItemChange& item);

// `values` as JSON: [{"field": ..., "before": <value>, "after": <value>}],
// `before` / `after` left out where the field does not exist on that side.
nlohmann::json field_values_json(const std::vector<FieldValues>& values);

} // namespace envflow::core
