#pragma once

#include <span>
#include <string_view>

namespace envflow::content {

// Where a kind of content may live.
enum class Scope { promoted, local };

struct KindInfo {
  std::string_view kind;   // value of the `kind` field, e.g. "Agent"
  std::string_view folder; // top-level folder, e.g. "agents"
  std::string_view schema; // schema name: schemas/<schema>.schema.json
  Scope scope;
};

// Every content kind, in a stable order (promoted first, then local).
std::span<const KindInfo> kinds();
const KindInfo* kind_by_folder(std::string_view folder);
const KindInfo* kind_by_name(std::string_view kind);

// The workspace descriptor at the root: `workspace.yaml`, kind "Workspace".
inline constexpr std::string_view k_workspace_file = "workspace.yaml";

// Top-level folders holding runtime data that never belongs in the
// repository (conversation history, analytics, issues, secrets). Returns
// the reason to show, or "" when `folder` is not one of them.
std::string_view runtime_folder_reason(std::string_view folder);

// The folders runtime_folder_reason names, in a stable order.
std::span<const std::string_view> runtime_folders();

// True when `path` ends in `.yaml` or `.yml`, the names a content file has.
bool is_yaml_name(std::string_view path);

} // namespace envflow::content
