#pragma once

// The parts of content::load_yaml that need no parser, private to
// src/content/: typing nodes by the YAML 1.2 core schema (yaml_types.cpp)
// and checking the text before libyaml reads it (yaml_text.cpp).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "content/value.h"

namespace envflow::content::yaml_detail {

// Type `value` (its text in `value.string`) by its tag: "?" plain and
// untagged, "!" quoted or block (or the non-specific tag `!`), otherwise an
// explicit tag. Unknown tags leave the text a string.
void resolve_scalar(std::string_view tag, Value& value);

// Whether `text` is a decimal number as the core schema writes a float (.inf
// and .nan aside): [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?,
// whole.
bool decimal_number(std::string_view text);

// Why tag `tag` (as libyaml expands it) may not stand on `value`, or "" when
// it may: any tag but the core schema's seven, and one of them on a node it
// does not describe.
std::string tag_problem(std::string_view tag, const Value& value);

// Offset of the first U+FFFE or U+FFFF in `text`, or npos.
std::size_t find_non_character(std::string_view text);

enum class Encoding { utf8, utf16 };

struct TextScan {
  Encoding encoding = Encoding::utf8;
  bool ascii = true; // no byte above 0x7F
  // Where the text holds bytes YAML forbids, and what they are.
  std::optional<std::pair<std::size_t, std::string>> bad;
};

// What `text` holds that libyaml must not be given (TextScan::bad), its
// encoding, and whether it is ASCII.
TextScan scan_text(std::string_view text);

// The 1-based line and byte column of `offset` in `text`.
Mark mark_at(std::string_view text, std::size_t offset);

} // namespace envflow::content::yaml_detail
