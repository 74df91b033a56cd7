#include "content/yaml.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <unordered_map>
#include <utility>

#include <yaml.h>

#include "util/strings.h"

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
// Nesting refused whatever the caller's limit: values are copied, destroyed,
// converted and checked recursively, and libyaml (unlike yaml-cpp, which
// stopped near 2000 levels) keeps its own stacks on the heap without a bound.
constexpr std::size_t k_max_depth = 1000;

// Thrown by the builder to abandon a document once a limit is hit; the
// diagnostic is recorded before the throw. It never crosses libyaml (the
// parser is driven from our loop, not through callbacks); the parser and the
// current event are released by their owners on the way out.
struct Abandon {};

// Owns one libyaml event; an empty (zeroed) event is safe to delete.
class Event {
public:
  Event() = default;
  ~Event() { yaml_event_delete(&m_event); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  const yaml_event_t& operator*() const { return m_event; }
  const yaml_event_t* operator->() const { return &m_event; }

private:
  friend class Parser;
  yaml_event_t m_event{};
};

// Owns a libyaml parser reading `text` in place; `text` must outlive it.
class Parser {
public:
  explicit Parser(std::string_view text) {
    if (yaml_parser_initialize(&m_parser) == 0) {
      throw std::bad_alloc(); // it has freed what it allocated
    }
    // libyaml asserts a non-null input, which an empty view may not have.
    const char* data = text.data() != nullptr ? text.data() : "";
    yaml_parser_set_input_string(&m_parser, reinterpret_cast<const unsigned char*>(data),
                                 text.size());
  }
  ~Parser() { yaml_parser_delete(&m_parser); }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // Replace `event` with the next event. False on a syntax error, described by
  // state(); after the end of the stream the event is YAML_NO_EVENT.
  bool next(Event& event) {
    yaml_event_delete(&event.m_event);
    if (yaml_parser_parse(&m_parser, &event.m_event) != 0) {
      return true;
    }
    if (m_parser.error == YAML_MEMORY_ERROR) {
      throw std::bad_alloc();
    }
    return false;
  }

  const yaml_parser_t& state() const { return m_parser; }

private:
  yaml_parser_t m_parser;
};

std::string_view view(const yaml_char_t* text) {
  return text == nullptr ? std::string_view() : reinterpret_cast<const char*>(text);
}

// Length of the UTF-8 sequence whose lead byte is `c`, in text already
// checked to be valid UTF-8.
std::size_t sequence_length(unsigned char c) {
  return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

// Turns libyaml's marks (0-based; `index` counts characters from the start of
// the text after any byte order mark) into 1-based positions whose columns
// count bytes. Lines are counted at '\n'. Marks come mostly in document order,
// so a cursor moves forward and starts over only for an earlier mark.
class Locator {
public:
  // `text` is the input after any UTF-8 byte order mark; `utf8` false for
  // UTF-16 input, whose marks are taken as libyaml gives them; `ascii` when
  // no byte is above 0x7F (characters are bytes).
  Locator(std::string_view text, bool utf8, bool ascii)
      : m_text(text), m_utf8(utf8), m_ascii(ascii) {}

  Mark operator()(const yaml_mark_t& mark) {
    if (!m_utf8) {
      return {static_cast<int>(mark.line) + 1, static_cast<int>(mark.column) + 1};
    }
    if (mark.index < m_chars) {
      m_chars = 0;
      m_byte = 0;
      m_line = 1;
      m_line_start = 0;
    }
    const std::size_t from = m_byte;
    if (m_ascii) {
      m_byte = std::min(mark.index, m_text.size());
      m_chars = m_byte;
    } else {
      while (m_chars < mark.index && m_byte < m_text.size()) {
        m_byte += sequence_length(static_cast<unsigned char>(m_text[m_byte]));
        ++m_chars;
      }
      m_byte = std::min(m_byte, m_text.size());
    }
    const char* const base = m_text.data();
    const char* p = base + from;
    const char* const end = base + m_byte;
    while (p < end) {
      const void* newline = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
      if (newline == nullptr) {
        break;
      }
      p = static_cast<const char*>(newline) + 1;
      ++m_line;
      m_line_start = static_cast<std::size_t>(p - base);
    }
    return {m_line, static_cast<int>(m_byte - m_line_start) + 1};
  }

  // Byte offset of the last mark located (UTF-8 input only).
  std::size_t offset() const { return m_byte; }

  // Whether only spaces precede the last mark on its line.
  bool at_indent() const {
    return m_utf8 && m_text.substr(m_line_start, m_byte - m_line_start).find_first_not_of(' ') ==
                         std::string_view::npos;
  }

private:
  std::string_view m_text;
  bool m_utf8;
  bool m_ascii;
  std::size_t m_chars = 0; // characters before m_byte
  std::size_t m_byte = 0;
  int m_line = 1;
  std::size_t m_line_start = 0; // offset of the line holding m_byte
};

using util::is_digit;
bool is_octal(char c) { return c >= '0' && c <= '7'; }

// Offset of the first U+FFFE or U+FFFF in `text`, or npos.
std::size_t find_non_character(std::string_view text) {
  for (std::size_t at = text.find("\xEF\xBF"); at != std::string_view::npos;
       at = text.find("\xEF\xBF", at + 1)) {
    if (at + 2 < text.size() && (text[at + 2] == '\xBE' || text[at + 2] == '\xBF')) {
      return at;
    }
  }
  return std::string_view::npos;
}
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
  const auto digits = [&] { return util::skip_digits(rest, i); };
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

// Types a scalar by its tag: "?" plain and untagged, "!" quoted or block (or
// the non-specific tag `!`), otherwise an explicit tag. Unknown tags leave the
// text a string.
void resolve_scalar(std::string_view tag, Value& value) {
  value.type = Value::Type::string;
  if (tag == "?" || tag.empty()) {
    resolve_plain(value);
    return;
  }
  if (tag.size() <= k_core_tag.size() || !tag.starts_with(k_core_tag)) {
    return;
  }
  const std::string_view name = tag.substr(k_core_tag.size());
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

// Builds one document's Value straight from libyaml's events.
class Builder {
public:
  Builder(const std::string& path, const YamlLimits& limits, Locator& locate,
          std::vector<Diagnostic>& diagnostics)
      : m_path(path), m_limits(limits), m_max_depth(std::min(limits.max_depth, k_max_depth)),
        m_locate(locate), m_diagnostics(diagnostics) {}

  // Whether the document's root node is complete.
  bool done() const { return m_root.has_value(); }
  std::optional<Value> take_root() { return std::move(m_root); }

  // Feed one event between DOCUMENT-START and DOCUMENT-END.
  void on_event(const yaml_event_t& event) {
    switch (event.type) {
    case YAML_SCALAR_EVENT:
      scalar(event);
      break;
    case YAML_ALIAS_EVENT:
      alias(event);
      break;
    case YAML_SEQUENCE_START_EVENT:
      start(event.start_mark, Value::Type::sequence, view(event.data.sequence_start.anchor),
            event.data.sequence_start.tag);
      break;
    case YAML_MAPPING_START_EVENT:
      start(event.start_mark, Value::Type::mapping, view(event.data.mapping_start.anchor),
            event.data.mapping_start.tag);
      break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      end();
      break;
    default:
      break;
    }
  }

private:
  // A finished node on its way into its parent.
  struct Node {
    Value value;
    std::size_t height = 0; // nesting levels of collections, 0 for a scalar
    std::size_t nodes = 1;  // nodes in the subtree, alias copies included
    std::size_t bytes = 0;  // scalar text in the subtree, keys included
    int end_column = 0;     // scalar keys: 1-based column just past the key
    bool implicit_null = false;
    bool merge_key = false;
  };

  // A sequence or mapping being built.
  struct Frame {
    Value value;
    std::string anchor;
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

  [[noreturn]] void abandon(Mark mark, std::string message, std::string rule = "yaml-limit") {
    m_diagnostics.push_back({m_path, mark, Severity::error, std::move(message), std::move(rule)});
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

  void count_node(Mark mark, std::size_t bytes) {
    m_bytes += bytes;
    if (++m_nodes > m_limits.max_nodes) {
      abandon(mark, m_saw_alias ? alias_bomb_message(std::to_string(m_limits.max_nodes) + " nodes")
                                : "document has more than " + std::to_string(m_limits.max_nodes) +
                                      " nodes: split it into smaller files");
    }
  }

  // Refuse a tag other than the core schema's seven, and one of them on a
  // node it does not describe (`!!int abc`, `!!map` on a sequence). libyaml
  // gives tags expanded (`!!int` is tag:yaml.org,2002:int, and so is
  // `!<tag:yaml.org,2002:int>`), so a `%TAG` directive cannot smuggle
  // another namespace in under `!!`.
  void check_tag(std::string_view tag, const Value& value) {
    const std::string shown = tag.starts_with(k_core_tag)
                                  ? "!!" + std::string(tag.substr(k_core_tag.size()))
                                  : std::string(tag);
    const std::string_view name =
        tag.starts_with(k_core_tag) ? tag.substr(k_core_tag.size()) : std::string_view();
    const bool core = name == "str" || name == "int" || name == "float" || name == "bool" ||
                      name == "null" || name == "seq" || name == "map";
    if (!core) {
      report(value.mark,
             "YAML tag '" + shown +
                 "' is not allowed: only the core schema's !!str, !!int, !!float, !!bool, "
                 "!!null, !!seq and !!map are, because a consumer that honours tags could act "
                 "on another (read a file, build an object); remove the tag",
             "yaml-tag");
      return;
    }
    std::string_view describes;
    bool fits = true;
    if (name == "seq" || name == "map") {
      describes = name == "seq" ? "a sequence" : "a mapping";
      fits = value.type == (name == "seq" ? Value::Type::sequence : Value::Type::mapping);
    } else if (!value.is_scalar()) {
      describes = "a scalar";
      fits = false;
    } else if (name == "int") {
      describes = "an integer";
      fits = value.type == Value::Type::integer || value.type == Value::Type::number;
    } else if (name == "float") {
      describes = "a number";
      fits = value.type == Value::Type::number;
    } else if (name == "bool") {
      describes = "true or false";
      fits = value.type == Value::Type::boolean;
    } else if (name == "null") {
      describes = "null";
      fits = is_null_word(value.string);
    }
    if (!fits) {
      std::size_t cut = std::min<std::size_t>(value.string.size(), 40);
      while (cut < value.string.size() && cut > 0 &&
             (static_cast<unsigned char>(value.string[cut]) & 0xC0) == 0x80) {
        --cut; // never inside a UTF-8 sequence
      }
      const std::string what =
          value.is_mapping()    ? "a mapping"
          : value.is_sequence() ? "a sequence"
                                : "'" + value.string.substr(0, cut) +
                                      (cut < value.string.size() ? "\u2026'" : "'");
      report(value.mark,
             "YAML tag '" + shown + "' says " + std::string(describes) + ", but the node is " +
                 what + "; remove the tag or fix the value",
             "yaml-tag");
    }
  }

  bool expects_key() const {
    return !m_frames.empty() && m_frames.back().value.type == Value::Type::mapping &&
           !m_frames.back().has_key;
  }

  void scalar(const yaml_event_t& event) {
    const auto& data = event.data.scalar;
    Node node;
    node.value.mark = m_locate(event.start_mark);
    count_node(node.value.mark, data.length);
    node.value.string.assign(reinterpret_cast<const char*>(data.value), data.length);
    node.bytes = data.length;
    const bool plain = data.style == YAML_PLAIN_SCALAR_STYLE;
    const bool untagged = data.tag == nullptr;
    resolve_scalar(untagged ? (plain ? "?" : "!") : view(data.tag), node.value);
    if (!untagged) {
      check_tag(view(data.tag), node.value);
    }
    // An escape ("\uFFFE") gives what the text may not hold raw: no value
    // holds these non-characters (writing one, yaml-cpp makes it U+FFFD).
    if (const std::size_t at = find_non_character(node.value.string); at != std::string::npos) {
      report(node.value.mark,
             std::string("invalid YAML: U+FFF") + (node.value.string[at + 2] == '\xBE' ? "E" : "F") +
                 " is not a character; remove its escape",
             "yaml-syntax");
    }
    node.merge_key = plain && untagged && node.value.string == "<<";
    // An empty value: libyaml marks the token after it, often on the next line.
    node.implicit_null = plain && untagged && data.length == 0 && data.anchor == nullptr;
    if (expects_key()) {
      node.end_column = m_locate(event.end_mark).column;
    }
    complete(std::move(node), view(data.anchor));
  }

  void alias(const yaml_event_t& event) {
    m_saw_alias = true;
    const Mark mark = m_locate(event.start_mark);
    const std::string_view name = view(event.data.alias.anchor);
    const auto it = m_anchors.find(std::string(name));
    if (it == m_anchors.end()) {
      abandon(mark,
              "invalid YAML: alias *" + std::string(name) + " has no anchor; define &" +
                  std::string(name) + " on a node before the alias",
              "yaml-syntax");
    }
    if (!it->second) {
      abandon(mark, "alias *" + std::string(name) +
                        " refers to a node that contains it: recursive structures are not "
                        "supported");
    }
    const Anchored& anchored = *it->second;
    if (m_nodes + anchored.nodes > m_limits.max_nodes) {
      abandon(mark, alias_bomb_message(std::to_string(m_limits.max_nodes) + " nodes"));
    }
    if (m_frames.size() + anchored.height > m_max_depth) {
      abandon(mark, "alias *" + std::string(name) + " nests deeper than " +
                        std::to_string(m_max_depth) + " levels");
    }
    charge_copy_bytes(mark, anchored.bytes);
    m_nodes += anchored.nodes;
    m_bytes += anchored.bytes;
    Node node;
    node.value = anchored.value;
    // The copy's root is where it is used; nodes inside keep their anchor's marks.
    node.value.mark = mark;
    node.height = anchored.height;
    node.nodes = anchored.nodes;
    node.bytes = anchored.bytes;
    if (expects_key()) {
      node.end_column = m_locate(event.end_mark).column;
    }
    complete(std::move(node), {});
  }

  void start(const yaml_mark_t& where, Value::Type type, std::string_view anchor,
             const yaml_char_t* tag) {
    const Mark mark = m_locate(where);
    if (tag != nullptr) {
      Value shape;
      shape.type = type;
      shape.mark = mark;
      check_tag(view(tag), shape);
    }
    const std::size_t first_node = m_nodes;
    const std::size_t first_bytes = m_bytes;
    count_node(mark, 0);
    if (m_frames.size() + 1 > m_max_depth) {
      abandon(mark, "nesting exceeds " + std::to_string(m_max_depth) + " levels");
    }
    Frame& frame = m_frames.emplace_back();
    frame.value.type = type;
    frame.value.mark = mark;
    frame.first_node = first_node;
    frame.first_bytes = first_bytes;
    if (!anchor.empty()) {
      frame.anchor = anchor;
      // Until the collection ends, an alias of this name refers to it: it is
      // recursive, even when an earlier node had the same anchor.
      m_anchors[frame.anchor].reset();
    }
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

  void complete(Node node, std::string_view anchor) {
    if (!anchor.empty()) {
      // Anchors nested in anchors are stored once per level: bound the copies.
      m_stored_nodes += node.nodes;
      if (m_stored_nodes > m_limits.max_nodes) {
        abandon(node.value.mark, "anchored content exceeds " + std::to_string(m_limits.max_nodes) +
                                     " nodes: use fewer or smaller anchors");
      }
      charge_copy_bytes(node.value.mark, node.bytes);
      m_anchors[std::string(anchor)] = Anchored{node.value, node.nodes, node.bytes, node.height};
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
    parent.after_key_column = node.end_column + 1;
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

  const std::string& m_path;
  const YamlLimits& m_limits;
  std::size_t m_max_depth;
  Locator& m_locate;
  std::vector<Diagnostic>& m_diagnostics;

  std::vector<Frame> m_frames;
  std::optional<Value> m_root;
  // By name; empty while the anchored collection is still open.
  std::unordered_map<std::string, std::optional<Anchored>> m_anchors;
  std::size_t m_nodes = 0;        // nodes produced, alias copies included
  std::size_t m_bytes = 0;        // scalar text produced, alias copies included
  std::size_t m_stored_nodes = 0; // nodes copied into m_anchors
  std::size_t m_copied_bytes = 0; // scalar text copied into m_anchors and by aliases
  bool m_saw_alias = false;
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

// Why the valid UTF-8 character `c` (its bytes) cannot be read, or "" when it
// can. YAML forbids C1 control characters and U+FFFE/U+FFFF; libyaml (a YAML
// 1.1 parser) reads U+0085, U+2028 and U+2029 as line breaks, which YAML 1.2
// does not, so they would silently change a value or break the structure.
std::string unreadable(std::string_view c) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(c[k]); };
  char code[8];
  if (c.size() == 2 && byte(0) == 0xC2 && byte(1) <= 0x9F) {
    std::snprintf(code, sizeof code, "U+%04X", byte(1));
    if (byte(1) == 0x85) {
      return "U+0085 (next line) is read as a line break; use a newline, or \\N in a "
             "double-quoted string";
    }
    return std::string("control character ") + code +
           " is not allowed; write it as an escape in a double-quoted string";
  }
  if (c == "\xE2\x80\xA8") {
    return "U+2028 (line separator) is read as a line break; use a newline, or \\L in a "
           "double-quoted string";
  }
  if (c == "\xE2\x80\xA9") {
    return "U+2029 (paragraph separator) is read as a line break; use a newline, or \\P in a "
           "double-quoted string";
  }
  if (c == "\xEF\xBF\xBE" || c == "\xEF\xBF\xBF") {
    return std::string("U+FFF") + (byte(2) == 0xBE ? "E" : "F") +
           " is not a character; remove it";
  }
  return {};
}

enum class Encoding { utf8, utf16 };

struct TextScan {
  Encoding encoding = Encoding::utf8;
  bool ascii = true; // no byte above 0x7F
  // Where the text holds bytes YAML forbids, and what they are.
  std::optional<std::pair<std::size_t, std::string>> bad;
};

// Finds what libyaml must not be given, or would take differently from YAML
// 1.2: invalid UTF-8 (kept as is, and later unprintable as JSON), C0 and C1
// control characters, line separators (see `unreadable`). UTF-16 with a byte
// order mark is left to libyaml, which converts it and checks it itself.
TextScan scan_text(std::string_view text) {
  TextScan scan;
  if (text.starts_with("\xFE\xFF") || text.starts_with("\xFF\xFE")) {
    scan.encoding = Encoding::utf16;
    scan.ascii = false;
    return scan;
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
      scan.bad = std::pair{i, std::string("control character ") + hex +
                                  " is not allowed; write it as an escape in a double-quoted "
                                  "string"};
      return scan;
    }
    scan.ascii = false;
    const std::size_t length = utf8_length(text, i);
    if (length == 0) {
      std::snprintf(hex, sizeof hex, "0x%02X", c);
      scan.bad = std::pair{i, std::string("invalid UTF-8 (byte ") + hex + "): save the file as UTF-8"};
      return scan;
    }
    if (length < 4) {
      if (std::string why = unreadable(text.substr(i, length)); !why.empty()) {
        scan.bad = std::pair{i, std::move(why)};
        return scan;
      }
    }
    i += length;
  }
  return scan;
}

Mark mark_at(std::string_view text, std::size_t offset) {
  const std::string_view before = text.substr(0, offset);
  const std::size_t line_start = before.rfind('\n');
  const auto line = std::count(before.begin(), before.end(), '\n') + 1;
  const std::size_t column =
      line_start == std::string_view::npos ? offset + 1 : offset - line_start;
  return {static_cast<int>(line), static_cast<int>(column)};
}

// How to mend the commonest mistakes behind libyaml's `problem`, where the
// text at the problem's position (`locate`'s last mark) makes the cause plain.
std::string_view hint(std::string_view problem, std::string_view text, const Locator& locate) {
  const std::size_t offset = locate.offset();
  const char at = offset < text.size() ? text[offset] : '\0';
  if (problem == "found character that cannot start any token") {
    if (at == '\t') {
      return "indent with spaces, not tabs";
    }
    if (at == '@' || at == '`') {
      return "@ and ` cannot start a plain value; quote the value";
    }
  } else if (problem == "mapping values are not allowed in this context") {
    return "quote a value that contains \": \", or check the indentation";
  } else if ((problem == "did not find expected key" ||
              problem == "did not find expected '-' indicator") &&
             locate.at_indent()) {
    return "check the indentation of this line";
  }
  return {};
}

std::string position(Mark mark) {
  return "line " + std::to_string(mark.line) + ", column " + std::to_string(mark.column);
}

// The diagnostic for the error libyaml stopped at: its problem, where it was
// found, the construct it was reading (context) when that started elsewhere,
// and a hint.
Diagnostic syntax_error(const yaml_parser_t& parser, std::string_view text, Encoding encoding,
                        Locator& locate, const std::string& path) {
  std::string message = "invalid YAML: ";
  message += parser.problem != nullptr ? parser.problem : "cannot be parsed";
  Mark mark{1, 1};
  if (parser.error == YAML_READER_ERROR) {
    // Only UTF-16 input gets here (UTF-8 was checked before); its byte
    // offsets are not positions in lines.
    if (parser.problem_value != -1) {
      char code[16];
      std::snprintf(code, sizeof code, " (U+%04X)", static_cast<unsigned>(parser.problem_value));
      message += code;
    }
    if (encoding == Encoding::utf8) {
      mark = mark_at(text, std::min(parser.problem_offset, text.size()));
    }
  } else {
    const bool has_context =
        parser.context != nullptr && parser.context_mark.index != parser.problem_mark.index;
    const Mark context = has_context ? locate(parser.context_mark) : Mark{};
    mark = locate(parser.problem_mark);
    if (has_context) {
      message += std::string(" (") + parser.context + " at " + position(context) + ")";
    }
    if (const std::string_view how = hint(parser.problem != nullptr ? parser.problem : "", text,
                                          locate);
        encoding == Encoding::utf8 && !how.empty()) {
      message += "; ";
      message += how;
    }
  }
  return {path, mark, Severity::error, std::move(message), "yaml-syntax"};
}

} // namespace

Value::Type plain_scalar_type(std::string_view text) {
  Value value;
  value.string = text;
  resolve_plain(value);
  return value.type;
}

bool readable_raw(std::string_view text) {
  const TextScan scan = scan_text(text);
  return scan.encoding == Encoding::utf8 && !scan.bad;
}

YamlResult load_yaml(std::string_view text, const std::string& path, const YamlLimits& limits) {
  YamlResult result;
  auto& diagnostics = result.diagnostics;
  const TextScan scan = scan_text(text);
  if (scan.bad) {
    diagnostics.push_back({path, mark_at(text, scan.bad->first), Severity::error,
                           "invalid YAML: " + scan.bad->second, "yaml-syntax"});
    return result;
  }
  // libyaml skips a UTF-8 byte order mark and counts positions after it.
  std::string_view body = text;
  if (scan.encoding == Encoding::utf8 && body.starts_with(k_utf8_bom)) {
    body.remove_prefix(k_utf8_bom.size());
  }
  Locator locate(body, scan.encoding == Encoding::utf8, scan.ascii);
  Parser parser(text);
  Event event;
  const auto next = [&] {
    if (parser.next(event)) {
      return true;
    }
    diagnostics.push_back(syntax_error(parser.state(), body, scan.encoding, locate, path));
    return false;
  };

  // STREAM-START, then DOCUMENT-START or, for empty text, STREAM-END.
  if (!next() || !next()) {
    return result;
  }
  if (event->type != YAML_DOCUMENT_START_EVENT) {
    result.value.emplace().mark = {1, 1};
    return result;
  }
  Builder builder(path, limits, locate, diagnostics);
  try {
    while (!builder.done()) {
      if (!next()) {
        return result;
      }
      if (event->type == YAML_DOCUMENT_END_EVENT || event->type == YAML_STREAM_END_EVENT ||
          event->type == YAML_NO_EVENT) {
        // libyaml gives every document a root node; never trust a loop to it.
        diagnostics.push_back({path, locate(event->start_mark), Severity::error,
                               "invalid YAML: document has no root node", "yaml-syntax"});
        return result;
      }
      builder.on_event(*event);
    }
  } catch (const Abandon&) {
    return result; // the diagnostic is already recorded
  }
  // DOCUMENT-END, then STREAM-END or the start of another document.
  if (!next() || !next()) {
    return result;
  }
  if (event->type == YAML_DOCUMENT_START_EVENT) {
    diagnostics.push_back({path, locate(event->start_mark), Severity::error,
                           "more than one YAML document (---): keep one document per file",
                           "yaml-multi-document"});
  }
  result.value = builder.take_root();
  return result;
}

} // namespace envflow::content
