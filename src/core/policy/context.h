#pragma once

#include <string>

namespace envflow::git {
class Repository;
}

namespace envflow::core::policy {

// Who is acting: `explicit_actor` (--actor), else $ENVFLOW_ACTOR, else git
// config envflow.actor, else git's user.email. Throws util::UsageError when none is known, or when it holds a
// control character (a line break would forge audit record fields).
std::string resolve_actor(const std::string& explicit_actor, const git::Repository* repo);

// Absolute path of the running envflow binary.
std::string self_executable();

} // namespace envflow::core::policy
