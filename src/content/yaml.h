#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "content/diagnostic.h"
#include "content/value.h"

namespace envflow::content {

struct YamlLimits {
  // Total nodes a document may produce once aliases are expanded. Bounds
  // alias bombs ("billion laughs") in time and memory.
  std::size_t max_nodes = 100'000;
  // Deepest nesting of sequences and mappings; never above 1000.
  std::size_t max_depth = 64;
};

struct YamlResult {
  std::optional<Value> value; // empty when the text could not be loaded
  std::vector<Diagnostic> diagnostics;
};

// Parse `text` (the contents of `path`) into a typed Value.
//
// Scalars are typed by the YAML 1.2 core schema: plain `true`/`false` (and
// `True`, `TRUE`) are booleans, `null`, `~` and empty are null, decimal,
// `0o` octal and `0x` hex integers are integers, floats including `.inf`
// and `.nan` are numbers, and every quoted or block scalar is a string.
// `yes`, `on`, `017` stay what YAML 1.2 says (`yes` a string, `017` the integer 17).
//
// Reports, as diagnostics on `path` with 1-based positions (columns count
// bytes): invalid UTF-8, control characters, U+0085/U+2028/U+2029 (which the
// parser, libyaml, would read as line breaks) and syntax errors, with the
// construct being read and a hint where one helps (rule "yaml-syntax");
// duplicate mapping keys ("yaml-duplicate-key"); alias expansion over
// `limits.max_nodes` (or a recursive alias), nesting over `limits.max_depth`
// ("yaml-limit"); merge keys `<<` ("yaml-merge-key", unsupported); complex
// (non-scalar) keys ("yaml-complex-key"); more than one document
// ("yaml-multi-document"); and tags ("yaml-tag"): any but the core schema's
// !!str, !!int, !!float, !!bool, !!null, !!seq and !!map (also written
// verbatim, `!<tag:yaml.org,2002:str>`), or one of those on a node it does
// not describe (`!!int abc`, `!!map` on a sequence). A tag finding does not
// stop the load. A scalar holding U+FFFE or U+FFFF (written as an escape)
// is an error too ("yaml-syntax"). An empty document yields a null Value.
YamlResult load_yaml(std::string_view text, const std::string& path, const YamlLimits& limits = {});

// The type load_yaml gives `text` written as a plain (unquoted, untagged)
// scalar: string, null, boolean, integer or number.
Value::Type plain_scalar_type(std::string_view text);

// True when load_yaml takes every character of `text` written as it is in a
// file: valid UTF-8, without control characters other than tab, line feed and
// carriage return, U+0085, U+2028, U+2029, U+FFFE and U+FFFF.
bool readable_raw(std::string_view text);

} // namespace envflow::content
