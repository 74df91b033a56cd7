#include "content/secrets.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

#include "content/secret_scan.h"

namespace envflow::content {

namespace secret_scan {

namespace {

constexpr std::string_view k_text_mend =
    "remove it from the file (documents and YAML comments are promoted like every other line); "
    "keep the value in the secret store and refer to it by name, ${secrets.NAME}";

bool is_key_char(char c) { return is_alnum(c) || c == '_' || c == '-' || c == '.'; }
bool is_quote(char c) { return c == '"' || c == '\'' || c == '`'; }

// Whether `value`, assigned to a secret-named key in free text, looks like a
// real secret rather than prose, code or a reference. Unlike a YAML secret
// field (where every literal is refused), text needs evidence: at least 8
// characters, letters with digits, the entropy of a random string, and none
// of the shapes of a reference ($X, ${…}, {{…}}, %(x)s, <placeholder>), a
// path, a URL or its percent-encoded query, markup, a call, a dotted name or
// an environment variable's name.
bool looks_like_secret_value(std::string_view value) {
  if (value.size() < 8 || value.size() > 256 || looks_like_placeholder(value)) {
    return false;
  }
  if (std::string_view("$%{</~").find(value.front()) != std::string_view::npos) {
    return false;
  }
  for (const std::string_view shape : {"${", "{{", "(", "[", "<", ">", "://"}) {
    if (value.find(shape) != std::string_view::npos) {
      return false;
    }
  }
  for (std::size_t k = value.find('%'); k != std::string_view::npos; k = value.find('%', k + 1)) {
    if (k + 2 < value.size() && std::isxdigit(static_cast<unsigned char>(value[k + 1])) != 0 &&
        std::isxdigit(static_cast<unsigned char>(value[k + 2])) != 0) {
      return false; // percent-encoded: a URL's query, shown as an example
    }
  }
  const bool env_name = std::all_of(value.begin(), value.end(), [](char c) {
    return is_upper_or_digit(c) || c == '_';
  }) && value.find('_') != std::string_view::npos;
  bool dotted = value.find('.') != std::string_view::npos;
  for (const std::string& part : util::split(value, '.')) {
    dotted = dotted && !part.empty() && !is_digit(part.front()) &&
             std::all_of(part.begin(), part.end(), [](char c) { return is_word(c); });
  }
  if (env_name || dotted) {
    return false;
  }
  if (!std::any_of(value.begin(), value.end(), is_alpha) ||
      !std::any_of(value.begin(), value.end(), is_digit)) {
    return false; // words and type names ("challengePassword", "_PrivateKey"), numbers
  }
  return shannon_entropy(value) >= k_entropy_min_bits;
}

// Whether `key` holds, in any case, a word is_secret_key looks for: a cheap
// test that spares the word split for the keys of every other `key: value`.
bool names_a_secret_word(std::string_view key) {
  static constexpr std::array<std::string_view, 6> k_words = {"pass", "pwd", "secret",
                                                              "token", "key", "cred"};
  return std::any_of(k_words.begin(), k_words.end(), [&](std::string_view word) {
    for (std::size_t i = 0; i + word.size() <= key.size(); ++i) {
      if (iequals_prefix(key.substr(i), word)) {
        return true;
      }
    }
    return false;
  });
}

// `key: value`, `key = value`, `key := value`, `key => value`, `"key": "value"`
// and `--key=value` in free text, with a secret-named key (is_secret_key)
// and a value that looks like a secret (looks_like_secret_value).
struct Assignment {
  std::size_t offset = 0; // of the value
  std::size_t length = 0;
  std::string key;
  std::string value;
};

std::optional<Assignment> assignment_at(std::string_view s, std::size_t sep) {
  std::size_t value_start = sep + 1;
  if (s[sep] == ':') {
    if (at(s, sep + 1, "/") || at(s, sep + 1, ":") || (sep > 0 && s[sep - 1] == ':')) {
      return std::nullopt; // a URL, or C++'s ::
    }
    value_start += at(s, sep + 1, "=") ? 1 : 0;
  } else {
    if (at(s, sep + 1, "=") || (sep > 0 && std::string_view("=!<>:").find(s[sep - 1]) !=
                                               std::string_view::npos)) {
      return std::nullopt; // a comparison, or the '=' of ':=' (taken at the ':')
    }
    value_start += at(s, sep + 1, ">") ? 1 : 0;
  }
  std::size_t key_end = sep;
  while (key_end > 0 && (s[key_end - 1] == ' ' || s[key_end - 1] == '\t')) {
    --key_end;
  }
  if (key_end > 0 && is_quote(s[key_end - 1])) {
    --key_end;
  }
  std::size_t key_start = key_end;
  while (key_start > 0 && is_key_char(s[key_start - 1])) {
    --key_start;
  }
  const std::string_view key = s.substr(key_start, key_end - key_start);
  if (key.empty() || !names_a_secret_word(key) || !is_secret_key(key)) {
    return std::nullopt;
  }
  std::size_t start = value_start;
  while (start < s.size() && (s[start] == ' ' || s[start] == '\t')) {
    ++start;
  }
  std::size_t end = start;
  if (start < s.size() && is_quote(s[start])) {
    const char quote = s[start];
    ++start;
    end = start;
    while (end < s.size() && s[end] != quote && s[end] != '\n') {
      if (s[end] == ' ' || s[end] == '\t') {
        return std::nullopt; // a quoted phrase is prose, not a key
      }
      ++end;
    }
  } else {
    while (end < s.size() && !is_space(s[end]) && s[end] != '&') {
      ++end;
    }
    while (end > start && std::string_view(".,;:)]}\"'`").find(s[end - 1]) != std::string_view::npos) {
      --end;
    }
  }
  const std::string_view value = s.substr(start, end - start);
  if (!looks_like_secret_value(value)) {
    return std::nullopt;
  }
  return Assignment{start, end - start, std::string(key), std::string(value)};
}

// 1-based line and byte column of offsets taken in increasing order.
class Cursor {
public:
  explicit Cursor(std::string_view text) : m_text(text) {}

  Mark operator()(std::size_t offset) {
    for (; m_pos < offset && m_pos < m_text.size(); ++m_pos) {
      if (m_text[m_pos] == '\n') {
        ++m_line;
        m_line_start = m_pos + 1;
      }
    }
    return {m_line, static_cast<int>(offset - m_line_start) + 1};
  }

private:
  std::string_view m_text;
  std::size_t m_pos = 0;
  int m_line = 1;
  std::size_t m_line_start = 0;
};

} // namespace

} // namespace secret_scan

std::vector<Diagnostic> scan_text_secrets(std::string_view text, const std::string& path) {
  using namespace secret_scan;
  struct Found {
    std::size_t offset;
    std::string message;
    std::string fingerprint;
  };
  std::vector<Found> found;
  const std::vector<Format> formats = find_formats(text);
  for (const Format& format : formats) {
    if (format.example) {
      continue;
    }
    found.push_back({format.offset,
                     "literal secret: " + format.description + "; " + std::string(k_text_mend) +
                         format.advice,
                     format.fingerprint});
  }
  // An assignment whose value is a format already found is that finding.
  const auto covered = [&](std::size_t offset) {
    return std::any_of(formats.begin(), formats.end(), [&](const Format& f) {
      return offset >= f.offset && offset < f.offset + f.length;
    });
  };
  for (std::size_t i = text.find_first_of(":="); i != std::string_view::npos;
       i = text.find_first_of(":=", i + 1)) {
    if (const auto assignment = assignment_at(text, i); assignment && !covered(assignment->offset)) {
      found.push_back({assignment->offset,
                       "literal secret: '" + assignment->key + "' is set to a literal (" +
                           redact(assignment->value) + ", " +
                           std::to_string(assignment->value.size()) +
                           " characters, looks like a real secret); " + std::string(k_text_mend),
                       secret_fingerprint(k_kind_value, assignment->value)});
    }
  }
  std::sort(found.begin(), found.end(),
            [](const Found& a, const Found& b) { return a.offset < b.offset; });
  std::vector<Diagnostic> diagnostics;
  Cursor cursor(text);
  for (Found& f : found) {
    diagnostics.push_back(
        secret_diagnostic(path, cursor(f.offset), k_rule_literal, std::move(f.message), f.fingerprint));
  }
  return diagnostics;
}

} // namespace envflow::content
