#include "core/context.h"

#include <cstdlib>
#include <filesystem>

#include "git/repo.h"
#include "util/error.h"

namespace envflow::core {

std::string resolve_actor(const std::string& explicit_actor, const git::Repository* repo) {
  if (!explicit_actor.empty()) {
    return explicit_actor;
  }
  if (const char* env = std::getenv("ENVFLOW_ACTOR"); env != nullptr && *env != '\0') {
    return env;
  }
  if (repo != nullptr) {
    if (auto email = repo->config_string("user.email"); email && !email->empty()) {
      return *email;
    }
  }
  throw util::UsageError("who is acting is unknown: pass --actor NAME, set ENVFLOW_ACTOR, or set "
                         "git config user.email");
}

std::string self_executable() {
  std::error_code ec;
  const auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("envflow") : path.string();
}

} // namespace envflow::core
