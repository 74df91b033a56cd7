#include "core/records/backport.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "content/yaml.h"
#include "core/model/refs.h"
#include "core/model/view.h"
#include "util/json.h"

// hotfix_undo_problems (declared in core/records/backport.h): whether a
// promotion into the last environment would undo a hotfix, field by field.
namespace envflow::core::records {

namespace {

using content::Value;

// The value of field `field` (a path as semantic_diff reports it:
// "tone", "model.temperature", "steps[1].agent", `x["a.b"]`, "(document)")
// of file `path` at `commit`, as canonical JSON text, or the raw file for
// "(unparsed)" and unparsable files; nullopt when the file or field is absent.
std::optional<std::string> field_value(const git::Repository& repo, const std::string& commit,
                                       const std::string& path, const std::string& field) {
  const std::optional<std::string> text = repo.read_path(commit, path);
  if (!text) {
    return std::nullopt;
  }
  if (field == "(unparsed)") {
    return text;
  }
  const content::YamlResult loaded = content::load_yaml(*text, path);
  if (!loaded.value) {
    return text;
  }
  const Value* node = &*loaded.value;
  if (field == "(document)" || field.empty()) {
    return util::dump_json(node->to_json());
  }
  size_t i = 0;
  while (i < field.size() && node != nullptr) {
    if (field[i] == '.') {
      ++i;
      continue;
    }
    if (field[i] == '[' && i + 1 < field.size() && field[i + 1] == '"') {
      std::string key;
      size_t j = i + 2;
      for (; j < field.size() && field[j] != '"'; ++j) {
        if (field[j] == '\\' && j + 1 < field.size()) {
          ++j;
        }
        key += field[j];
      }
      i = j + 2; // past `"]`
      node = node->is_mapping() ? node->find(key) : nullptr;
      continue;
    }
    if (field[i] == '[') {
      const size_t close = field.find(']', i);
      const std::string digits = field.substr(i + 1, close - i - 1);
      i = close == std::string::npos ? field.size() : close + 1;
      size_t index = 0;
      try {
        index = static_cast<size_t>(std::stoul(digits));
      } catch (const std::exception&) {
        return std::nullopt;
      }
      node = node->is_sequence() && index < node->items.size() ? &node->items[index] : nullptr;
      continue;
    }
    size_t end = field.find_first_of(".[", i);
    if (end == std::string::npos) {
      end = field.size();
    }
    const std::string key = field.substr(i, end - i);
    i = end;
    node = node->is_mapping() ? node->find(key) : nullptr;
  }
  if (node == nullptr) {
    return std::nullopt;
  }
  return util::dump_json(node->to_json());
}

std::string shown(const std::optional<std::string>& value) {
  if (!value) {
    return "(absent)";
  }
  constexpr size_t k_max = 60;
  return value->size() > k_max ? value->substr(0, k_max) + "…" : *value;
}

// The fields of `change` whose values are compared to tell an undone hotfix.
std::vector<std::string> compared_fields(const BackportChange& change) {
  if (change.change != "changed" || change.fields.empty()) {
    return {"(document)"};
  }
  return change.fields;
}

} // namespace

std::vector<std::string> hotfix_undo_problems(const model::Pipeline& before,
                                              const std::string& from, const std::string& to,
                                              const workspace::SemanticDiff& diff) {
  const git::Repository& repo = before.repo;
  std::vector<std::string> problems;
  if (diff.empty()) {
    return problems;
  }
  std::set<std::string> incoming_paths;
  for (const auto& item : diff.items) {
    incoming_paths.insert(item.path);
  }
  const std::vector<BackportIssue> issues = read_backports(before);
  for (const auto& issue : issues) {
    const std::string head = hotfix_head(repo, issue);
    if (!contains_hotfix(repo, issue, to)) {
      continue; // the fast-forward gate refuses this sync anyway
    }
    for (const auto& change : issue.changes) {
      if (incoming_paths.count(change.path) == 0) {
        continue; // this sync leaves the file alone
      }
      for (const auto& field : compared_fields(change)) {
        const auto fixed = field_value(repo, head, change.path, field);
        const auto incoming = field_value(repo, to, change.path, field);
        if (incoming == fixed) {
          continue;
        }
        const auto current = field_value(repo, from, change.path, field);
        if (current == incoming || current != fixed) {
          continue; // nothing changes, or the hotfix's value was already changed on purpose
        }
        // Changed deliberately after the hotfix came back: some commit whose
        // first parent already has the hotfix changed the field.
        bool deliberate = false;
        for (const auto& id : repo.commits_between(head, to)) {
          const git::CommitInfo info = repo.commit(id);
          if (info.parents.empty() || !repo.is_ancestor(head, info.parents[0])) {
            continue;
          }
          const auto changed = repo.diff_trees(info.parents[0], id);
          const bool touches = std::any_of(changed.begin(), changed.end(), [&](const auto& c) {
            return c.path == change.path;
          });
          if (touches && field_value(repo, info.parents[0], change.path, field) !=
                             field_value(repo, id, change.path, field)) {
            deliberate = true;
            break;
          }
        }
        if (!deliberate) {
          problems.push_back(change.path + " field " + field + ": hotfix " + issue.hotfix_tag +
                             " (back-port issue " + std::to_string(issue.id) + ") set it to " +
                             shown(fixed) + ", the incoming " + model::short_id(to) + " has " +
                             shown(incoming));
        }
      }
    }
  }
  return problems;
}

} // namespace envflow::core::records
