#include "core/diff_values.h"

#include <cctype>

#include <nlohmann/json.hpp>

#include "content/yaml.h"
#include "git/repo.h"

namespace envflow::core {

namespace {

// The item's file at `commit` as a Value; nullopt when absent or not YAML.
std::optional<content::Value> load(const git::Repository& repo, const std::string& commit,
                                   const std::string& path) {
  const std::optional<std::string> text = repo.read_path(commit, path);
  if (!text) {
    return std::nullopt;
  }
  content::YamlResult result = content::load_yaml(*text, path);
  return std::move(result.value);
}

} // namespace

const content::Value* value_at(const content::Value& root, std::string_view field) {
  if (field == "(document)") {
    return &root;
  }
  const content::Value* node = &root;
  std::size_t i = 0;
  while (i < field.size()) {
    if (field[i] == '[') {
      if (i + 1 < field.size() && field[i + 1] == '"') {
        // ["key"], with \" and \\ escaped (core/diff.cpp, member_path).
        std::string key;
        std::size_t j = i + 2;
        for (; j < field.size() && field[j] != '"'; ++j) {
          if (field[j] == '\\' && j + 1 < field.size()) {
            ++j;
          }
          key += field[j];
        }
        if (j + 1 >= field.size() || field[j + 1] != ']' || !node->is_mapping()) {
          return nullptr;
        }
        node = node->find(key);
        i = j + 2;
      } else {
        const std::size_t close = field.find(']', i);
        if (close == std::string_view::npos || close == i + 1 || !node->is_sequence()) {
          return nullptr;
        }
        std::size_t index = 0;
        for (std::size_t k = i + 1; k < close; ++k) {
          if (!std::isdigit(static_cast<unsigned char>(field[k]))) {
            return nullptr;
          }
          index = index * 10 + static_cast<std::size_t>(field[k] - '0');
          if (index > node->items.size()) {
            return nullptr;
          }
        }
        if (index >= node->items.size()) {
          return nullptr;
        }
        node = &node->items[index];
        i = close + 1;
      }
    } else {
      if (field[i] == '.') {
        ++i;
      }
      std::size_t end = i;
      while (end < field.size() && field[end] != '.' && field[end] != '[') {
        ++end;
      }
      if (end == i || !node->is_mapping()) {
        return nullptr;
      }
      node = node->find(field.substr(i, end - i));
      i = end;
    }
    if (node == nullptr) {
      return nullptr;
    }
  }
  return node;
}

std::vector<FieldValues> field_values(const git::Repository& repo, const SemanticDiff& diff,
                                      const ItemChange& item) {
  std::vector<FieldValues> values;
  if (item.change != ItemChange::Change::changed || item.fields.empty() ||
      item.fields.front() == "(unparsed)") {
    return values;
  }
  const std::optional<content::Value> before = load(repo, diff.from, item.path);
  const std::optional<content::Value> after = load(repo, diff.to, item.path);
  if (!before || !after) {
    return values;
  }
  for (const std::string& field : item.fields) {
    FieldValues entry;
    entry.field = field;
    if (const content::Value* v = value_at(*before, field)) {
      entry.before = *v;
    }
    if (const content::Value* v = value_at(*after, field)) {
      entry.after = *v;
    }
    values.push_back(std::move(entry));
  }
  return values;
}

nlohmann::json field_values_json(const std::vector<FieldValues>& values) {
  nlohmann::json array = nlohmann::json::array();
  for (const FieldValues& v : values) {
    nlohmann::json entry{{"field", v.field}};
    if (v.before) {
      entry["before"] = v.before->to_json();
    }
    if (v.after) {
      entry["after"] = v.after->to_json();
    }
    array.push_back(std::move(entry));
  }
  return array;
}

} // namespace envflow::core
