#include "core/workspace/diff.h"

#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/enum_names.h"
#include "util/strings.h"

// How a semantic diff (core/workspace/diff.cpp computes it) is counted and
// shown: marks and titles, counts, the one-line summary and the JSON form.
namespace envflow::core::workspace {

std::string_view ItemChange::mark() const {
  static constexpr auto k_marks = std::to_array<util::EnumName<Change>>(
      {{Change::added, "+"}, {Change::removed, "-"}, {Change::changed, "~"}});
  return renamed_to ? "R" : util::name_of(k_marks, change, "~");
}

std::string ItemChange::title() const {
  return kind + " " + name + (renamed_to ? " → " + renamed_to->name : std::string());
}

std::string_view change_name(ItemChange::Change change) {
  using Change = ItemChange::Change;
  static constexpr auto k_names = std::to_array<util::EnumName<Change>>(
      {{Change::added, "added"}, {Change::removed, "removed"}, {Change::changed, "changed"}});
  return util::name_of(k_names, change, "changed");
}

bool SemanticDiff::breaking() const {
  return std::any_of(items.begin(), items.end(), [](const ItemChange& c) { return c.breaking; });
}

namespace {

// Counts over the items of `kind`, or over all items when `kind` is empty.
ChangeCounts tally(const std::vector<ItemChange>& items, std::string_view kind) {
  ChangeCounts counts;
  for (const ItemChange& item : items) {
    if (!kind.empty() && item.kind != kind) {
      continue;
    }
    switch (item.change) {
    case ItemChange::Change::added:
      ++counts.added;
      break;
    case ItemChange::Change::removed:
      ++counts.removed;
      break;
    case ItemChange::Change::changed:
      ++counts.changed;
      break;
    }
    if (item.renamed_from) {
      ++counts.renamed;
    }
    if (item.breaking) {
      ++counts.breaking;
    }
  }
  return counts;
}

} // namespace

ChangeCounts SemanticDiff::counts() const { return tally(items, {}); }

ChangeCounts SemanticDiff::counts(std::string_view kind) const { return tally(items, kind); }

std::string SemanticDiff::summary() const {
  if (items.empty()) {
    return "no semantic differences";
  }
  const ChangeCounts c = counts();
  const std::size_t total = c.total() - c.renamed;
  return std::to_string(total) + (total == 1 ? " item: " : " items: ") + c.text();
}

std::string ChangeCounts::text() const {
  std::vector<std::string> parts;
  const auto add = [&](std::size_t n, const char* what) {
    if (n > 0) {
      parts.push_back(std::to_string(n) + " " + what);
    }
  };
  // A rename reads as one item, not as one added and one removed.
  add(added - renamed, "added");
  add(removed - renamed, "removed");
  add(changed, "changed");
  add(renamed, "renamed");
  add(breaking, "breaking");
  return util::join(parts, ", ");
}

nlohmann::json SemanticDiff::to_json() const {
  const auto counts_json = [](const ChangeCounts& c) {
    return nlohmann::json{{"items", c.total()},
                          {"added", c.added},
                          {"removed", c.removed},
                          {"changed", c.changed},
                          {"renamed", c.renamed},
                          {"breaking", c.breaking}};
  };
  const auto other_json = [](const ItemChange::Other& other) {
    return nlohmann::json{{"name", other.name}, {"path", other.path}};
  };
  nlohmann::json renames = nlohmann::json::array();
  nlohmann::json by_kind = nlohmann::json::object();
  nlohmann::json array = nlohmann::json::array();
  for (const ItemChange& item : items) {
    if (!by_kind.contains(item.kind)) {
      by_kind[item.kind] = counts_json(counts(item.kind));
    }
    nlohmann::json entry{{"kind", item.kind},
                         {"name", item.name},
                         {"path", item.path},
                         {"change", change_name(item.change)},
                         {"fields", item.fields},
                         {"breaking", item.breaking},
                         {"reason", item.reason}};
    if (item.renamed_to) {
      entry["renamed_to"] = other_json(*item.renamed_to);
      renames.push_back({{"kind", item.kind},
                         {"from", other_json({item.name, item.path})},
                         {"to", other_json(*item.renamed_to)},
                         {"breaking", item.breaking},
                         {"reason", item.reason}});
    }
    if (item.renamed_from) {
      entry["renamed_from"] = other_json(*item.renamed_from);
    }
    array.push_back(std::move(entry));
  }
  return {{"from", from},
          {"to", to},
          {"empty", empty()},
          {"breaking", breaking()},
          {"counts", counts_json(counts())},
          {"summary", summary()},
          {"by_kind", by_kind},
          {"items", array},
          {"renames", renames}};
}

} // namespace envflow::core::workspace
