#include "content/secrets.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <optional>
#include <set>

#include "content/summary.h"
#include "util/strings.h"

// Matching is written by hand (prefix search plus character-class runs), not
// with std::regex: the scanner runs on every string of every file in a server
// hook, and std::regex is orders of magnitude slower and allocates per match.

namespace envflow::content {

namespace {

constexpr std::string_view k_rule_literal = "secret-literal";
constexpr std::string_view k_rule_reference = "secret-reference";
constexpr std::string_view k_ellipsis = "\u2026";
constexpr std::string_view k_mend =
    "store the value in the secret store and write ${secrets.NAME} in its place";

// Thresholds for "looks like a real secret" (used only to word the message
// of a secret-named field; such a field refuses every literal anyway).
// A random base62 string of n distinct-ish characters has about log2(n) bits
// per character, so 12 random characters reach ~3.4 while 12-letter words
// and repetitive placeholders ("passwordpassword": 2.75) stay below 3.0.
// Long literals (>= 20) count as real whatever their entropy: passphrases
// ("correct horse battery staple") are real secrets with word-like entropy.
constexpr std::size_t k_entropy_min_length = 12;
constexpr double k_entropy_min_bits = 3.0;
constexpr std::size_t k_long_literal = 20;

using util::is_digit;
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_alpha(char c) { return is_upper(c) || is_lower(c); }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
bool is_upper_or_digit(char c) { return is_upper(c) || is_digit(c); }
bool is_word(char c) { return is_alnum(c) || c == '_'; }
bool is_base64url(char c) { return is_alnum(c) || c == '_' || c == '-'; }
bool is_alnum_or_dash(char c) { return is_alnum(c) || c == '-'; }
bool is_space(char c) {
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

bool at(std::string_view s, std::size_t pos, std::string_view word) {
  return pos <= s.size() && s.substr(pos).starts_with(word);
}

bool iequals_prefix(std::string_view s, std::string_view lower_prefix) {
  if (s.size() < lower_prefix.size()) {
    return false;
  }
  for (std::size_t i = 0; i < lower_prefix.size(); ++i) {
    char c = s[i];
    if (is_upper(c)) {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if (c != lower_prefix[i]) {
      return false;
    }
  }
  return true;
}

// At most the first 4 characters, fewer for short values (a quarter of the
// length), so a message never carries a whole secret, even a short one.
std::string redact(std::string_view secret) {
  std::size_t keep = std::min<std::size_t>(4, secret.size() / 4);
  while (keep > 0 && (static_cast<unsigned char>(secret[keep]) & 0xC0) == 0x80) {
    --keep; // never cut a UTF-8 sequence
  }
  return "\"" + std::string(secret.substr(0, keep)) + std::string(k_ellipsis) + "\"";
}

std::string where(const std::string& field) {
  return field.empty() ? std::string("at the top level") : "in '" + field + "'";
}

// Placeholders people put where a secret goes: "<password>", "changeme",
// "xxxx", "your-api-key-here".
bool looks_like_placeholder(std::string_view text) {
  const std::string lower = util::to_lower(util::trim(text));
  if (lower.empty()) {
    return true;
  }
  if (std::all_of(lower.begin(), lower.end(), [&](char c) { return c == lower.front(); })) {
    return true;
  }
  if ((lower.front() == '<' && lower.back() == '>') ||
      (lower.front() == '[' && lower.back() == ']')) {
    return true;
  }
  static constexpr std::array<std::string_view, 13> k_markers = {
      "changeme", "change-me", "change_me", "replace",  "your", "example", "placeholder",
      "dummy",    "todo",      "fixme",     "redacted", "xxx",  "***"};
  for (std::string_view marker : k_markers) {
    if (lower.find(marker) != std::string::npos) {
      return true;
    }
  }
  static constexpr std::array<std::string_view, 9> k_words = {
      "password", "passwd", "pwd", "pass", "secret", "token", "test", "none", "n/a"};
  return std::find(k_words.begin(), k_words.end(), lower) != k_words.end();
}

// --- secret-named keys -----------------------------------------------------

// Words of a key: split at non-alphanumerics and at camelCase boundaries
// ("clientSecret" -> client secret, "APIKey" -> api key), lower-cased;
// trailing digits are dropped ("password2" -> password, "token_1" -> token).
std::vector<std::string> key_words(std::string_view key) {
  std::vector<std::string> words;
  std::string word;
  const auto flush = [&] {
    while (!word.empty() && is_digit(word.back())) {
      word.pop_back();
    }
    if (!word.empty()) {
      words.push_back(word);
    }
    word.clear();
  };
  for (std::size_t i = 0; i < key.size(); ++i) {
    const char c = key[i];
    if (!is_alnum(c)) {
      flush();
      continue;
    }
    if (is_upper(c) && !word.empty()) {
      const char prev = key[i - 1];
      const bool next_lower = i + 1 < key.size() && is_lower(key[i + 1]);
      if (is_lower(prev) || is_digit(prev) || (is_upper(prev) && next_lower)) {
        flush();
      }
    }
    word += is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c;
  }
  flush();
  return words;
}

// Whether a value under `key` is a secret. The key's words decide, and the
// last word (the head noun) names what the value is:
//  - secret when the head is, or ends with, password(s), passwd, pwd,
//    passphrase, secret, token, apikey(s), accesskey, privatekey,
//    credential(s) ("db_password", "clientSecret", "authtoken"), or is
//    key(s) right after api / access / private / secret ("api_key",
//    "X-Api-Key", "secret_access_key", "private_key");
//  - not secret when the head is anything else, which is how a qualifier
//    after the secret word turns the field into metadata: `token_limit`,
//    `secret_name`, `secret_ref`, `api_key_header`, `token_url`,
//    `private_key_path`, `access_key_id`, `password_reset_url`;
//  - plurals of count-like nouns are not secret: `tokens`, `max_tokens`
//    (an LLM budget) and `secrets` (a list of secret names);
//  - a quantity qualifier (max / min / num / count) anywhere before the
//    head makes it a number, not a secret: `max_token`, `num_tokens`;
//  - a trailing `value` is transparent: `token_value` is a token.
// A plain "contains" test would flag `max_tokens: 4096` and `secret_name`,
// which is why the head noun decides.
bool is_secret_key(std::string_view key) {
  std::vector<std::string> words = key_words(key);
  if (words.size() > 1 && words.back() == "value") {
    words.pop_back();
  }
  if (words.empty()) {
    return false;
  }
  for (std::size_t i = 0; i + 1 < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "max" || w == "min" || w == "num" || w == "count") {
      return false;
    }
  }
  const std::string& head = words.back();
  if (head == "key" || head == "keys") {
    if (words.size() < 2) {
      return false; // `key: support-agent` is an identifier
    }
    const std::string& qualifier = words[words.size() - 2];
    return qualifier == "api" || qualifier == "access" || qualifier == "private" ||
           qualifier == "secret";
  }
  static constexpr std::array<std::string_view, 13> k_heads = {
      "password", "passwords", "passwd",    "pwd",        "passphrase", "secret",     "token",
      "apikey",   "apikeys",   "accesskey", "privatekey", "credential", "credentials"};
  return std::any_of(k_heads.begin(), k_heads.end(),
                     [&](std::string_view suffix) { return head.ends_with(suffix); });
}

// --- token formats -----------------------------------------------------------

struct TokenMatch {
  std::string_view kind;
  std::size_t length = 0;
};

bool has_mixed_classes(std::string_view s) {
  return std::any_of(s.begin(), s.end(), is_upper) && std::any_of(s.begin(), s.end(), is_lower) &&
         std::any_of(s.begin(), s.end(), is_digit);
}

// A well-known credential format starting at `i`, which must not continue a
// word (so "task-…" is not "sk-…" and "FASIA…" is not "ASIA…").
std::optional<TokenMatch> match_token(std::string_view s, std::size_t i) {
  if (i > 0 && is_alnum(s[i - 1])) {
    return std::nullopt;
  }
  switch (s[i]) {
  case 'A':
    if (at(s, i, "AKIA") || at(s, i, "ASIA")) {
      // Exactly 16 more: a longer upper-case run is a word or constant.
      const std::size_t n = run(s, i + 4, is_upper_or_digit);
      if (n == 16 && (i + 20 == s.size() || !is_alnum(s[i + 20]))) {
        return TokenMatch{"AWS access key id", 20};
      }
    } else if (at(s, i, "AIza")) {
      const std::size_t n = run(s, i + 4, is_base64url);
      if (n >= 35) {
        return TokenMatch{"Google API key", 4 + n};
      }
    }
    break;
  case 'g':
    if (at(s, i, "github_pat_")) {
      const std::size_t n = run(s, i + 11, is_word);
      if (n >= 22) {
        return TokenMatch{"GitHub fine-grained personal access token", 11 + n};
      }
    } else if (i + 4 <= s.size() && s[i + 1] == 'h' &&
               std::string_view("pousr").find(s[i + 2]) != std::string_view::npos &&
               s[i + 3] == '_') {
      const std::size_t n = run(s, i + 4, is_alnum);
      if (n >= 36) {
        return TokenMatch{"GitHub token", 4 + n};
      }
    }
    break;
  case 's':
  case 'r':
    if (at(s, i + 1, "k_live_")) {
      const std::size_t n = run(s, i + 8, is_alnum);
      if (n >= 16) {
        return TokenMatch{s[i] == 's' ? "Stripe live secret key" : "Stripe live restricted key",
                          8 + n};
      }
    } else if (s[i] == 's' && at(s, i, "sk-")) {
      const std::size_t n = run(s, i + 3, is_base64url);
      // Real keys are random: upper, lower and digits all occur. This keeps
      // kebab-case names ("sk-customer-support-escalation") out.
      if (n >= 20 && has_mixed_classes(s.substr(i + 3, n))) {
        const std::string_view kind = at(s, i, "sk-ant-")    ? "Anthropic API key"
                                      : at(s, i, "sk-proj-") ? "OpenAI project API key"
                                                             : "OpenAI API key";
        return TokenMatch{kind, 3 + n};
      }
    }
    break;
  case 'x':
    if (at(s, i, "xox") && i + 4 < s.size() &&
        std::string_view("baprs").find(s[i + 3]) != std::string_view::npos && s[i + 4] == '-') {
      const std::size_t n = run(s, i + 5, is_alnum_or_dash);
      if (n >= 10) {
        return TokenMatch{"Slack token", 5 + n};
      }
    }
    break;
  case 'e':
    if (at(s, i, "eyJ")) {
      std::size_t pos = i + 3;
      const std::size_t header = run(s, pos, is_base64url);
      pos += header;
      if (header < 10 || !at(s, pos, ".eyJ")) {
        break;
      }
      pos += 4;
      const std::size_t payload = run(s, pos, is_base64url);
      pos += payload;
      if (payload < 10 || !at(s, pos, ".")) {
        break;
      }
      pos += 1;
      const std::size_t signature = run(s, pos, is_base64url);
      if (signature >= 10) {
        return TokenMatch{"JSON Web Token", pos + signature - i};
      }
    }
    break;
  default:
    break;
  }
  return std::nullopt;
}

// --- references ----------------------------------------------------------------

// A secret name: [A-Za-z_][A-Za-z0-9_-]*, like an environment variable name
// plus '-', which secret stores (Kubernetes, Vault) allow.
bool is_secret_name(std::string_view name) {
  if (name.empty() || !(is_alpha(name.front()) || name.front() == '_')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), is_base64url);
}

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string shorten(std::string_view text) {
  constexpr std::size_t k_max = 48;
  return text.size() <= k_max ? std::string(text)
                              : std::string(text.substr(0, k_max)) + std::string(k_ellipsis);
}

// The name to suggest in a mended reference: `name` itself when valid, else
// with every other character made '_' ("bad name" -> "bad_name").
std::string suggest_name(std::string_view name) {
  std::string out;
  for (char c : trim_blanks(name)) {
    out += is_base64url(c) ? c : '_';
  }
  return is_secret_name(out) ? out : std::string("NAME");
}

// Why `inner` (the text between "${" and "}", blanks trimmed) is not a valid
// secret reference, or "" when it is one. Only called when `inner` starts
// with "secret" in any case.
std::string reference_problem(std::string_view inner) {
  if (inner.starts_with("secrets.")) {
    const std::string_view name = inner.substr(8);
    if (name.empty()) {
      return "names no secret; write ${secrets.NAME}";
    }
    if (!is_secret_name(name)) {
      return "has an invalid secret name '" + shorten(name) +
             "' (letters, digits, '_' and '-', not starting with a digit); write e.g. ${secrets." +
             suggest_name(name) + "}";
    }
    return "";
  }
  if (iequals_prefix(inner, "secrets.")) {
    return "must be written in lower case; write ${secrets." + suggest_name(inner.substr(8)) + "}";
  }
  if (iequals_prefix(inner, "secret.")) {
    return "uses 'secret', the namespace is 'secrets'; write ${secrets." +
           suggest_name(inner.substr(7)) + "}";
  }
  return "is not of the form ${secrets.NAME}";
}

// A `{{ … }}` template expression is a dotted identifier path such as
// `vars.X` or `steps.login.output.token`, resolved at run time.
bool is_template_expression(std::string_view inner) {
  if (inner.empty() || !(is_alpha(inner.front()) || inner.front() == '_')) {
    return false;
  }
  return std::all_of(inner.begin(), inner.end(),
                     [](char c) { return is_base64url(c) || c == '.'; });
}

// --- formats anywhere in a text ------------------------------------------------------

constexpr std::size_t k_key_body_min = 32; // base64 characters a private key block must hold
constexpr std::size_t k_key_line_min = 20;  // characters of a base64 line of its body

bool is_base64(char c) { return is_alnum(c) || c == '+' || c == '/' || c == '='; }

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

bool is_example_host(std::string_view host) {
  const std::size_t colon = host.rfind(':');
  std::string name = util::to_lower(colon == std::string_view::npos ? host : host.substr(0, colon));
  for (const std::string_view domain : {"example.com", "example.org", "example.net", "example"}) {
    if (name == domain || name.ends_with("." + std::string(domain))) {
      return true;
    }
  }
  return name.ends_with(".test") || name.ends_with(".invalid");
}

// Between the words of a key's body: blanks, line breaks (also written as
// `\n` inside a quoted string) and what prefixes the lines of a comment, a
// quotation or a string (#, >, quotes).
std::size_t body_separator(std::string_view s, std::size_t k) {
  if (k + 1 < s.size() && s[k] == '\\' && (s[k + 1] == 'n' || s[k + 1] == 'r')) {
    return 2;
  }
  return is_space(s[k]) || std::string_view("#>\"'`,").find(s[k]) != std::string_view::npos ? 1
                                                                                              : 0;
}

// A `-----BEGIN … PRIVATE KEY…-----` header at `i` followed by a body: words
// of base64 of at least k_key_line_min characters (a key's lines), together
// at least k_key_body_min, up to `-----END`. Armor headers (`Proc-Type: …`,
// `Version: …`) may come first. A header alone, or followed by prose, is
// documentation, not a key.
std::optional<Format> private_key_block(std::string_view s, std::size_t i) {
  const std::size_t label_start = i + 11;
  const std::size_t n = run(s, label_start, [](char c) { return is_upper(c) || c == ' '; });
  const std::string_view label = s.substr(label_start, n);
  if (!at(s, label_start + n, "-----") || label.find("PRIVATE KEY") == std::string_view::npos) {
    return std::nullopt;
  }
  const std::size_t header_end = label_start + n + 5;
  std::string body;
  std::size_t pos = header_end;
  std::size_t end = header_end;
  while (pos < s.size()) {
    if (const std::size_t skip = body_separator(s, pos); skip != 0) {
      pos += skip;
      continue;
    }
    std::size_t word_end = pos;
    while (word_end < s.size() && body_separator(s, word_end) == 0) {
      ++word_end;
    }
    const std::string_view word = s.substr(pos, word_end - pos);
    if (word.starts_with("-----END")) {
      const std::size_t close = s.find("-----", pos + 8);
      end = close == std::string_view::npos ? word_end : close + 5;
      break;
    }
    if (word.size() >= k_key_line_min && std::all_of(word.begin(), word.end(), is_base64)) {
      body += word;
      end = pos = word_end;
      continue;
    }
    if (body.empty() && word.size() > 1 && word.back() == ':') {
      const std::size_t eol = s.find('\n', word_end);
      pos = eol == std::string_view::npos ? s.size() : eol; // an armor header line
      continue;
    }
    break;
  }
  if (body.size() < k_key_body_min) {
    return std::nullopt;
  }
  Format format;
  format.offset = i;
  format.length = end - i; // the body is skipped: base64 may spell out anything
  format.description = "a private key block (" + std::string(s.substr(i, header_end - i)) + ")";
  format.advice = ", and replace the key if it was ever pushed";
  format.fingerprint = secret_fingerprint("private-key", std::string(label) + "\n" + body);
  return format;
}

// `scheme://user:password@host` with the `://` at `i`. A password that is
// a reference (`${secrets.DB_PASSWORD}`) or a placeholder (`<password>`,
// `password`, `***`: documentation showing the shape of a URL) is fine.
std::optional<Format> url_with_password(std::string_view s, std::size_t i) {
  std::size_t scheme_start = i;
  while (scheme_start > 0 && (is_alnum(s[scheme_start - 1]) || s[scheme_start - 1] == '+' ||
                              s[scheme_start - 1] == '.' || s[scheme_start - 1] == '-')) {
    --scheme_start;
  }
  if (scheme_start == i || !is_alpha(s[scheme_start])) {
    return std::nullopt;
  }
  const std::size_t start = i + 3;
  std::size_t end = start;
  while (end < s.size()) {
    if (at(s, end, "${") || at(s, end, "{{")) {
      const std::string_view close = s[end] == '$' ? "}" : "}}";
      const std::size_t stop = s.find(close, end + 2);
      end = stop == std::string_view::npos ? s.size() : stop + close.size();
      continue;
    }
    const char c = s[end];
    if (is_space(c) || c == '/' || c == '?' || c == '#' || c == '"' || c == '\'' || c == '<' ||
        c == '>' || c == '`') {
      break;
    }
    ++end;
  }
  const std::string_view authority = s.substr(start, end - start);
  const std::size_t at_sign = authority.rfind('@');
  if (at_sign == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view userinfo = authority.substr(0, at_sign);
  const std::size_t colon = userinfo.find(':');
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view password = trim_blanks(userinfo.substr(colon + 1));
  // `${secrets.X}`, `{{ vars.X }}`, and a shell's `$X` / `$1` in a script.
  const bool reference = (password.starts_with("${") && password.ends_with("}")) ||
                         (password.starts_with("{{") && password.ends_with("}}")) ||
                         (password.size() > 1 && password.front() == '$' &&
                          (is_word(password[1]) || password[1] == '{'));
  // A metavariable (PASSWORD, [PASS], MY_TOKEN) is documentation of a URL's shape.
  const bool metavariable = std::all_of(password.begin(), password.end(), [](char c) {
    return is_upper(c) || c == '_' || c == '-' || c == '[' || c == ']';
  });
  if (password.empty() || reference || metavariable || looks_like_placeholder(password)) {
    return std::nullopt;
  }
  Format format;
  format.offset = scheme_start;
  format.length = end - scheme_start;
  format.description = "a URL with an inline password (" +
                       std::string(s.substr(scheme_start, start - scheme_start)) +
                       shorten(userinfo.substr(0, colon)) + ":" + std::string(k_ellipsis) + "@" +
                       shorten(authority.substr(at_sign + 1)) + ")";
  format.advice = " (e.g. https://user:${secrets.NAME}@host)";
  format.fingerprint = secret_fingerprint("url-password", password);
  format.example = is_example_host(authority.substr(at_sign + 1));
  return format;
}

// Whether a token format (match_token) can start with `c`.
bool is_token_start(char c) {
  return c == 'A' || c == 'g' || c == 's' || c == 'r' || c == 'x' || c == 'e';
}

// Private keys, token formats and URLs with passwords anywhere in `s`.
std::vector<Format> find_formats(std::string_view s) {
  std::vector<Format> found;
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    // Only these start a finding: '-' (a key block), ':' (a URL's "://"), and
    // the first letter of a token format at the start of a word. Most
    // characters are none of them: the scan runs on every byte of a snapshot.
    if (c != '-' && c != ':' &&
        (!is_token_start(c) || (i > 0 && is_alnum(s[i - 1])))) {
      ++i;
      continue;
    }
    std::optional<Format> format;
    std::size_t next = i + 1;
    if (c == '-' && at(s, i, "-----BEGIN ")) {
      if ((format = private_key_block(s, i))) {
        next = i + format->length;
      }
    } else if (c == ':' && at(s, i, "://")) {
      format = url_with_password(s, i);
    } else if (const auto token = match_token(s, i)) {
      format.emplace();
      format->offset = i;
      format->length = token->length;
      const bool vowel = std::string_view("AEIOU").find(token->kind.front()) != std::string_view::npos;
      format->description = (vowel ? "an " : "a ") + std::string(token->kind) + " (" +
                            redact(s.substr(i, token->length)) + ")";
      format->advice = ", and revoke the credential if it was ever pushed";
      format->fingerprint = secret_fingerprint("token", s.substr(i, token->length));
      next = i + token->length;
    }
    i = next;
    if (!format) {
      continue;
    }
    found.push_back(std::move(*format));
  }
  return found;
}

// What a fingerprint is taken of besides the text: a value assigned to a
// secret-named key or field (the same value in a YAML field and in a
// document has one fingerprint).
constexpr std::string_view k_kind_value = "secret-value";

Diagnostic secret_diagnostic(const std::string& path, Mark mark, std::string_view rule,
                             std::string message, const std::string& fingerprint) {
  Diagnostic d;
  d.path = path;
  d.mark = mark.line > 0 ? mark : Mark{1, 1};
  d.rule = std::string(rule);
  d.message = std::move(message);
  if (!fingerprint.empty()) {
    d.message += " (fingerprint " + fingerprint +
                 "; if this is a known false positive, allow it under secret_allowlist in "
                 "envflow.yaml)";
    d.fingerprint = fingerprint;
  }
  return d;
}

// --- the scanner -------------------------------------------------------------------

class Scanner {
public:
  explicit Scanner(const std::string& path) : m_path(path) {}

  void walk(const Value& value, std::string_view key, const std::string& field) {
    switch (value.type) {
    case Value::Type::mapping:
      walk_mapping(value, field);
      break;
    case Value::Type::sequence:
      for (std::size_t i = 0; i < value.items.size(); ++i) {
        walk(value.items[i], key, field + "[" + std::to_string(i) + "]");
      }
      break;
    case Value::Type::string:
      scan_string(value.string, value.mark, key, field);
      break;
    case Value::Type::integer:
    case Value::Type::number:
      // `password: 12345678` loads as an integer; still a literal.
      if (is_secret_key(key) && !value.string.empty()) {
        check_secret_field(value.string, value.mark, key, field);
      }
      break;
    case Value::Type::boolean:
    case Value::Type::null:
      break;
    }
  }

  std::vector<Diagnostic> take() { return std::move(m_out); }

private:
  void walk_mapping(const Value& mapping, const std::string& field) {
    // `{name: API_TOKEN, value: …}` pairs (headers, environment lists) and
    // a Variable's `default`: the value is named by its sibling `name`.
    std::string_view sibling_name;
    for (const Entry& entry : mapping.members) {
      if (entry.key == "name" && entry.value.is_string()) {
        sibling_name = entry.value.string;
      }
    }
    for (const Entry& entry : mapping.members) {
      scan_formats(entry.key, entry.key_mark, field);
      const std::string child = field.empty() ? entry.key : field + "." + entry.key;
      std::string_view key = entry.key;
      if ((key == "value" || key == "default") && !sibling_name.empty()) {
        key = sibling_name;
      }
      walk(entry.value, key, child);
    }
  }

  void add(Mark mark, std::string_view rule, std::string message,
           const std::string& fingerprint = {}) {
    m_out.push_back(secret_diagnostic(m_path, mark, rule, std::move(message), fingerprint));
  }

  // Private keys, token formats and URLs with passwords anywhere in `s`.
  // Returns whether anything was found.
  bool scan_formats(std::string_view s, Mark mark, const std::string& field) {
    const std::vector<Format> found = find_formats(s);
    for (const Format& format : found) {
      add(mark, k_rule_literal,
          "literal secret " + where(field) + ": " + format.description + "; " +
              std::string(k_mend) + format.advice,
          format.fingerprint);
    }
    return !found.empty();
  }

  // Checks every `${…}` and `{{ … }}` of `s` and returns `s` with them cut
  // out: the literal part of the value. Blanks inside the braces are
  // tolerated (`${ secrets.X }`), as template engines do; only a `${…}` that
  // starts with "secret" in any case is taken for a secret reference, so
  // shell-style `${HOME}` in instructions is left alone.
  std::string scan_references(std::string_view s, Mark mark, const std::string& field) {
    std::string literal;
    std::size_t i = 0;
    while (i < s.size()) {
      if (at(s, i, "${")) {
        std::size_t close = i + 2;
        while (close < s.size() && s[close] != '}' && s[close] != '\n') {
          ++close;
        }
        const bool terminated = close < s.size() && s[close] == '}';
        const std::string_view inner = trim_blanks(s.substr(i + 2, close - i - 2));
        if (iequals_prefix(inner, "secret")) {
          const std::string text = "${" + std::string(inner) + (terminated ? "}" : "");
          if (!terminated) {
            const std::string name =
                iequals_prefix(inner, "secrets.") ? suggest_name(inner.substr(8)) : "NAME";
            add(mark, k_rule_reference,
                "unterminated secret reference '" + shorten(text) + "' " + where(field) +
                    "; close it with '}': ${secrets." + name + "}");
          } else if (const std::string problem = reference_problem(inner); !problem.empty()) {
            add(mark, k_rule_reference,
                "malformed secret reference '" + shorten(text) + "' " + where(field) + ": " +
                    problem);
          }
          i = terminated ? close + 1 : close;
          continue;
        }
      } else if (at(s, i, "{{")) {
        const std::size_t close = s.find("}}", i + 2);
        if (close != std::string_view::npos) {
          const std::string_view inner = trim_blanks(s.substr(i + 2, close - i - 2));
          if (iequals_prefix(inner, "secret")) {
            const std::size_t dot = inner.find('.');
            const std::string name = dot == std::string_view::npos
                                         ? std::string("NAME")
                                         : suggest_name(inner.substr(dot + 1));
            add(mark, k_rule_reference,
                "malformed secret reference '{{ " + shorten(inner) + " }}' " + where(field) +
                    ": secrets are referenced as ${secrets." + name +
                    "} ({{ … }} is for variables)");
            i = close + 2;
            continue;
          }
          if (is_template_expression(inner)) {
            i = close + 2;
            continue;
          }
        }
      }
      literal += s[i];
      ++i;
    }
    return literal;
  }

  void scan_string(std::string_view s, Mark mark, std::string_view key, const std::string& field) {
    const bool found = scan_formats(s, mark, field);
    const std::string literal = scan_references(s, mark, field);
    if (!found && is_secret_key(key)) {
      check_secret_field(literal, mark, key, field);
    }
  }

  // In a secret-named field every literal is refused; only references,
  // templates, blanks, punctuation and an auth scheme word ("Bearer
  // ${secrets.TOKEN}") may remain. Whether the literal looks like a real
  // secret only changes the wording.
  void check_secret_field(std::string_view literal, Mark mark, std::string_view key,
                          const std::string& field) {
    std::string rest;
    for (const std::string& word : util::split(literal, ' ')) {
      const std::string lower = util::to_lower(util::trim(word));
      if (lower != "bearer" && lower != "basic" && lower != "token" && lower != "bot") {
        rest += rest.empty() ? "" : " ";
        rest += word;
      }
    }
    const std::string_view value = util::trim(rest);
    if (std::none_of(value.begin(), value.end(),
                     [](char c) { return is_alnum(c) || static_cast<unsigned char>(c) >= 0x80; })) {
      return;
    }
    std::string verdict;
    if (looks_like_placeholder(value)) {
      verdict = "looks like a placeholder, but a secret field takes only a reference";
    } else if ((value.size() >= k_entropy_min_length &&
                shannon_entropy(value) >= k_entropy_min_bits) ||
               value.size() >= k_long_literal) {
      verdict = "looks like a real secret";
    } else {
      verdict = "short and low-entropy, so probably not a real secret, but a secret field takes "
                "only a reference";
    }
    const std::string name = field.empty() ? std::string(key) : field;
    add(mark, k_rule_literal,
        "literal value in secret field '" + name + "' (" + redact(value) + ", " +
            std::to_string(value.size()) + " characters, " + verdict + "); " + std::string(k_mend),
        secret_fingerprint(k_kind_value, value));
  }

  const std::string& m_path;
  std::vector<Diagnostic> m_out;
};

// --- free text ---------------------------------------------------------------------

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

std::vector<Diagnostic> scan_secrets(const Value& document, const std::string& path) {
  Scanner scanner(path);
  scanner.walk(document, "", "");
  std::vector<Diagnostic> diagnostics = scanner.take();
  sort_diagnostics(diagnostics);
  return diagnostics;
}

std::vector<Diagnostic> scan_text_secrets(std::string_view text, const std::string& path) {
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

std::vector<Diagnostic> scan_file_secrets(std::string_view text, const Value* document,
                                          const std::string& path) {
  std::vector<Diagnostic> diagnostics;
  if (document != nullptr) {
    diagnostics = scan_secrets(*document, path);
  }
  std::set<std::string> known;
  for (const Diagnostic& d : diagnostics) {
    known.insert(d.fingerprint);
  }
  for (Diagnostic& d : scan_text_secrets(text, path)) {
    if (!known.contains(d.fingerprint)) {
      diagnostics.push_back(std::move(d));
    }
  }
  sort_diagnostics(diagnostics);
  return diagnostics;
}

std::string secret_fingerprint(std::string_view kind, std::string_view text) {
  std::string data = "envflow secret\n";
  data += kind;
  data += '\n';
  data += text;
  return sha1_hex(data).substr(0, k_fingerprint_digits);
}

double shannon_entropy(std::string_view text) {
  if (text.empty()) {
    return 0.0;
  }
  std::array<std::size_t, 256> counts{};
  for (char c : text) {
    ++counts[static_cast<unsigned char>(c)];
  }
  const double total = static_cast<double>(text.size());
  double bits = 0.0;
  for (std::size_t count : counts) {
    if (count != 0) {
      const double p = static_cast<double>(count) / total;
      bits -= p * std::log2(p);
    }
  }
  return bits;
}

} // namespace envflow::content
