#pragma once

#include <string>
#include <vector>

#include "core/policy/config.h"
#include "core/records/backport.h"
#include "git/repo.h"

// Hotfixes: a branch `hotfix/<name>` from the last environment's head,
// finished by fast-forwarding the last environment to it, releasing it with
// a patch bump and a hotfix marker, and opening a back-port issue.
namespace envflow::core::pipeline {}

namespace envflow::core::pipeline {
class Session;
}

namespace envflow::core::release {

inline constexpr const char* k_hotfix_prefix = "hotfix/";

// True when `name` can follow "hotfix/" in a branch name and be printed in
// hints as it is: a letter or digit, then letters, digits, '.', '_' and '-'
// (so no character a shell, git's revision syntax or a terminal reads
// specially), at most 100 characters, and git's check-ref-format rules: no
// "..", not ending with '.' or ".lock".
bool valid_hotfix_name(const std::string& name);

struct HotfixStartResult {
  std::string name;
  std::string branch;  // "hotfix/<name>"
  std::string commit;  // the last environment's head it starts from
  bool checked_out = false;
  bool resumed = false;
  std::string from_note; // why it starts from the live release, not the head ("" when the same)  // the branch existed already (an earlier run stopped before checking it out)
};

// `envflow hotfix start NAME`: create branch hotfix/NAME at what end users
// get: the live release (the last environment's head, unless a rollback
// took live back from it), audited (op `hotfix-start`; in a clone pushed to
// the server too, and the branch made here), and check it out when the
// repository has a working tree. Refused when the branch exists, the name is
// not a valid ref component, or the working tree has uncommitted changes;
// except that a branch still at the last environment's head and not checked
// out (a run stopped before switching) is checked out: `resumed`.
HotfixStartResult start_hotfix(pipeline::Session& session, const std::string& name);

struct HotfixFinishOptions {
  std::string name;     // "" = from the current branch hotfix/<name>
  std::string message;  // -m: text for the release tag and the issue
  bool no_sign = false;
};

struct HotfixFinishResult {
  std::string name;
  std::string branch;
  std::string environment;           // the last environment
  std::string previous_head;         // its head before
  std::string commit;                // its head now (the hotfix head)
  std::vector<std::string> commits;  // the hotfix commits, oldest first
  std::string tag;                   // "v1.0.1"
  std::string previous_live;         // tag name, "" when none
  std::string notes;
  records::BackportIssue issue; // the back-port issue opened
  records::NotifyResult notify;
  std::string worktree_note;
  std::string from_note;             // as HotfixStartResult::from_note         // what to do about the working tree, "" when nothing
};

// `envflow hotfix finish`: the hotfix branch (this clone's) must descend from
// where a hotfix starts (see start_hotfix) by at least one commit; the
// rulebook judges the rest (a hotfixer, content, overrides, approvals the
// policy asks for hotfixes). One operation (op `hotfix`): the last
// environment moves to the hotfix head, the
// release tag (patch bump, hotfix marker) is created, live moves to it, and
// the back-port issue is stored. If anything fails, no ref has moved. Then
// backport.notify runs (its failure is reported in the result, not thrown).
// The hotfix branch is kept.
HotfixFinishResult finish_hotfix(pipeline::Session& session, const HotfixFinishOptions& options);

} // namespace envflow::core::release
