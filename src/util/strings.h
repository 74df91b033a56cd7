#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace envflow::util {

std::vector<std::string> split(std::string_view text, char separator);

// A record line "key: value" split at its first ": " (the form of audit
// records, holds and release manifests); none when the line has no ": ".
std::optional<std::pair<std::string, std::string>> split_field(std::string_view line);
std::string join(const std::vector<std::string>& parts, std::string_view separator);
std::string_view trim(std::string_view text);
bool starts_with(std::string_view text, std::string_view prefix);
bool ends_with(std::string_view text, std::string_view suffix);
std::string to_lower(std::string_view text);
// '0' to '9' (std::isdigit depends on the locale and wants an unsigned char).
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
// Move `i` past the digits of `text` that start there; how many there were.
constexpr std::size_t skip_digits(std::string_view text, std::size_t& i) {
  const std::size_t start = i;
  while (i < text.size() && is_digit(text[i])) {
    ++i;
  }
  return i - start;
}
// `n` and `word`, with an "s" unless n is 1: "1 commit", "2 commits".
std::string plural(std::size_t n, const std::string& word);
// `text` with every `from` replaced by `to`.
std::string replace_all(std::string text, std::string_view from, std::string_view to);
// File name without directory and last extension: "agents/a.yaml" -> "a".
std::string path_stem(std::string_view path);
// First path component, or "" when there is none: "agents/a.yaml" -> "agents".
std::string first_component(std::string_view path);
// Levenshtein distance between `a` and `b` (for "did you mean …").
std::size_t edit_distance(std::string_view a, std::string_view b);
// The first of `candidates` closest to `word` within edit distance 2, for
// "did you mean …"; "" when none is that close, or only by replacing every
// character of a short word (that is no typo).
template <typename Strings>
std::string closest(std::string_view word, const Strings& candidates) {
  std::string best;
  std::size_t best_distance = 3;
  for (const auto& candidate : candidates) {
    const std::size_t distance = edit_distance(word, candidate);
    if (distance < best_distance && distance < word.size()) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}
// "did you mean 'x'?" with x = closest(word, candidates), or "" when none is close.
template <typename Strings>
std::string did_you_mean(std::string_view word, const Strings& candidates) {
  const std::string best = closest(word, candidates);
  return best.empty() ? best : "did you mean '" + best + "'?";
}
// True when `text` is valid UTF-8.
bool is_valid_utf8(std::string_view text);
// `text` safe to print on a terminal or in JSON, and as close to it as that
// allows: control characters (C0, DEL, C1) and bytes that are not UTF-8 are
// written as `\xNN` (C1 as `\u0085`); everything else is kept.
std::string printable(std::string_view text);
// `text` as one word for a POSIX shell: in single quotes, each `'` written
// as `'\''`; with Quote::when_needed (like Python's shlex.quote) left as it
// is when it holds only characters no shell treats specially (letters,
// digits, `@%+=:,./_-`). For hints a user may copy and paste, and for
// quoting a user's input back.
enum class Quote { when_needed, always };
std::string shell_quoted(std::string_view text, Quote quote = Quote::when_needed);

} // namespace envflow::util
