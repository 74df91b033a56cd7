#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "content/diagnostic.h"
#include "content/value.h"

namespace envflow::content {

// Literal secrets in a document. Every string scalar is checked for:
// private key blocks, well-known token formats (AWS `AKIA…`, GitHub `ghp_…`
// and `github_pat_…`, OpenAI `sk-…`, Slack `xox?-…`, Google `AIza…`, Stripe
// `sk_live_…`, JWTs) — rule "secret-literal"; and, in fields named like
// password / token / secret / api_key / private_key / client_secret, any
// long high-entropy literal that is not a `${secrets.NAME}` reference —
// rule "secret-literal". Malformed references (`${secret.X}`,
// `${secrets.}`, `${secrets.bad name}`) get rule "secret-reference".
// Messages say how to mend: move the value to the secret store and write
// `${secrets.NAME}`.
std::vector<Diagnostic> scan_secrets(const Value& document, const std::string& path);

// Shannon entropy of `text` in bits per character.
double shannon_entropy(std::string_view text);

} // namespace envflow::content
