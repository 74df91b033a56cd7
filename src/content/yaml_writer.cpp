#include "content/yaml_writer.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "content/yaml.h"
#include "util/json.h"
#include "util/strings.h"

namespace envflow::content {

namespace {

// Characters yaml-cpp writes raw in a double-quoted string (it escapes C0,
// C1 and the byte order mark) that load_yaml refuses raw: DEL, U+2028 and
// U+2029. Such a string is written with every non-ASCII character escaped.
bool escape_all(std::string_view text) {
  return text.find('\x7F') != std::string_view::npos ||
         text.find("\xE2\x80\xA8") != std::string_view::npos ||
         text.find("\xE2\x80\xA9") != std::string_view::npos;
}

// True when `text`, written plain, reads back as that same string through
// load_yaml and through a YAML 1.1 reader. yaml-cpp writes plain whatever
// its own grammar allows, without asking what the text then means (`true`,
// `12`, `null` come back as a boolean, an integer, null); those, and what
// YAML 1.1 types (`yes`, `off`, `0o17`, `1_000`, `2024-01-31`), are quoted.
bool plain_reads_back(std::string_view text) {
  if (text.empty() || plain_scalar_type(text) != Value::Type::string) {
    return false;
  }
  static constexpr std::string_view k_yaml11_words[] = {"y", "n", "yes", "no", "on", "off", "<<", "="};
  const std::string lower = util::to_lower(text);
  for (std::string_view word : k_yaml11_words) {
    if (lower == word) {
      return false;
    }
  }
  // Numbers and times (YAML 1.1 reads digits with `_` and `:`); the
  // document markers, should a key ever start a line.
  const bool digit = util::is_digit(text[0]) ||
                     ((text[0] == '-' || text[0] == '+' || text[0] == '.') && text.size() > 1 &&
                      util::is_digit(text[1]));
  return !digit && !text.starts_with("---") && !text.starts_with("...");
}

} // namespace

struct YamlWriter::Impl {
  YAML::Emitter out;
  int depth = 0;
  // Whether the last line written is not ended yet (a value, a comment, the
  // end of a collection): a comment of its own, or a blank line, ends it first.
  bool line_open = false;

  Impl() {
    out.SetIndent(2);
    out.SetNullFormat(YAML::LowerNull);
    out.SetBoolFormat(YAML::TrueFalseBool);
    out.SetBoolFormat(YAML::LowerCase);
    out.SetOutputCharset(YAML::EscapeAsJson);
  }

  void scalar(std::string_view text, Quote quote) {
    // A control character, even a line break or a tab, is never plain:
    // yaml-cpp would write a lone carriage return raw.
    const bool control = std::any_of(text.begin(), text.end(),
                                     [](char c) { return static_cast<unsigned char>(c) < 0x20; });
    if (control || !readable_raw(text) || quote == Quote::always || !plain_reads_back(text)) {
      if (escape_all(text)) {
        out << YAML::EscapeNonAscii;
      }
      out << YAML::DoubleQuoted;
    }
    out << std::string(text);
    line_open = true;
  }

  // Open a collection (`YAML::BeginMap` or `YAML::BeginSeq`).
  void begin(YAML::EMITTER_MANIP which, Layout layout) {
    if (layout == Layout::flow) {
      out << YAML::Flow;
    }
    out << which;
    ++depth;
  }

  // Close the collection opened last (`YAML::EndMap` or `YAML::EndSeq`).
  void end(YAML::EMITTER_MANIP which) {
    out << which;
    --depth;
    line_open = true;
  }
};

YamlWriter::YamlWriter() : m_impl(std::make_unique<Impl>()) {}

YamlWriter::~YamlWriter() = default;

YamlWriter& YamlWriter::comment(std::string_view text) {
  if (m_impl->line_open) {
    m_impl->out << YAML::Newline;
  }
  m_impl->out << YAML::Comment(std::string(text));
  m_impl->line_open = true;
  return *this;
}

YamlWriter& YamlWriter::line_comment(std::string_view text) {
  m_impl->out << YAML::Comment(std::string(text));
  m_impl->line_open = true;
  return *this;
}

YamlWriter& YamlWriter::blank_line() {
  if (m_impl->line_open) {
    m_impl->out << YAML::Newline;
  }
  m_impl->out << YAML::Newline;
  m_impl->line_open = false;
  return *this;
}

YamlWriter& YamlWriter::begin_map(Layout layout) {
  m_impl->begin(YAML::BeginMap, layout);
  return *this;
}

YamlWriter& YamlWriter::end_map() {
  m_impl->end(YAML::EndMap);
  return *this;
}

YamlWriter& YamlWriter::begin_seq(Layout layout) {
  m_impl->begin(YAML::BeginSeq, layout);
  return *this;
}

YamlWriter& YamlWriter::end_seq() {
  m_impl->end(YAML::EndSeq);
  return *this;
}

YamlWriter& YamlWriter::key(std::string_view text, Quote quote) {
  m_impl->out << YAML::Key;
  m_impl->scalar(text, quote);
  m_impl->out << YAML::Value;
  return *this;
}

YamlWriter& YamlWriter::string(std::string_view text, Quote quote) {
  m_impl->scalar(text, quote);
  return *this;
}

YamlWriter& YamlWriter::string_or_null(std::string_view text, Quote quote) {
  return text.empty() ? null() : string(text, quote);
}

YamlWriter& YamlWriter::integer(std::int64_t number) {
  m_impl->out << number;
  m_impl->line_open = true;
  return *this;
}

YamlWriter& YamlWriter::number(double number) {
  // Plain: yaml-cpp writes text its grammar allows plain as it is, and
  // yaml_number's text always is (digits, `.`, `e`, signs).
  m_impl->out << yaml_number(number);
  m_impl->line_open = true;
  return *this;
}

YamlWriter& YamlWriter::boolean(bool value) {
  m_impl->out << value;
  m_impl->line_open = true;
  return *this;
}

YamlWriter& YamlWriter::null() {
  m_impl->out << YAML::Null;
  m_impl->line_open = true;
  return *this;
}

YamlWriter& YamlWriter::strings(const std::vector<std::string>& items, Quote quote,
                                Layout layout) {
  // An empty block sequence would be `[]` on a line of its own.
  begin_seq(items.empty() ? Layout::flow : layout);
  for (const std::string& item : items) {
    string(item, quote);
  }
  return end_seq();
}

YamlWriter& YamlWriter::value(const Value& value, Quote quote, Layout layout) {
  switch (value.type) {
  case Value::Type::null:
    return null();
  case Value::Type::boolean:
    return boolean(value.boolean);
  case Value::Type::integer:
    return integer(value.integer);
  case Value::Type::number:
    return number(value.number);
  case Value::Type::string:
    return string(value.string, quote);
  case Value::Type::sequence:
    begin_seq(value.items.empty() ? Layout::flow : layout);
    for (const Value& item : value.items) {
      this->value(item, quote, layout);
    }
    return end_seq();
  case Value::Type::mapping:
    begin_map(value.members.empty() ? Layout::flow : layout);
    for (const Entry& entry : value.members) {
      key(entry.key, quote);
      this->value(entry.value, quote, layout);
    }
    return end_map();
  }
  return null();
}

std::string YamlWriter::text() const {
  if (!m_impl->out.good()) {
    throw std::logic_error("YAML writer: " + m_impl->out.GetLastError());
  }
  if (m_impl->depth != 0) {
    throw std::logic_error("YAML writer: a mapping or sequence is not ended");
  }
  std::string text(m_impl->out.c_str(), m_impl->out.size());
  while (!text.empty() && text.back() == '\n') {
    text.pop_back();
  }
  return text + "\n";
}

std::string yaml_number(double number) {
  if (std::isnan(number)) {
    return ".nan";
  }
  if (std::isinf(number)) {
    return number > 0 ? ".inf" : "-.inf";
  }
  // nlohmann writes the shortest text that reads back as the same double,
  // always with a '.' or an exponent, so YAML types it as a float.
  return util::dump_json(nlohmann::json(number));
}

} // namespace envflow::content
