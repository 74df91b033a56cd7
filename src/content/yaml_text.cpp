#include "content/yaml.h"

#include <algorithm>
#include <cstdio>

#include "content/yaml_detail.h"

namespace envflow::content {

namespace yaml_detail {

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

namespace {

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

} // namespace

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

} // namespace yaml_detail

bool readable_raw(std::string_view text) {
  using namespace yaml_detail;
  const TextScan scan = scan_text(text);
  return scan.encoding == Encoding::utf8 && !scan.bad;
}

} // namespace envflow::content
