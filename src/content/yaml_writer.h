#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "content/value.h"

namespace envflow::content {

// How a string scalar (or a mapping key) is written.
enum class Quote {
  // Plain when load_yaml reads the plain text back as the same string, and a
  // YAML 1.1 reader would too (`dev`, `release/prod`, `a b`); double-quoted
  // otherwise (`"1.0"`, `"true"`, `"yes"`, `"null"`, `""`, `" a"`, `"a: b"`).
  when_needed,
  // Always double-quoted (`"dev"`), for records whose look is fixed.
  always,
};

// Block or flow layout of a mapping or sequence.
enum class Layout { block, flow };

// Writes one YAML document with yaml-cpp's emitter (the only writer of YAML
// in envflow; load_yaml, on libyaml, is the only reader). Every string
// reads back through load_yaml as exactly the string given: the emitter
// quotes and escapes it; characters libyaml would take for a line break or
// refuses raw (DEL, C1 controls, U+2028, U+2029, U+FFFE, U+FFFF) are
// written as escapes; bytes that are not UTF-8 become U+FFFD. The same calls
// always give the same bytes.
//
// Calls follow the document: `begin_map()`, then `key(...)` and a value
// (`string`, `integer`, `begin_seq()`, ...) per entry, `end_map()`. A call
// out of order (a value where a key is due, an unbalanced end) is a bug:
// `text()` then throws std::logic_error.
class YamlWriter {
public:
  YamlWriter();
  ~YamlWriter();
  YamlWriter(const YamlWriter&) = delete;
  YamlWriter& operator=(const YamlWriter&) = delete;

  // `text` as comment lines of their own (`# ` and each line of `text`),
  // before the next key or item. At the top level they start the line; inside
  // a block collection too (yaml-cpp does not indent own-line comments).
  YamlWriter& comment(std::string_view text);
  // `text` as a comment at the end of the line just written: after a value,
  // or after a key whose value (a block collection) starts on the next line.
  YamlWriter& line_comment(std::string_view text);
  // An empty line before the next key, item or comment.
  YamlWriter& blank_line();

  YamlWriter& begin_map(Layout layout = Layout::block);
  YamlWriter& end_map();
  YamlWriter& begin_seq(Layout layout = Layout::block);
  YamlWriter& end_seq();

  // A mapping key.
  YamlWriter& key(std::string_view text, Quote quote = Quote::when_needed);

  YamlWriter& string(std::string_view text, Quote quote = Quote::when_needed);
  // `text`, or null when it is empty.
  YamlWriter& string_or_null(std::string_view text, Quote quote = Quote::when_needed);
  YamlWriter& integer(std::int64_t number);
  // A float that reads back as a float (see yaml_number).
  YamlWriter& number(double number);
  YamlWriter& boolean(bool value);
  YamlWriter& null();
  // `items` as a sequence of strings (`[a, b]` in flow layout).
  YamlWriter& strings(const std::vector<std::string>& items, Quote quote = Quote::when_needed,
                      Layout layout = Layout::flow);
  // A loaded value as it is typed: scalars as above (strings with `quote`),
  // sequences and mappings in `layout`, mapping keys with `quote` too.
  YamlWriter& value(const Value& value, Quote quote = Quote::when_needed,
                    Layout layout = Layout::flow);

  // The document, ending in one newline. Throws std::logic_error when the
  // calls did not make a whole document.
  std::string text() const;

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// `number` as YAML text that load_yaml types as a float and reads back as
// the same double: the shortest such decimal, always with a `.` or an
// exponent (`3.0`, `0.5`, `1e+300`); `.nan`, `.inf`, `-.inf`.
std::string yaml_number(double number);

} // namespace envflow::content
