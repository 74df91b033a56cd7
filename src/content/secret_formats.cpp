#include "content/secret_scan.h"

#include <algorithm>
#include <array>
#include <optional>

#include "content/secrets.h"

namespace envflow::content::secret_scan {

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

namespace {

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

} // namespace

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

namespace {

// --- token formats -----------------------------------------------------------

struct TokenMatch {
  std::string_view kind;
  std::size_t length = 0;
};

// A token of `kind` at `i`: `prefix` characters (already matched), then at
// least `min` characters satisfying `pred`, as many as there are.
template <class Pred>
std::optional<TokenMatch> prefixed_token(std::string_view s, std::size_t i, std::size_t prefix,
                                         Pred pred, std::size_t min, std::string_view kind) {
  const std::size_t n = run(s, i + prefix, pred);
  if (n < min) {
    return std::nullopt;
  }
  return TokenMatch{kind, prefix + n};
}

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
      return prefixed_token(s, i, 4, is_base64url, 35, "Google API key");
    }
    break;
  case 'g':
    if (at(s, i, "github_pat_")) {
      return prefixed_token(s, i, 11, is_word, 22, "GitHub fine-grained personal access token");
    }
    if (i + 4 <= s.size() && s[i + 1] == 'h' &&
        std::string_view("pousr").find(s[i + 2]) != std::string_view::npos && s[i + 3] == '_') {
      return prefixed_token(s, i, 4, is_alnum, 36, "GitHub token");
    }
    break;
  case 's':
  case 'r':
    if (at(s, i + 1, "k_live_")) {
      return prefixed_token(s, i, 8, is_alnum, 16,
                            s[i] == 's' ? "Stripe live secret key" : "Stripe live restricted key");
    }
    if (s[i] == 's' && at(s, i, "sk-")) {
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
      return prefixed_token(s, i, 5, is_alnum_or_dash, 10, "Slack token");
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

// --- formats anywhere in a text ------------------------------------------------------

constexpr std::size_t k_key_body_min = 32; // base64 characters a private key block must hold
constexpr std::size_t k_key_line_min = 20;  // characters of a base64 line of its body

bool is_base64(char c) { return is_alnum(c) || c == '+' || c == '/' || c == '='; }

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

} // namespace

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

} // namespace envflow::content::secret_scan
