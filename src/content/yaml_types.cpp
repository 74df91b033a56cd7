#include "content/yaml.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <limits>

#include "content/yaml_detail.h"
#include "util/strings.h"

namespace envflow::content {

namespace yaml_detail {

namespace {

constexpr std::string_view k_core_tag = "tag:yaml.org,2002:";

using util::is_digit;
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

  if (!decimal_number(text)) {
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

} // namespace

bool decimal_number(std::string_view text) {
  std::size_t i = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
    ++i;
  }
  const auto digits = [&] { return util::skip_digits(text, i); };
  const std::size_t whole = digits();
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (digits() == 0 && whole == 0) {
      return false;
    }
  } else if (whole == 0) {
    return false;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
      ++i;
    }
    if (digits() == 0) {
      return false;
    }
  }
  return i == text.size();
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

// A tag other than the core schema's seven is refused, and so is one of them
// on a node it does not describe (`!!int abc`, `!!map` on a sequence). libyaml
// gives tags expanded (`!!int` is tag:yaml.org,2002:int, and so is
// `!<tag:yaml.org,2002:int>`), so a `%TAG` directive cannot smuggle
// another namespace in under `!!`.
std::string tag_problem(std::string_view tag, const Value& value) {
  const std::string shown = tag.starts_with(k_core_tag)
                                ? "!!" + std::string(tag.substr(k_core_tag.size()))
                                : std::string(tag);
  const std::string_view name =
      tag.starts_with(k_core_tag) ? tag.substr(k_core_tag.size()) : std::string_view();
  const bool core = name == "str" || name == "int" || name == "float" || name == "bool" ||
                    name == "null" || name == "seq" || name == "map";
  if (!core) {
    return "YAML tag '" + shown +
           "' is not allowed: only the core schema's !!str, !!int, !!float, !!bool, "
           "!!null, !!seq and !!map are, because a consumer that honours tags could act "
           "on another (read a file, build an object); remove the tag";
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
    return "YAML tag '" + shown + "' says " + std::string(describes) + ", but the node is " +
           what + "; remove the tag or fix the value";
  }
  return {};
}

} // namespace yaml_detail

Value::Type plain_scalar_type(std::string_view text) {
  Value value;
  value.string = text;
  yaml_detail::resolve_plain(value);
  return value.type;
}

} // namespace envflow::content
