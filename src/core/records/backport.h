#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/model/refs.h"
#include "core/model/view.h"
#include "core/policy/config.h"
#include "core/workspace/diff.h"
#include "git/repo.h"

// Back-port tracking issues: one YAML file per issue, `<id>.yaml`, in the
// tree of the commit refs/envflow/backports points at. A hotfix opens one;
// it closes once every hotfix commit is reachable from the first
// environment's branch (`envflow backport apply`, or a merge made by hand).
namespace envflow::core::records {

// One item the hotfix changed, from the semantic diff between the
// production head it started from and the hotfix head.
struct BackportChange {
  std::string path;   // e.g. "agents/support.yaml"
  std::string kind;   // "Agent", ...
  std::string name;
  std::string change; // "added", "removed" or "changed"
  std::vector<std::string> fields; // changed items: dotted field paths ("tone", "model.temperature")
};

struct BackportIssue {
  enum class Status { open, closed };

  int id = 0;
  Status status = Status::open;
  std::string hotfix;      // the hotfix's name (branch hotfix/<name>)
  std::string hotfix_tag;  // "v1.0.1"
  std::vector<std::string> commits; // the hotfix commits, oldest first
  std::vector<BackportChange> changes;
  std::string summary;     // the hotfix message, or its last commit's summary
  std::string environment; // where the hotfix went (the last environment)
  std::string target;      // where it must come back (the first environment)
  std::string opened_by;
  std::int64_t opened_at = 0; // seconds since the epoch, UTC
  std::string closed_by;      // an actor, or "auto" when closed by reachability
  std::int64_t closed_at = 0; // 0 while open
  std::string closed_in;      // commit of the target that holds the hotfix; "" while open

  bool is_open() const { return status == Status::open; }
  // The file name on refs/envflow/backports: "<id>.yaml".
  std::string file_name() const;
  // The issue as the YAML file stored on refs/envflow/backports.
  std::string to_yaml() const;
  // The stable JSON form documented in docs/json.md, section "backport".
  nlohmann::json to_json() const;
  // The issue `json` describes, as to_json wrote it; nullopt when it is not
  // that form.
  static std::optional<BackportIssue> from_json(const nlohmann::json& json);
  // Parse a stored issue; `where` (e.g. "refs/envflow/backports:1.yaml")
  // prefixes diagnostics. Throws util::Refused
  // "where:line:col: error: ... [backport]" for a malformed record.
  static BackportIssue parse(const std::string& text, const std::string& where);
};

// "open" or "closed".
std::string status_name(BackportIssue::Status status);

// Every issue stored on refs/envflow/backports (as `pipeline` reads it), by
// id. Throws util::Refused naming file, line and column when one is malformed.
std::vector<BackportIssue> read_backports(const model::Pipeline& pipeline);
// Which issues a read returns: all, or only those stored as open (the
// closed ones skipped unread once the memo knows them: core/workspace/memo.h).
enum class BackportsRead { all, open };

// The issues stored at back-port commit `head` (none when nullopt);
// remembered by blob beside `cache` when there is one (model::Pipeline::cache).
std::vector<BackportIssue> read_backports_at(const git::Repository& repo,
                                             const content::ResultCache* cache,
                                             const std::optional<std::string>& head,
                                             BackportsRead which = BackportsRead::all);

// The commit the hotfix ended at: its tag's commit, else its newest commit.
std::string hotfix_head(const git::Repository& repo, const BackportIssue& issue);

// True when every hotfix commit of `issue` is reachable from `commit`.
bool contains_hotfix(const git::Repository& repo, const BackportIssue& issue,
                     const std::string& commit);

// Every issue with its effective status: an open issue whose hotfix commits
// are all reachable from the first environment's branch is reported closed
// (closed_by "auto", closed_in that head). Writes nothing.
std::vector<BackportIssue> effective_backports(const model::Pipeline& pipeline);
// The issues effective_backports calls open, for what needs only those
// (status, the back-port gate): the closed ones are not read, so the cost
// follows the open issues, not every issue ever opened.
std::vector<BackportIssue> open_backports(const model::Pipeline& pipeline);

// Which issues a listing shows, by their effective status.
enum class BackportState { open, closed, all };
// The issues of `state`, by id, as effective_backports reports them: the
// `limit` highest ids among them (all of them when nullopt). The open ones
// are read as open_backports reads them, so the default listing costs the
// same however many issues were ever closed.
std::vector<BackportIssue> list_backports(const model::Pipeline& pipeline, BackportState state,
                                          std::optional<std::size_t> limit);

// The open issues stored at `backports` whose hotfix commits are all
// reachable from `first_head`, closed (closed_by "auto"): what the server
// stores after a push brings a hotfix back by hand.
std::vector<BackportIssue> closed_by_reachability(const git::Repository& repo,
                                                  const content::ResultCache* cache,
                                                  const std::optional<std::string>& backports,
                                                  const std::optional<std::string>& first_head);

// "envflow sync dev, then envflow sync test, ...": how content goes on.
std::string sync_chain(const policy::PipelineConfig& config);

// The ref update that stores `changed` issues (added or replaced) on top of
// refs/envflow/backports as read at `old_head`: writes the blobs, tree and
// commit (authored by `actor`, `message`) but moves no reference.
git::RefUpdate stage_backports(git::Repository& repo, const std::optional<std::string>& old_head,
                               const std::vector<BackportIssue>& changed,
                               const std::string& message, const std::string& actor);

struct NotifyResult {
  bool ran = false;      // false when backport.notify is not configured
  bool ok = true;
  std::string command;
  std::string detail;    // why it failed: exit code and the end of its stderr
};

// Run backport.notify (if configured) with `issue` as JSON on its stdin, in
// the repository's working tree (or git dir when bare). Never throws for the
// command's own failure: that is reported in the result.
NotifyResult notify_backport(const git::Repository& repo, const policy::PipelineConfig& config,
                             const BackportIssue& issue);

// The issue `id`, or util::UsageError naming the ids that exist.
const BackportIssue& find_backport(const std::vector<BackportIssue>& issues, int id);

// For a refused promotion: lines naming the hotfix release and issue of
// each of `extra` (commits the target has and the source lacks) that is a
// hotfix commit; "" when none is.
std::string describe_hotfix_commits(const model::Pipeline& pipeline,
                                    const std::vector<std::string>& extra);

// What a promotion into the last environment from `from` to `to` (with
// `diff` their semantic diff) would undo of a hotfix: a field the hotfix
// changed (a whole file for added or removed items) still has the hotfix's
// value at `from` but another one at `to`, and no commit made after the
// hotfix came back into the first environment changed that field. One line
// per field, naming file and field; empty when nothing is undone.
std::vector<std::string> hotfix_undo_problems(const model::Pipeline& before,
                                              const std::string& from, const std::string& to,
                                              const workspace::SemanticDiff& diff);

} // namespace envflow::core::records
