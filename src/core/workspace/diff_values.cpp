#include "core/workspace/diff_values.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "content/yaml.h"
#include "git/repo.h"
#include "util/strings.h"

namespace envflow::core::workspace {

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

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// One line of an edit script: ' ' kept, '-' removed, '+' added, with its
// 0-based line number on each side (the side it is not on: the next line there).
struct Edit {
  char op;
  std::size_t a;
  std::size_t b;
};

std::vector<Edit> edit_script(const std::vector<std::string_view>& a,
                              const std::vector<std::string_view>& b) {
  std::size_t head = 0;
  while (head < a.size() && head < b.size() && a[head] == b[head]) {
    ++head;
  }
  std::size_t tail = 0;
  while (tail < a.size() - head && tail < b.size() - head &&
         a[a.size() - 1 - tail] == b[b.size() - 1 - tail]) {
    ++tail;
  }
  const std::size_t n = a.size() - head - tail;
  const std::size_t m = b.size() - head - tail;
  std::vector<Edit> edits;
  for (std::size_t i = 0; i < head; ++i) {
    edits.push_back({' ', i, i});
  }
  if (n > 0 && m > 0 && n * m <= k_max_text_diff_cells) {
    // lcs[i][j]: the longest common subsequence of a[head+i..] and b[head+j..].
    std::vector<std::uint32_t> lcs((n + 1) * (m + 1), 0);
    const auto at = [&](std::size_t i, std::size_t j) -> std::uint32_t& {
      return lcs[i * (m + 1) + j];
    };
    for (std::size_t i = n; i-- > 0;) {
      for (std::size_t j = m; j-- > 0;) {
        at(i, j) = a[head + i] == b[head + j] ? at(i + 1, j + 1) + 1
                                              : std::max(at(i + 1, j), at(i, j + 1));
      }
    }
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[head + i] == b[head + j]) {
        edits.push_back({' ', head + i++, head + j++});
      } else if (j == m || (i < n && at(i + 1, j) >= at(i, j + 1))) {
        edits.push_back({'-', head + i++, head + j});
      } else {
        edits.push_back({'+', head + i, head + j++});
      }
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      edits.push_back({'-', head + i, head});
    }
    for (std::size_t j = 0; j < m; ++j) {
      edits.push_back({'+', head + n, head + j});
    }
  }
  for (std::size_t i = 0; i < tail; ++i) {
    edits.push_back({' ', head + n + i, head + m + i});
  }
  return edits;
}

// "-3,7" as diff -u writes a range: 1-based start and length; an empty
// range starts at the line before it.
std::string hunk_range(std::size_t start, std::size_t length) {
  if (length == 0) {
    return std::to_string(start) + ",0";
  }
  return std::to_string(start + 1) + (length == 1 ? "" : "," + std::to_string(length));
}

// A text side of a document, or nullopt when it is not text envflow shows.
std::optional<std::string> document_text(const git::Repository& repo, const std::string& commit,
                                         const std::string& path) {
  std::optional<std::string> text = repo.read_path(commit, path);
  if (!text || text->size() > k_max_document_text || text->find('\0') != std::string::npos ||
      !util::is_valid_utf8(*text)) {
    return std::nullopt;
  }
  return text;
}

} // namespace

bool is_long_text(const content::Value& value) {
  return value.is_string() && (value.string.size() > k_inline_text_limit ||
                               value.string.find('\n') != std::string::npos);
}

std::vector<std::string> text_diff(std::string_view before, std::string_view after,
                                   std::size_t context) {
  std::vector<std::string> out;
  const std::vector<std::string_view> a = split_lines(before);
  const std::vector<std::string_view> b = split_lines(after);
  const std::vector<Edit> edits = edit_script(a, b);
  std::size_t k = 0;
  while (k < edits.size()) {
    while (k < edits.size() && edits[k].op == ' ') {
      ++k;
    }
    if (k == edits.size()) {
      break;
    }
    // A hunk: from `context` lines before this change to `context` lines
    // after the last change that is at most 2 * context lines from the next.
    const std::size_t first = k >= context ? k - context : 0;
    std::size_t last = k; // one past the last change of the hunk
    std::size_t scan = k;
    while (scan < edits.size()) {
      if (edits[scan].op != ' ') {
        last = scan + 1;
        ++scan;
        continue;
      }
      std::size_t run = scan;
      while (run < edits.size() && edits[run].op == ' ') {
        ++run;
      }
      if (run == edits.size() || run - scan > 2 * context) {
        break;
      }
      scan = run;
    }
    const std::size_t end = std::min(edits.size(), last + context);
    std::size_t a_length = 0;
    std::size_t b_length = 0;
    for (std::size_t i = first; i < end; ++i) {
      a_length += edits[i].op != '+' ? 1 : 0;
      b_length += edits[i].op != '-' ? 1 : 0;
    }
    out.push_back("@@ -" + hunk_range(edits[first].a, a_length) + " +" +
                  hunk_range(edits[first].b, b_length) + " @@");
    for (std::size_t i = first; i < end; ++i) {
      const std::string_view line = edits[i].op == '+' ? b[edits[i].b] : a[edits[i].a];
      // Appended, not std::string(1, op) + …: GCC 12 at -O3 sees a false overlap
      // (-Wrestrict) in libstdc++'s operator+ of two rvalue strings.
      std::string row(1, edits[i].op);
      row += line;
      out.push_back(std::move(row));
    }
    k = end;
  }
  return out;
}

const content::Value* value_at(const content::Value& root, std::string_view field) {
  if (field == "(document)") {
    return &root;
  }
  const content::Value* node = &root;
  std::size_t i = 0;
  while (i < field.size()) {
    if (field[i] == '[') {
      if (i + 1 < field.size() && field[i + 1] == '"') {
        // ["key"], with \" and \\ escaped (core/workspace/diff.cpp, member_path).
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
  if (item.change == ItemChange::Change::changed && item.kind == "Document") {
    std::optional<std::string> before = document_text(repo, diff.from, item.path);
    std::optional<std::string> after = document_text(repo, diff.to, item.path);
    if (before && after) {
      FieldValues entry;
      entry.field = "(document)";
      entry.text_diff = text_diff(*before, *after);
      entry.before = content::Value();
      entry.before->type = content::Value::Type::string;
      entry.before->string = std::move(*before);
      entry.after = content::Value();
      entry.after->type = content::Value::Type::string;
      entry.after->string = std::move(*after);
      values.push_back(std::move(entry));
    }
    return values;
  }
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
    if (entry.before && entry.after && entry.before->is_string() && entry.after->is_string() &&
        (is_long_text(*entry.before) || is_long_text(*entry.after))) {
      entry.text_diff = text_diff(entry.before->string, entry.after->string);
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
    if (!v.text_diff.empty()) {
      std::string text;
      for (const std::string& line : v.text_diff) {
        text += line + "\n";
      }
      entry["text_diff"] = std::move(text);
    }
    array.push_back(std::move(entry));
  }
  return array;
}

} // namespace envflow::core::workspace
