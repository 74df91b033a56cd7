#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "content/diagnostic.h"
#include "content/value.h"

namespace envflow::content {

// Literal secrets in a document. Every string scalar is checked for:
// private key blocks, well-known token formats (AWS `AKIA…`, GitHub `ghp_…`
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
// move the value to the secret store and write `${secrets.NAME}`.
std::vector<Diagnostic> scan_secrets(const Value& document, const std::string& path);

// Shannon entropy of `text` in bits per character.
double shannon_entropy(std::string_view text);

} // namespace envflow::content
