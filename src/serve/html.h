#pragma once

#include <map>
#include <string>
#include <string_view>

// The few helpers every page of `envflow serve` is written with. Every
// string that comes from the repository (names, summaries, messages,
// values, actors) goes through escape() or one of the helpers that call it.
namespace envflow::serve {

// `text` safe inside HTML text and double- or single-quoted attribute values:
// & < > " ' become entities; control characters other than tab and line
// breaks become U+FFFD; invalid UTF-8 bytes too.
std::string escape(std::string_view text);

// `text` percent-encoded for one URL path segment or query value: only
// A-Z a-z 0-9 - . _ ~ are left as they are.
std::string url_encode(std::string_view text);

// Percent-decoding of a path segment or query value ('+' stays '+').
// Invalid escapes are kept as they are.
std::string url_decode(std::string_view text);

// Replace every {{name}} of `page_template` with `values[name]` (already
// escaped where needed), in one pass, so a value that holds "{{x}}" is never
// expanded in turn. Unknown names become "".
std::string fill(std::string_view page_template, const std::map<std::string, std::string>& values);

} // namespace envflow::serve
