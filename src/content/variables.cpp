#include "content/variables.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>

#include <nlohmann/json.hpp>

#include "util/json.h"
#include "util/strings.h"

namespace envflow::content {

namespace {

constexpr std::string_view k_types = "string, number, boolean, url, json, enum";
constexpr std::string_view k_expected_url = "expected a url (absolute http or https URL)";

using util::is_digit;

std::string in_quotes(std::string_view text) {
  constexpr std::size_t k_max = 60;
  if (text.size() <= k_max) {
    return "'" + std::string(text) + "'";
  }
  std::size_t keep = k_max;
  while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80) {
    --keep; // never cut a UTF-8 sequence
  }
  return "'" + std::string(text.substr(0, keep)) + "\u2026'";
}

// What was given, for "expected …, got <this>".
std::string describe_variable(const Value& value) {
  switch (value.type) {
  case Value::Type::string:
    return in_quotes(value.string);
  case Value::Type::integer:
    return "integer " + value.string;
  case Value::Type::number:
    return "number " + value.string;
  case Value::Type::boolean:
    return std::string("boolean ") + (value.boolean ? "true" : "false");
  case Value::Type::null:
    return "null";
  case Value::Type::sequence:
    return "a sequence";
  case Value::Type::mapping:
    return "a mapping";
  }
  return "a value";
}

std::string unknown_type(std::string_view type) {
  return "unknown variable type '" + std::string(type) + "' (expected one of " +
         std::string(k_types) + ")";
}

// Why `text` is not an absolute http(s) URL with a host, or "".
std::string url_problem(std::string_view text) {
  if (text.empty()) {
    return "empty";
  }
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      return "contains a blank or control character";
    }
    if (std::string_view("<>\"{}|\\^`").find(c) != std::string_view::npos) {
      return std::string("contains '") + c + "', which a URL must percent-encode";
    }
  }
  const std::string lower = util::to_lower(text.substr(0, std::min<std::size_t>(text.size(), 8)));
  std::string_view rest;
  if (lower.starts_with("https://")) {
    rest = text.substr(8);
  } else if (lower.starts_with("http://")) {
    rest = text.substr(7);
  } else {
    return text.find("://") == std::string_view::npos ? "not an absolute URL"
                                                      : "scheme is not http or https";
  }
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  std::string_view host = authority;
  std::string_view port;
  bool has_port = false;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return "unclosed '[' in the host";
    }
    host = authority.substr(0, close + 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return "unexpected text after the host";
      }
      has_port = true;
      port = after.substr(1);
    }
  } else if (const std::size_t colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    has_port = true;
    port = authority.substr(colon + 1);
  }
  if (host.empty() || host == "[]") {
    return "no host";
  }
  if (has_port) {
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), is_digit) ||
        std::stoi(std::string(port)) > 65535) {
      return "port must be a number from 0 to 65535";
    }
  }
  return "";
}

std::string expected_enum(const std::vector<std::string>& values) {
  if (values.empty()) {
    return "expected one of the enum's values, but it declares none";
  }
  std::string out = "expected one of ";
  for (std::size_t i = 0; i < values.size(); ++i) {
    out += (i == 0 ? "'" : ", '") + values[i] + "'";
  }
  return out;
}

// JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view s, bool& integral) {
  std::size_t i = 0;
  const auto digits = [&] { return util::skip_digits(s, i); };
  if (i < s.size() && s[i] == '-') {
    ++i;
  }
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (digits() == 0) {
    return false;
  }
  integral = true;
  if (i < s.size() && s[i] == '.') {
    ++i;
    integral = false;
    if (digits() == 0) {
      return false;
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    integral = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
      ++i;
    }
    if (digits() == 0) {
      return false;
    }
  }
  return i == s.size();
}

// Text that is a JSON number, as a Value; "" or why not.
std::string parse_number(std::string_view text, Value& out) {
  bool integral = false;
  if (!is_json_number(text, integral)) {
    return "expected a number (a JSON number such as 42, -3 or 0.5), got " + in_quotes(text);
  }
  Value value;
  value.string = std::string(text);
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (integral) {
    std::int64_t integer = 0;
    if (const auto [ptr, ec] = std::from_chars(first, last, integer);
        ec == std::errc() && ptr == last) {
      value.type = Value::Type::integer;
      value.integer = integer;
      out = std::move(value);
      return "";
    }
    // Beyond 64 bits: keep it as a floating-point number, like JSON readers.
  }
  double number = 0.0;
  const auto [ptr, ec] = std::from_chars(first, last, number);
  if (ec != std::errc() || ptr != last || !std::isfinite(number)) {
    return "expected a number, got " + in_quotes(text) + " (out of range)";
  }
  value.type = Value::Type::number;
  value.number = number;
  out = std::move(value);
  return "";
}

Value from_json(const nlohmann::ordered_json& json) {
  Value value;
  switch (json.type()) {
  case nlohmann::ordered_json::value_t::object:
    value.type = Value::Type::mapping;
    for (const auto& [key, member] : json.items()) {
      value.members.push_back(Entry{key, Mark{}, from_json(member)});
    }
    return value;
  case nlohmann::ordered_json::value_t::array:
    value.type = Value::Type::sequence;
    for (const auto& item : json) {
      value.items.push_back(from_json(item));
    }
    return value;
  case nlohmann::ordered_json::value_t::string:
    value.type = Value::Type::string;
    value.string = json.get<std::string>();
    return value;
  case nlohmann::ordered_json::value_t::boolean:
    value.type = Value::Type::boolean;
    value.boolean = json.get<bool>();
    break;
  case nlohmann::ordered_json::value_t::number_integer:
    value.type = Value::Type::integer;
    value.integer = json.get<std::int64_t>();
    break;
  case nlohmann::ordered_json::value_t::number_unsigned:
    if (json.get<std::uint64_t>() <=
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      value.type = Value::Type::integer;
      value.integer = static_cast<std::int64_t>(json.get<std::uint64_t>());
    } else {
      value.type = Value::Type::number;
      value.number = static_cast<double>(json.get<std::uint64_t>());
    }
    break;
  case nlohmann::ordered_json::value_t::number_float:
    value.type = Value::Type::number;
    value.number = json.get<double>();
    break;
  default:
    value.type = Value::Type::null;
    break;
  }
  value.string = util::dump_json(json); // scalars keep their source text
  return value;
}

} // namespace

std::string check_variable_value(std::string_view type, const std::vector<std::string>& values,
                                 const Value& value) {
  if (type == "string") {
    return value.is_string() ? "" : "expected a string, got " + describe_variable(value);
  }
  if (type == "number") {
    if (value.type == Value::Type::integer) {
      return "";
    }
    if (value.type == Value::Type::number) {
      return std::isfinite(value.number)
                 ? ""
                 : "expected a finite number, got " + describe_variable(value);
    }
    return "expected a number, got " + describe_variable(value);
  }
  if (type == "boolean") {
    return value.type == Value::Type::boolean
               ? ""
               : "expected a boolean (true or false), got " + describe_variable(value);
  }
  if (type == "url") {
    if (!value.is_string()) {
      return std::string(k_expected_url) + ", got " + describe_variable(value);
    }
    const std::string problem = url_problem(value.string);
    return problem.empty() ? ""
                           : std::string(k_expected_url) + ", got " + in_quotes(value.string) +
                                 " (" + problem + ")";
  }
  if (type == "json") {
    return "";
  }
  if (type == "enum") {
    if (value.is_string() &&
        std::find(values.begin(), values.end(), value.string) != values.end()) {
      return "";
    }
    std::string message = expected_enum(values) + ", got " + describe_variable(value);
    // `level: 2` loads as an integer; the enum's values are strings.
    if (!value.is_string() && value.is_scalar() &&
        std::find(values.begin(), values.end(), value.string) != values.end()) {
      message += " (quote it: \"" + value.string + "\")";
    }
    return message;
  }
  return unknown_type(type);
}

std::string parse_variable_text(std::string_view type, const std::vector<std::string>& values,
                                std::string_view text, Value& out) {
  if (type == "number") {
    return parse_number(util::trim(text), out);
  }
  if (type == "boolean") {
    const std::string_view word = util::trim(text);
    if (word != "true" && word != "false") {
      return "expected a boolean (true or false), got " + in_quotes(text);
    }
    Value value;
    value.type = Value::Type::boolean;
    value.boolean = word == "true";
    value.string = std::string(word);
    out = std::move(value);
    return "";
  }
  if (type == "json") {
    try {
      out = from_json(util::parse_ordered_json(text));
      return "";
    } catch (const nlohmann::json::exception& error) {
      // Drop the "[json.exception.parse_error.101] " prefix.
      std::string_view cause = error.what();
      if (const std::size_t close = cause.find("] "); close != std::string_view::npos) {
        cause.remove_prefix(close + 2);
      }
      return "expected JSON text, got " + in_quotes(text) + " (" + std::string(cause) +
             "); a string must be quoted: '\"text\"'";
    }
  }
  if (type == "string" || type == "url" || type == "enum") {
    Value value;
    value.type = Value::Type::string;
    value.string = std::string(text);
    if (std::string problem = check_variable_value(type, values, value); !problem.empty()) {
      return problem;
    }
    out = std::move(value);
    return "";
  }
  return unknown_type(type);
}

} // namespace envflow::content
