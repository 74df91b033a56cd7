#pragma once

#include <string>

#include "core/records/backport.h"

// `envflow backport apply`: bringing a hotfix back into the first environment
// by a merge, closing its back-port issue (core/records/backport.h) in the
// same operation.
namespace envflow::core::pipeline {
class Session;
}

namespace envflow::core::release {

struct BackportApplyResult {
  records::BackportIssue issue; // as it is now
  bool already = false;         // it was closed before: nothing written
  std::string branch;           // the first environment's branch
  std::string previous_head;
  std::string merge_commit;     // "" when already
  bool worktree_updated = false;
  std::string worktree_note;    // what the user should do about the working tree, "" when nothing
};

// `envflow backport apply ID`: three-way merge of the hotfix head into the
// first environment's head (a merge commit with parents [head, hotfix head]);
// conflicts are refused listing each file; then the branch moves and the
// issue closes in one operation, judged by the rulebook (the merged content
// must validate). Nothing is written on refusal. The checked-out first
// branch follows when this clone's branch moved.
BackportApplyResult apply_backport(pipeline::Session& session, int id);

} // namespace envflow::core::release
