#include "core/policy/context.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "git/repo.h"
#include "util/error.h"

namespace envflow::core::policy {

namespace {

// `actor` (found in `source`), refused when it holds a control character: a
// line break would end the audit record's `actor:` line and start another
// field, and git cannot read back a commit author that has one.
std::string checked(std::string actor, const std::string& source) {
  const auto control = std::find_if(actor.begin(), actor.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
  if (control != actor.end()) {
    throw util::UsageError("the actor from " + source +
                           " holds a line break or another control character; name who is "
                           "acting with printable characters only (an email or a user name)");
  }
  return actor;
}

} // namespace

std::string resolve_actor(const std::string& explicit_actor, const git::Repository* repo) {
  if (!explicit_actor.empty()) {
    return checked(explicit_actor, "--actor");
  }
  if (const char* env = std::getenv("ENVFLOW_ACTOR"); env != nullptr && *env != '\0') {
    return checked(env, "ENVFLOW_ACTOR");
  }
  if (repo != nullptr) {
    if (auto name = repo->config_string("envflow.actor"); name && !name->empty()) {
      return checked(*name, "git config envflow.actor");
    }
    if (auto email = repo->config_string("user.email"); email && !email->empty()) {
      return checked(*email, "git config user.email");
    }
  }
  throw util::UsageError("who is acting is unknown: pass --actor NAME, set ENVFLOW_ACTOR, or set "
                         "git config envflow.actor (or user.email)");
}

std::string self_executable() {
  std::error_code ec;
  const auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("envflow") : path.string();
}

} // namespace envflow::core::policy
