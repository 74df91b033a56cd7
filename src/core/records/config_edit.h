#pragma once

#include <optional>
#include <string>

namespace envflow::core::pipeline {
class Session;
}

namespace envflow::core::records {

// The envflow.yaml text at refs/envflow/config as the session reads it
// (throws util::Refused when absent).
std::string config_text(const pipeline::Session& session);

// Where `envflow config edit` keeps the text being edited, so that it
// survives the editor and a refusal: <git dir>/envflow/envflow.yaml.edit.
// Makes its folder.
std::string config_edit_file(const pipeline::Session& session);

// Replace envflow.yaml with `text`, one operation the rulebook judges
// (admins only; the new policy must parse and validate, with the problems at
// file:line:col). Returns false when unchanged. `expected` is the config
// commit the edit started from: when given, an edit made by someone else
// meanwhile is a refusal instead of being silently overwritten.
bool write_config(pipeline::Session& session, const std::string& text,
                  const std::optional<std::string>& expected = std::nullopt);

// Store `data` as file `name` on refs/envflow/config (e.g. the release
// allowed-signers file the policy names): as write_config. Returns false
// when unchanged.
bool put_config_file(pipeline::Session& session, const std::string& name, const std::string& data);

} // namespace envflow::core::records
