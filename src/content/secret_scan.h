#pragma once

// What the secret scans share, private to src/content/: character classes,
// the formats of literal secrets, the words of secret-named keys and the
// wording of findings (secret_formats.cpp), for the scan of a document's
// values (secrets.cpp) and of free text (secret_text.cpp).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "content/diagnostic.h"
#include "util/strings.h"

// Matching is written by hand (prefix search plus character-class runs), not
// with std::regex: the scanner runs on every string of every file in a server
// hook, and std::regex is orders of magnitude slower and allocates per match.

namespace envflow::content::secret_scan {

inline constexpr std::string_view k_rule_literal = "secret-literal";
inline constexpr std::string_view k_ellipsis = "\u2026";

// Thresholds for "looks like a real secret" (used only to word the message
// of a secret-named field; such a field refuses every literal anyway).
// A random base62 string of n distinct-ish characters has about log2(n) bits
// per character, so 12 random characters reach ~3.4 while 12-letter words
// and repetitive placeholders ("passwordpassword": 2.75) stay below 3.0.
// Long literals (>= 20) count as real whatever their entropy: passphrases
// ("correct horse battery staple") are real secrets with word-like entropy.
inline constexpr std::size_t k_entropy_min_length = 12;
inline constexpr double k_entropy_min_bits = 3.0;
inline constexpr std::size_t k_long_literal = 20;

// What a fingerprint is taken of besides the text: a value assigned to a
// secret-named key or field (the same value in a YAML field and in a
// document has one fingerprint).
inline constexpr std::string_view k_kind_value = "secret-value";

using util::is_digit;
inline bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
inline bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
inline bool is_alpha(char c) { return is_upper(c) || is_lower(c); }
inline bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
inline bool is_upper_or_digit(char c) { return is_upper(c) || is_digit(c); }
inline bool is_word(char c) { return is_alnum(c) || c == '_'; }
inline bool is_base64url(char c) { return is_alnum(c) || c == '_' || c == '-'; }
inline bool is_alnum_or_dash(char c) { return is_alnum(c) || c == '-'; }
inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Length of the run of characters satisfying `pred` starting at `pos`.
template <class Pred> std::size_t run(std::string_view s, std::size_t pos, Pred pred) {
  std::size_t end = pos;
  while (end < s.size() && pred(s[end])) {
    ++end;
  }
  return end - pos;
}

inline bool at(std::string_view s, std::size_t pos, std::string_view word) {
  return pos <= s.size() && s.substr(pos).starts_with(word);
}

// Whether `s` starts with `lower_prefix` (lower case), in any case.
bool iequals_prefix(std::string_view s, std::string_view lower_prefix);

// `secret` for a message: at most its first 4 characters, quoted.
std::string redact(std::string_view secret);

// Whether `text` is a placeholder ("<password>", "changeme", "xxxx").
bool looks_like_placeholder(std::string_view text);

// `s` without blanks (spaces, tabs) at either end.
std::string_view trim_blanks(std::string_view s);

// `text` cut to 48 characters for a message.
std::string shorten(std::string_view text);

// Whether a value under `key` is a secret: its last word names one
// (`db_password`, `api_key`; not `max_tokens`, `secret_name`).
bool is_secret_key(std::string_view key);

// A literal secret found by its format, wherever it is in a text.
struct Format {
  std::size_t offset = 0;  // where it starts in the text
  std::size_t length = 0;  // how much of the text it covers
  std::string description; // "a GitHub token (\"ghp_…\")"
  std::string advice;      // what to do besides moving it, e.g. ", and revoke …"
  std::string fingerprint;
  // A URL to a domain reserved for documentation (RFC 2606: example.com,
  // .example, .test, .invalid): in free text, an example.
  bool example = false;
};

// Private keys, token formats and URLs with passwords anywhere in `s`.
std::vector<Format> find_formats(std::string_view s);

// A finding of `rule` at `mark` of `path`; `fingerprint` (when not empty)
// is named in the message, with how to allow a false positive.
Diagnostic secret_diagnostic(const std::string& path, Mark mark, std::string_view rule,
                             std::string message, const std::string& fingerprint);

} // namespace envflow::content::secret_scan
