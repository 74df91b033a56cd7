#include "content/yaml.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <new>
#include <unordered_map>
#include <utility>

#include <yaml.h>

#include "content/yaml_detail.h"

namespace envflow::content {

namespace yaml_detail {

namespace {

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

  // A tag_problem is reported; the document is still loaded.
  void check_tag(std::string_view tag, const Value& value) {
    if (std::string problem = tag_problem(tag, value); !problem.empty()) {
      report(value.mark, std::move(problem), "yaml-tag");
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

} // namespace yaml_detail

YamlResult load_yaml(std::string_view text, const std::string& path, const YamlLimits& limits) {
  using namespace yaml_detail;
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
