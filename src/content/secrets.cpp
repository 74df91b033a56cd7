#include "content/secrets.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <optional>

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

bool is_digit(char c) { return c >= '0' && c <= '9'; }
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

  void add(Mark mark, std::string_view rule, std::string message) {
    Diagnostic d;
    d.path = m_path;
    d.mark = mark.line > 0 ? mark : Mark{1, 1};
    d.rule = std::string(rule);
    d.message = std::move(message);
    m_out.push_back(std::move(d));
  }

  // Private keys, token formats and URLs with passwords anywhere in `s`.
  // Returns whether anything was found.
  bool scan_formats(std::string_view s, Mark mark, const std::string& field) {
    bool found = false;
    for (std::size_t i = 0; i < s.size();) {
      const char c = s[i];
      if (c == '-' && at(s, i, "-----BEGIN ")) {
        if (const std::size_t end = private_key_header(s, i); end != 0) {
          add(mark, k_rule_literal,
              "literal secret " + where(field) + ": a private key block (" +
                  std::string(s.substr(i, end - i)) + "); " + std::string(k_mend) +
                  ", and replace the key if it was ever pushed");
          found = true;
          // Skip the body: base64 may spell out anything.
          const std::size_t close = s.find("-----END ", end);
          const std::size_t stop =
              close == std::string_view::npos ? std::string_view::npos : s.find("-----", close + 9);
          i = stop == std::string_view::npos ? s.size() : stop + 5;
          continue;
        }
      } else if (c == ':' && at(s, i, "://")) {
        if (url_with_password(s, i, mark, field)) {
          found = true;
        }
      } else if (const auto token = match_token(s, i)) {
        add(mark, k_rule_literal,
            "literal secret " + where(field) + ": a " + std::string(token->kind) + " (" +
                redact(s.substr(i, token->length)) + "); " + std::string(k_mend) +
                ", and revoke the credential if it was ever pushed");
        found = true;
        i += token->length;
        continue;
      }
      ++i;
    }
    return found;
  }

  // End of a `-----BEGIN … PRIVATE KEY…-----` header at `i`, or 0.
  static std::size_t private_key_header(std::string_view s, std::size_t i) {
    const std::size_t label_start = i + 11;
    const std::size_t n = run(s, label_start, [](char c) { return is_upper(c) || c == ' '; });
    const std::string_view label = s.substr(label_start, n);
    if (!at(s, label_start + n, "-----") || label.find("PRIVATE KEY") == std::string_view::npos) {
      return 0;
    }
    return label_start + n + 5;
  }

  // `scheme://user:password@host` with the `://` at `i`. A password that is
  // a reference (`${secrets.DB_PASSWORD}`) or a placeholder (`<password>`,
  // `password`, `***`: documentation showing the shape of a URL) is fine.
  bool url_with_password(std::string_view s, std::size_t i, Mark mark, const std::string& field) {
    std::size_t scheme_start = i;
    while (scheme_start > 0 && (is_alnum(s[scheme_start - 1]) || s[scheme_start - 1] == '+' ||
                                s[scheme_start - 1] == '.' || s[scheme_start - 1] == '-')) {
      --scheme_start;
    }
    if (scheme_start == i || !is_alpha(s[scheme_start])) {
      return false;
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
      return false;
    }
    const std::string_view userinfo = authority.substr(0, at_sign);
    const std::size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      return false;
    }
    const std::string_view password = trim_blanks(userinfo.substr(colon + 1));
    const bool reference = (password.starts_with("${") && password.ends_with("}")) ||
                           (password.starts_with("{{") && password.ends_with("}}"));
    if (password.empty() || reference || looks_like_placeholder(password)) {
      return false;
    }
    add(mark, k_rule_literal,
        "literal secret " + where(field) + ": a URL with an inline password (" +
            std::string(s.substr(scheme_start, start - scheme_start)) +
            shorten(userinfo.substr(0, colon)) + ":" + std::string(k_ellipsis) + "@" +
            shorten(authority.substr(at_sign + 1)) + "); " + std::string(k_mend) +
            " (e.g. https://user:${secrets.NAME}@host)");
    return true;
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
            std::to_string(value.size()) + " characters, " + verdict + "); " + std::string(k_mend));
  }

  const std::string& m_path;
  std::vector<Diagnostic> m_out;
};

} // namespace

std::vector<Diagnostic> scan_secrets(const Value& document, const std::string& path) {
  Scanner scanner(path);
  scanner.walk(document, "", "");
  std::vector<Diagnostic> diagnostics = scanner.take();
  sort_diagnostics(diagnostics);
  return diagnostics;
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
