#pragma once

#include <string>
#include <vector>

#include "core/backport.h"
#include "core/config.h"
#include "git/repo.h"

// Hotfixes: a branch `hotfix/<name>` from the last environment's head,
// finished by fast-forwarding the last environment to it, releasing it with
// a patch bump and a hotfix marker, and opening a back-port issue.
namespace envflow::core {

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
  bool resumed = false;  // the branch existed already (an earlier run stopped before checking it out)
};

// `envflow hotfix start NAME`: create branch hotfix/NAME at the last
// environment's head (audited, op `hotfix-start`) and check it out when the
// repository has a working tree. Refused when the branch exists, the name is
// not a valid ref component, or the working tree has uncommitted changes;
// except that a branch still at the last environment's head and not checked
// out (a run stopped before switching) is checked out: `resumed`.
HotfixStartResult start_hotfix(git::Repository& repo, const PipelineConfig& config,
                               const std::string& name, const std::string& actor);

struct HotfixFinishOptions {
  std::string name;     // "" = from the current branch hotfix/<name>
  std::string message;  // -m: text for the release tag and the issue
  bool no_sign = false;
  std::string actor;
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
  BackportIssue issue;               // the back-port issue opened
  NotifyResult notify;
  std::string worktree_note;         // what to do about the working tree, "" when nothing
};

// `envflow hotfix finish`: the actor must be a hotfixer; the hotfix branch
// must descend from the last environment's head by at least one commit and
// validate. In one compare-and-swap transaction with one audit record (op
// `hotfix`): the last environment fast-forwards to the hotfix head, the
// release tag (patch bump, hotfix marker) is created, live moves to it, and
// the back-port issue is stored. If anything fails, no ref has moved. Then
// backport.notify runs (its failure is reported in the result, not thrown).
// The hotfix branch is kept.
HotfixFinishResult finish_hotfix(git::Repository& repo, const PipelineConfig& config,
                                 const HotfixFinishOptions& options);

} // namespace envflow::core
