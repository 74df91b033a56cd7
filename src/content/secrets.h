#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "content/diagnostic.h"
#include "content/value.h"

namespace envflow::content {

// Literal secrets in a document. Every string scalar is checked for:
// private key blocks (a BEGIN … PRIVATE KEY header and a base64 body),
// well-known token formats (AWS `AKIA…`, GitHub `ghp_…`
// and `github_pat_…`, OpenAI `sk-…`, Anthropic, Slack `xox?-…`, Google
// `AIza…`, Stripe `sk_live_…`, JWTs) and URLs with inline passwords — rule
// "secret-literal". In fields whose key names a secret (password, token,
// secret, api_key, private_key, client_secret, credential, … judged by the
// key's last word, so `max_tokens` or `secret_name` are not), every literal
// other than a `${secrets.NAME}` reference or a `{{ … }}` template is
// refused; entropy only decides whether the message calls it a likely real
// secret or a placeholder. Malformed references (`${secret.X}`,
// `${secrets.}`, `${secrets.bad name}`) get rule "secret-reference".
// Messages show at most four characters of a finding and say how to mend:
// move the value to the secret store and write `${secrets.NAME}`. Each
// "secret-literal" finding carries its fingerprint (Diagnostic::fingerprint,
// also in the message).
std::vector<Diagnostic> scan_secrets(const Value& document, const std::string& path);

// Literal secrets in any text (a knowledge document, a README, the raw text
// of a YAML file with its comments), located at line:column (columns count
// bytes): the formats scan_secrets finds, and a secret-named key assigned a
// value that looks like a real secret (`password = …`, `"api_key": "…"`,
// `--token=…`, `DB_PASSWORD: …`; prose and code such as `password: see the
// vault` or `token = get_token()` are not). Rule "secret-literal", with
// fingerprints.
std::vector<Diagnostic> scan_text_secrets(std::string_view text, const std::string& path);

// Both scans of one file: `document` (null for a file that is not YAML
// content) by scan_secrets, `text` by scan_text_secrets; a text finding with
// the fingerprint of a document finding is the same secret and is dropped.
// Sorted.
std::vector<Diagnostic> scan_file_secrets(std::string_view text, const Value* document,
                                          const std::string& path);

// Digits of a fingerprint.
inline constexpr std::size_t k_fingerprint_digits = 16;

// The fingerprint of a literal secret: the first k_fingerprint_digits hex
// digits of the SHA-1 of `kind` ("private-key", "token", "url-password",
// "secret-value") and `text` (the key's label and base64 body, the token, the
// password, the value). It names the secret wherever it appears, and does not
// reveal it unless it is short enough to guess.
std::string secret_fingerprint(std::string_view kind, std::string_view text);

// Shannon entropy of `text` in bits per character.
double shannon_entropy(std::string_view text);

} // namespace envflow::content
