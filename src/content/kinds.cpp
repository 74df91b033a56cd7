#include "content/kinds.h"

#include <array>

namespace envflow::content {

namespace {

constexpr std::array k_kinds{
    KindInfo{"Agent", "agents", "agent", Scope::promoted},
    KindInfo{"Workflow", "workflows", "workflow", Scope::promoted},
    KindInfo{"KnowledgeBase", "knowledge", "knowledge", Scope::promoted},
    KindInfo{"Integration", "integrations", "integration", Scope::promoted},
    KindInfo{"Channel", "channels", "channel", Scope::promoted},
    KindInfo{"Variable", "variables", "variable", Scope::promoted},
    KindInfo{"Guardrail", "guardrails", "guardrail", Scope::local},
    KindInfo{"Evaluator", "evaluators", "evaluator", Scope::local},
};

constexpr std::array<std::string_view, 5> k_runtime_folders{"conversations", "history",
                                                           "analytics", "issues", "secrets"};

} // namespace

std::span<const std::string_view> runtime_folders() { return k_runtime_folders; }

std::span<const KindInfo> kinds() { return k_kinds; }

const KindInfo* kind_by_folder(std::string_view folder) {
  for (const auto& info : k_kinds) {
    if (info.folder == folder) {
      return &info;
    }
  }
  return nullptr;
}

const KindInfo* kind_by_name(std::string_view kind) {
  for (const auto& info : k_kinds) {
    if (info.kind == kind) {
      return &info;
    }
  }
  return nullptr;
}

std::string_view runtime_folder_reason(std::string_view folder) {
  if (folder == "conversations" || folder == "history") {
    return "conversation history is runtime data of the deployed workspace and is never promoted; "
           "remove it from the repository";
  }
  if (folder == "analytics") {
    return "analytics are runtime data of the deployed workspace and are never promoted; remove "
           "them from the repository";
  }
  if (folder == "issues") {
    return "issues are runtime data of the deployed workspace and are never promoted; remove them "
           "from the repository";
  }
  if (folder == "secrets") {
    return "secrets live in the runtime's secret store and are referenced as ${secrets.NAME}; "
           "remove them from the repository";
  }
  return {};
}

bool is_yaml_name(std::string_view path) {
  return path.ends_with(".yaml") || path.ends_with(".yml");
}

} // namespace envflow::content
