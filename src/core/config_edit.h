#pragma once

#include <optional>
#include <string>

namespace envflow::git {
class Repository;
}

namespace envflow::core {

// The envflow.yaml text at refs/envflow/config (throws util::Refused when absent).
std::string config_text(const git::Repository& repo);

// Replace envflow.yaml with `text`: only admins (per the config in force);
// the new text must validate; committed on refs/envflow/config
// compare-and-swap with an audit record. Returns false when unchanged.
// `expected` is the config commit the edit started from (see
// config_head): when given, an edit made by someone else meanwhile is a
// refusal instead of being silently overwritten.
bool write_config(git::Repository& repo, const std::string& text, const std::string& actor,
                  const std::optional<std::string>& expected = std::nullopt);

// Store `data` as file `name` on refs/envflow/config (e.g. the release
// allowed-signers file or keyring the policy names): admins only, audited,
// compare-and-swap. Returns false when unchanged.
bool put_config_file(git::Repository& repo, const std::string& name, const std::string& data,
                     const std::string& actor);

} // namespace envflow::core
