#include "content/yaml.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <istream>
#include <limits>
#include <new>
#include <streambuf>
#include <unordered_map>
#include <utility>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

namespace envflow::content {

namespace {

constexpr std::string_view k_core_tag = "tag:yaml.org,2002:";
constexpr std::string_view k_utf8_bom = "\xEF\xBB\xBF";
// Above this many members, duplicate keys are found through a hash index
// instead of a linear scan.
constexpr std::size_t k_index_threshold = 16;
// Copies made for anchors and aliases may hold this many bytes of scalar text
// per allowed node: node counts alone do not bound one long string aliased
// thousands of times.
constexpr std::size_t k_copy_bytes_per_node = 256;

// Reads `text` in place: yaml-cpp wants an istream, and copying every file
// into a stringstream would cost as much as a second read.
class ViewBuffer : public std::streambuf {
public:
  explicit ViewBuffer(std::string_view text) {
    char* begin = const_cast<char*>(text.data()); // the get area is never written
    setg(begin, begin, begin + text.size());
  }
};

// Thrown by the event handler to abandon a document once a limit is hit; the
// diagnostic is recorded before the throw. It unwinds through yaml-cpp, which
// is exception-safe (it throws its own exceptions from the same frames), and
// the parser is discarded right after.
struct Abandon {};

// Thrown by the probe handler when a second document starts.
struct SecondDocument {
  YAML::Mark mark;
};

Mark to_mark(const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0 || mark.column < 0) {
    return {1, 1};
  }
  return {mark.line + 1, mark.column + 1};
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_octal(char c) { return c >= '0' && c <= '7'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

template <typename Pred> bool all_of(std::string_view text, Pred pred) {
  return !text.empty() && std::all_of(text.begin(), text.end(), pred);
}

bool is_null_word(std::string_view text) {
  return text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL";
}

// Value of digits in `base` that do not fit in an int64.
double big_unsigned(std::string_view digits, int base) {
  double result = 0.0;
  for (char c : digits) {
    int digit = is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
    result = result * base + digit;
  }
  return result;
}

double parse_double(std::string_view text) {
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
  }
  double result = 0.0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), result);
  if (ec == std::errc() && end == text.data() + text.size()) {
    return result;
  }
  // Out of range (or a form from_chars rejects): strtod saturates to ±inf/0.
  // Its decimal point follows the C locale, which envflow never changes.
  const std::string copy(text);
  return std::strtod(copy.c_str(), nullptr);
}

// YAML 1.2 core schema int: [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+.
bool resolve_int(std::string_view text, Value& value) {
  int base = 10;
  std::string_view digits = text;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'o' || text[1] == 'x')) {
    base = text[1] == 'o' ? 8 : 16;
    digits = text.substr(2);
    if (!all_of(digits, base == 8 ? is_octal : is_hex)) {
      return false;
    }
  } else {
    if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) {
      digits.remove_prefix(1);
    }
    if (!all_of(digits, is_digit)) {
      return false;
    }
  }

  // from_chars takes '-' but not '+'.
  std::string_view parse = base == 10 && text.front() == '-' ? text : digits;
  std::int64_t result = 0;
  const auto [end, ec] = std::from_chars(parse.data(), parse.data() + parse.size(), result, base);
  if (ec == std::errc() && end == parse.data() + parse.size()) {
    value.type = Value::Type::integer;
    value.integer = result;
  } else {
    value.type = Value::Type::number;
    value.number = base == 10 ? parse_double(text) : big_unsigned(digits, base);
  }
  return true;
}

// YAML 1.2 core schema float:
// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? | [-+]?\.(inf|Inf|INF) | \.(nan|NaN|NAN)
bool resolve_float(std::string_view text, Value& value) {
  if (text == ".nan" || text == ".NaN" || text == ".NAN") {
    value.type = Value::Type::number;
    value.number = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  std::string_view rest = text;
  bool negative = false;
  if (!rest.empty() && (rest.front() == '-' || rest.front() == '+')) {
    negative = rest.front() == '-';
    rest.remove_prefix(1);
  }
  if (rest == ".inf" || rest == ".Inf" || rest == ".INF") {
    value.type = Value::Type::number;
    value.number = negative ? -std::numeric_limits<double>::infinity()
                            : std::numeric_limits<double>::infinity();
    return true;
  }

  std::size_t i = 0;
  const auto digits = [&] {
    const std::size_t start = i;
    while (i < rest.size() && is_digit(rest[i])) {
      ++i;
    }
    return i - start;
  };
  const std::size_t whole = digits();
  if (i < rest.size() && rest[i] == '.') {
    ++i;
    if (digits() == 0 && whole == 0) {
      return false;
    }
  } else if (whole == 0) {
    return false;
  }
  if (i < rest.size() && (rest[i] == 'e' || rest[i] == 'E')) {
    ++i;
    if (i < rest.size() && (rest[i] == '-' || rest[i] == '+')) {
      ++i;
    }
    if (digits() == 0) {
      return false;
    }
  }
  if (i != rest.size()) {
    return false;
  }
  value.type = Value::Type::number;
  value.number = parse_double(text);
  return true;
}

bool resolve_bool(std::string_view text, Value& value) {
  if (text == "true" || text == "True" || text == "TRUE") {
    value.type = Value::Type::boolean;
    value.boolean = true;
    return true;
  }
  if (text == "false" || text == "False" || text == "FALSE") {
    value.type = Value::Type::boolean;
    value.boolean = false;
    return true;
  }
  return false;
}

// Types a plain scalar whose text is already in `value.string`.
void resolve_plain(Value& value) {
  const std::string_view text = value.string;
  value.type = Value::Type::string;
  if (text.empty()) {
    value.type = Value::Type::null;
    return;
  }
  // Most scalars are words: one look at the first character rules them out.
  switch (text.front()) {
  case 'n':
  case 'N':
  case '~':
    if (is_null_word(text)) {
      value.type = Value::Type::null;
    }
    return;
  case 't':
  case 'T':
  case 'f':
  case 'F':
    resolve_bool(text, value);
    return;
  case '-':
  case '+':
  case '.':
  case '0':
  case '1':
  case '2':
  case '3':
  case '4':
  case '5':
  case '6':
  case '7':
  case '8':
  case '9':
    if (!resolve_int(text, value)) {
      resolve_float(text, value);
    }
    return;
  default:
    return;
  }
}

// Types a scalar by the tag yaml-cpp reports: "?" plain, "!" quoted or block,
// otherwise an explicit tag. Unknown tags leave the text a string.
void resolve_scalar(const std::string& tag, Value& value) {
  value.type = Value::Type::string;
  if (tag == "?" || tag.empty()) {
    resolve_plain(value);
    return;
  }
  if (tag.size() <= k_core_tag.size() || tag.compare(0, k_core_tag.size(), k_core_tag) != 0) {
    return;
  }
  const std::string_view name = std::string_view(tag).substr(k_core_tag.size());
  if (name == "null") {
    value.type = Value::Type::null;
  } else if (name == "bool") {
    resolve_bool(value.string, value);
  } else if (name == "int") {
    resolve_int(value.string, value);
  } else if (name == "float") {
    if (!resolve_float(value.string, value) && resolve_int(value.string, value) &&
        value.type == Value::Type::integer) {
      value.type = Value::Type::number;
      value.number = static_cast<double>(value.integer);
      value.integer = 0;
    }
  }
}

std::string_view kind_of(const Value& value) {
  return value.is_mapping() ? "a mapping" : "a sequence";
}

// Builds one document's Value straight from yaml-cpp's events.
class Builder final : public YAML::EventHandler {
public:
  Builder(std::string_view text, const std::string& path, const YamlLimits& limits,
          std::vector<Diagnostic>& diagnostics)
      : m_text(text), m_path(path), m_limits(limits), m_diagnostics(diagnostics) {
    // yaml-cpp's positions do not count a UTF-8 byte order mark.
    if (m_text.starts_with(k_utf8_bom)) {
      m_text.remove_prefix(k_utf8_bom.size());
    }
  }

  std::optional<Value> take_root() { return std::move(m_root); }

  void OnDocumentStart(const YAML::Mark& /*mark*/) override {}
  void OnDocumentEnd() override {}

  void OnAnchor(const YAML::Mark& /*mark*/, const std::string& name) override {
    // yaml-cpp numbers anchors 1, 2, … in the order it announces them.
    m_anchor_names.push_back(name);
  }

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    count_node(mark, 0);
    Node node;
    node.value.mark = to_mark(mark);
    const bool as_key = !m_frames.empty() && m_frames.back().value.type == Value::Type::mapping &&
                        !m_frames.back().has_key;
    node.value.string = null_text_at(mark, as_key);
    // An empty value: yaml-cpp marks the token after it, often on the next line.
    node.implicit_null = node.value.string.empty();
    complete(std::move(node), anchor);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& text) override {
    count_node(mark, text.size());
    Node node;
    node.value.mark = to_mark(mark);
    node.value.string = text;
    node.bytes = text.size();
    resolve_scalar(tag, node.value);
    node.merge_key = tag == "?" && text == "<<";
    node.quoted = tag == "!";
    complete(std::move(node), anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    m_saw_alias = true;
    const Anchored* anchored =
        anchor < m_anchors.size() && m_anchors[anchor] ? &*m_anchors[anchor] : nullptr;
    if (anchored == nullptr) {
      abandon(to_mark(mark), "alias *" + anchor_name(anchor) +
                                 " refers to a node that contains it: recursive structures are not "
                                 "supported");
    }
    if (m_nodes + anchored->nodes > m_limits.max_nodes) {
      abandon(to_mark(mark), alias_bomb_message(std::to_string(m_limits.max_nodes) + " nodes"));
    }
    if (m_frames.size() + anchored->height > m_limits.max_depth) {
      abandon(to_mark(mark), "alias *" + anchor_name(anchor) + " nests deeper than " +
                                 std::to_string(m_limits.max_depth) + " levels");
    }
    charge_copy_bytes(to_mark(mark), anchored->bytes);
    m_nodes += anchored->nodes;
    m_bytes += anchored->bytes;
    Node node;
    node.value = anchored->value;
    // The copy's root is where it is used; nodes inside keep their anchor's marks.
    node.value.mark = to_mark(mark);
    node.height = anchored->height;
    node.nodes = anchored->nodes;
    node.bytes = anchored->bytes;
    complete(std::move(node), 0);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value /*style*/) override {
    start(mark, Value::Type::sequence, anchor);
  }
  void OnSequenceEnd() override { end(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value /*style*/) override {
    start(mark, Value::Type::mapping, anchor);
  }
  void OnMapEnd() override { end(); }

private:
  // A finished node on its way into its parent.
  struct Node {
    Value value;
    std::size_t height = 0; // nesting levels of collections, 0 for a scalar
    std::size_t nodes = 1;  // nodes in the subtree, alias copies included
    std::size_t bytes = 0;  // scalar text in the subtree, keys included
    bool implicit_null = false;
    bool merge_key = false;
    bool quoted = false;
  };

  // A sequence or mapping being built.
  struct Frame {
    Value value;
    YAML::anchor_t anchor = 0;
    std::size_t first_node = 0;  // m_nodes before this collection
    std::size_t first_bytes = 0; // m_bytes before this collection
    std::size_t height = 0;      // tallest child so far
    // Mappings: the key awaiting its value.
    bool has_key = false;
    bool keep_entry = true; // false for duplicate, merge and complex keys
    std::string key;
    Mark key_mark;
    int after_key_column = 0;
    std::unordered_map<std::string, std::size_t> index; // key -> member, large mappings
  };

  struct Anchored {
    Value value;
    std::size_t nodes = 0;
    std::size_t bytes = 0;
    std::size_t height = 0;
  };

  [[noreturn]] void abandon(Mark mark, std::string message) {
    m_diagnostics.push_back({m_path, mark, Severity::error, std::move(message), "yaml-limit"});
    throw Abandon{};
  }

  static std::string alias_bomb_message(const std::string& limit) {
    return "alias expansion exceeds " + limit +
           ": possible alias bomb; write the content out instead of nesting aliases";
  }

  void charge_copy_bytes(Mark mark, std::size_t bytes) {
    const std::size_t budget =
        m_limits.max_nodes > std::numeric_limits<std::size_t>::max() / k_copy_bytes_per_node
            ? std::numeric_limits<std::size_t>::max()
            : m_limits.max_nodes * k_copy_bytes_per_node;
    m_copied_bytes += bytes;
    if (m_copied_bytes > budget) {
      abandon(mark, alias_bomb_message(std::to_string(budget) + " bytes"));
    }
  }

  void report(Mark mark, std::string message, std::string rule) {
    m_diagnostics.push_back({m_path, mark, Severity::error, std::move(message), std::move(rule)});
  }

  void count_node(const YAML::Mark& mark, std::size_t bytes) {
    m_bytes += bytes;
    if (++m_nodes > m_limits.max_nodes) {
      abandon(to_mark(mark), m_saw_alias
                                 ? alias_bomb_message(std::to_string(m_limits.max_nodes) + " nodes")
                                 : "document has more than " + std::to_string(m_limits.max_nodes) +
                                       " nodes: split it into smaller files");
    }
  }

  std::string anchor_name(YAML::anchor_t anchor) const {
    return anchor >= 1 && anchor <= m_anchor_names.size() ? m_anchor_names[anchor - 1]
                                                          : std::to_string(anchor);
  }

  // The text of an explicit null (`~`, `null`, …) at `mark`, or "" when the
  // node is empty and `mark` points at whatever follows it.
  std::string null_text_at(const YAML::Mark& mark, bool as_key) const {
    if (mark.pos < 0 || static_cast<std::size_t>(mark.pos) >= m_text.size()) {
      return {};
    }
    const std::string_view rest = m_text.substr(static_cast<std::size_t>(mark.pos));
    for (std::string_view word : {"~", "null", "Null", "NULL"}) {
      if (!rest.starts_with(word)) {
        continue;
      }
      // `null:` at the mark is the next key, not this node's text.
      std::size_t i = word.size();
      while (i < rest.size() && rest[i] == ' ') {
        ++i;
      }
      const bool next_key = !as_key && i < rest.size() && rest[i] == ':' &&
                            (i + 1 == rest.size() || rest[i + 1] == ' ' || rest[i + 1] == '\n' ||
                             rest[i + 1] == '\r' || rest[i + 1] == '\t');
      const bool ends =
          word.size() == rest.size() ||
          std::string_view(" \t\r\n,]}#:").find(rest[word.size()]) != std::string_view::npos;
      return ends && !next_key ? std::string(word) : std::string();
    }
    return {};
  }

  void start(const YAML::Mark& mark, Value::Type type, YAML::anchor_t anchor) {
    const std::size_t first_node = m_nodes;
    const std::size_t first_bytes = m_bytes;
    count_node(mark, 0);
    if (m_frames.size() + 1 > m_limits.max_depth) {
      abandon(to_mark(mark), "nesting exceeds " + std::to_string(m_limits.max_depth) + " levels");
    }
    Frame& frame = m_frames.emplace_back();
    frame.value.type = type;
    frame.value.mark = to_mark(mark);
    frame.anchor = anchor;
    frame.first_node = first_node;
    frame.first_bytes = first_bytes;
  }

  void end() {
    Frame frame = std::move(m_frames.back());
    m_frames.pop_back();
    Node node;
    node.value = std::move(frame.value);
    node.height = frame.height + 1;
    node.nodes = m_nodes - frame.first_node;
    node.bytes = m_bytes - frame.first_bytes;
    complete(std::move(node), frame.anchor);
  }

  void complete(Node node, YAML::anchor_t anchor) {
    if (anchor != 0) {
      // Anchors nested in anchors are stored once per level: bound the copies.
      m_stored_nodes += node.nodes;
      if (m_stored_nodes > m_limits.max_nodes) {
        abandon(node.value.mark, "anchored content exceeds " + std::to_string(m_limits.max_nodes) +
                                     " nodes: use fewer or smaller anchors");
      }
      charge_copy_bytes(node.value.mark, node.bytes);
      if (m_anchors.size() <= anchor) {
        m_anchors.resize(anchor + 1);
      }
      m_anchors[anchor] = Anchored{node.value, node.nodes, node.bytes, node.height};
    }
    if (m_frames.empty()) {
      m_root = std::move(node.value);
      return;
    }
    Frame& parent = m_frames.back();
    parent.height = std::max(parent.height, node.height);
    if (parent.value.type == Value::Type::sequence) {
      parent.value.items.push_back(std::move(node.value));
    } else if (!parent.has_key) {
      take_key(parent, std::move(node));
    } else {
      take_member(parent, std::move(node));
    }
  }

  void take_key(Frame& parent, Node node) {
    parent.has_key = true;
    parent.keep_entry = false;
    parent.key_mark = node.value.mark;
    if (!node.value.is_scalar()) {
      report(node.value.mark,
             "mapping key is " + std::string(kind_of(node.value)) +
                 ": keys must be scalars (a name or a number)",
             "yaml-complex-key");
      parent.key.clear();
      parent.after_key_column = node.value.mark.column;
      return;
    }
    parent.key = std::move(node.value.string);
    // Where the value of `key:` would start, for empty values.
    parent.after_key_column =
        node.value.mark.column + static_cast<int>(parent.key.size()) + (node.quoted ? 2 : 0) + 1;
    if (node.merge_key) {
      report(node.value.mark,
             "merge keys (<<) are not supported: write the keys out in this mapping",
             "yaml-merge-key");
      return;
    }
    if (const Entry* first = find_member(parent)) {
      report(node.value.mark,
             "duplicate key \"" + parent.key + "\" (first on line " +
                 std::to_string(first->key_mark.line) +
                 "): the first value is kept; remove "
                 "or rename one",
             "yaml-duplicate-key");
      return;
    }
    parent.keep_entry = true;
  }

  const Entry* find_member(const Frame& parent) const {
    const auto& members = parent.value.members;
    if (members.size() > k_index_threshold) {
      const auto it = parent.index.find(parent.key);
      return it == parent.index.end() ? nullptr : &members[it->second];
    }
    for (const Entry& entry : members) {
      if (entry.key == parent.key) {
        return &entry;
      }
    }
    return nullptr;
  }

  void take_member(Frame& parent, Node node) {
    parent.has_key = false;
    if (!parent.keep_entry) {
      return;
    }
    if (node.implicit_null) {
      node.value.mark = {parent.key_mark.line, parent.after_key_column};
    }
    auto& members = parent.value.members;
    members.push_back({std::move(parent.key), parent.key_mark, std::move(node.value)});
    if (members.size() > k_index_threshold) {
      if (parent.index.empty()) {
        for (std::size_t i = 0; i < members.size(); ++i) {
          parent.index.emplace(members[i].key, i);
        }
      } else {
        parent.index.emplace(members.back().key, members.size() - 1);
      }
    }
  }

  std::string_view m_text;
  const std::string& m_path;
  const YamlLimits& m_limits;
  std::vector<Diagnostic>& m_diagnostics;

  std::vector<Frame> m_frames;
  std::optional<Value> m_root;
  std::vector<std::optional<Anchored>> m_anchors; // by yaml-cpp anchor id
  std::vector<std::string> m_anchor_names;        // id - 1 -> name
  std::size_t m_nodes = 0;                        // nodes produced, alias copies included
  std::size_t m_bytes = 0;                        // scalar text produced, alias copies included
  std::size_t m_stored_nodes = 0;                 // nodes copied into m_anchors
  std::size_t m_copied_bytes = 0; // scalar text copied into m_anchors and by aliases
  bool m_saw_alias = false;
};

// Stops at the start of a second document.
class Probe final : public YAML::EventHandler {
public:
  void OnDocumentStart(const YAML::Mark& mark) override { throw SecondDocument{mark}; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// Length of the UTF-8 sequence at `text[i]`, or 0 when it is not valid
// UTF-8. The lead byte fixes the length and the range of the second byte,
// which rules out overlong forms, surrogates and code points over U+10FFFF.
std::size_t utf8_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) {
    return 1;
  }
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    length = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    length = 3;
    low = c == 0xE0 ? 0xA0 : 0x80;
    high = c == 0xED ? 0x9F : 0xBF;
  } else if (c >= 0xF0 && c <= 0xF4) {
    length = 4;
    low = c == 0xF0 ? 0x90 : 0x80;
    high = c == 0xF4 ? 0x8F : 0xBF;
  }
  if (length == 0 || i + length > text.size() || byte(i + 1) < low || byte(i + 1) > high) {
    return 0;
  }
  for (std::size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) {
      return 0;
    }
  }
  return length;
}

// Where yaml-cpp would take bytes YAML forbids: invalid UTF-8 (kept as is,
// and later unprintable as JSON) and C0 control characters (0x04 silently
// ends a scalar, NUL truncates). Returns the offset and a description.
std::optional<std::pair<std::size_t, std::string>> find_bad_byte(std::string_view text) {
  // UTF-16/32 with a byte order mark: yaml-cpp converts it.
  if (text.starts_with("\xFE\xFF") || text.starts_with("\xFF\xFE") ||
      text.starts_with(std::string_view("\0\0\xFE\xFF", 4))) {
    return std::nullopt;
  }
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c >= 0x20 && c < 0x7F) || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    char hex[8];
    if (c < 0x80) {
      std::snprintf(hex, sizeof hex, "U+%04X", c);
      return std::pair{i, std::string("control character ") + hex +
                              " is not allowed; write it as an escape in a double-quoted string"};
    }
    const std::size_t length = utf8_length(text, i);
    if (length == 0) {
      std::snprintf(hex, sizeof hex, "0x%02X", c);
      return std::pair{i, std::string("invalid UTF-8 (byte ") + hex + "): save the file as UTF-8"};
    }
    i += length;
  }
  return std::nullopt;
}

// `text` with each byte that is not valid UTF-8 replaced by U+FFFD: yaml-cpp
// quotes single bytes of multi-byte characters in its messages.
std::string valid_utf8(std::string_view text) {
  std::string result;
  result.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t length = utf8_length(text, i);
    if (length == 0) {
      result += "\xEF\xBF\xBD";
      ++i;
    } else {
      result.append(text.substr(i, length));
      i += length;
    }
  }
  return result;
}

Mark mark_at(std::string_view text, std::size_t offset) {
  const std::string_view before = text.substr(0, offset);
  const std::size_t line_start = before.rfind('\n');
  const auto line = std::count(before.begin(), before.end(), '\n') + 1;
  const std::size_t column =
      line_start == std::string_view::npos ? offset + 1 : offset - line_start;
  return {static_cast<int>(line), static_cast<int>(column)};
}

std::string syntax_message(std::string message) {
  while (!message.empty() && (message.back() == ' ' || message.back() == '\n')) {
    message.pop_back();
  }
  if (message.empty()) {
    message = "cannot be parsed";
  }
  return "invalid YAML: " + valid_utf8(message);
}

} // namespace

YamlResult load_yaml(std::string_view text, const std::string& path, const YamlLimits& limits) {
  YamlResult result;
  auto& diagnostics = result.diagnostics;
  if (const auto bad = find_bad_byte(text)) {
    diagnostics.push_back({path, mark_at(text, bad->first), Severity::error,
                           "invalid YAML: " + bad->second, "yaml-syntax"});
    return result;
  }
  ViewBuffer buffer(text);
  std::istream in(&buffer);
  try {
    YAML::Parser parser(in);
    Builder builder(text, path, limits, diagnostics);
    if (!parser.HandleNextDocument(builder)) {
      result.value.emplace().mark = {1, 1};
      return result;
    }
    std::optional<Value> root = builder.take_root();
    try {
      Probe probe;
      parser.HandleNextDocument(probe);
    } catch (const SecondDocument& second) {
      diagnostics.push_back({path, to_mark(second.mark), Severity::error,
                             "more than one YAML document (---): keep one document per file",
                             "yaml-multi-document"});
    }
    result.value = std::move(root);
  } catch (const Abandon&) {
    // The diagnostic is already recorded.
  } catch (const YAML::DeepRecursion& e) {
    diagnostics.push_back({path, to_mark(e.mark), Severity::error,
                           "nesting is too deep for the YAML parser", "yaml-limit"});
  } catch (const YAML::Exception& e) {
    diagnostics.push_back(
        {path, to_mark(e.mark), Severity::error, syntax_message(e.msg), "yaml-syntax"});
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    diagnostics.push_back({path, {1, 1}, Severity::error, syntax_message(e.what()), "yaml-syntax"});
  }
  return result;
}

} // namespace envflow::content
