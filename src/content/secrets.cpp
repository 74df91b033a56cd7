#include "content/secrets.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <set>

#include "content/secret_scan.h"
#include "content/summary.h"
#include "util/strings.h"

namespace envflow::content {

namespace secret_scan {

namespace {

constexpr std::string_view k_rule_reference = "secret-reference";
constexpr std::string_view k_mend =
    "store the value in the secret store and write ${secrets.NAME} in its place";

std::string where(const std::string& field) {
  return field.empty() ? std::string("at the top level") : "in '" + field + "'";
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

} // namespace

} // namespace secret_scan

std::vector<Diagnostic> scan_secrets(const Value& document, const std::string& path) {
  secret_scan::Scanner scanner(path);
  scanner.walk(document, "", "");
  std::vector<Diagnostic> diagnostics = scanner.take();
  sort_diagnostics(diagnostics);
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
