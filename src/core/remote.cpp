#include "core/remote.h"

#include <algorithm>
#include <set>

#include "core/backport.h"
#include "core/config.h"
#include "core/release.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/process.h"
#include "util/strings.h"

namespace envflow::core {

namespace {

constexpr const char* k_mirror_root = "refs/envflow-remote/";
// The namespaces a --push run mirrors and may push; the first part of each
// name after "refs/".
constexpr std::string_view k_namespaces[] = {"heads/", "envflow/", "tags/"};
// At most this many commits are named in a conflict message.
constexpr size_t k_listed = 3;

std::string short_id(const std::string& id) { return id.substr(0, 7); }

std::string mirror_prefix(const std::string& remote) {
  return std::string(k_mirror_root) + remote + "/";
}

std::string repo_dir(const git::Repository& repo) {
  return repo.is_bare() ? repo.git_dir() : repo.workdir();
}

util::ProcessResult run_git(const git::Repository& repo, std::vector<std::string> args) {
  args.insert(args.begin(), "git");
  return util::run_process(args, "", repo_dir(repo));
}

void require_remote(const git::Repository& repo, const std::string& remote) {
  if (run_git(repo, {"remote", "get-url", remote}).exit_code != 0) {
    const auto listed = run_git(repo, {"remote"});
    std::string known = util::join(util::split(std::string(util::trim(listed.out)), '\n'), ", ");
    throw util::IoError("no remote named '" + remote + "' in this clone (remotes: " +
                        (known.empty() ? std::string("none") : known) +
                        "); add it with git remote add " + remote + " URL, or pass --remote NAME");
  }
}

// Fetch the remote's refs into the mirror. --refmap= keeps git from also
// updating refs through the configured fetch refspecs (it would fast-forward
// or reject local refs/envflow/* on its own); --no-tags keeps it from
// creating local tags: begin_push decides about both.
void fetch_mirror(const git::Repository& repo, const std::string& remote) {
  std::vector<std::string> args{"fetch",   "--quiet",  "--no-tags", "--prune",
                                "--no-write-fetch-head", "--refmap=", remote};
  for (const auto& spec : mirror_refspecs(remote)) {
    args.push_back(spec);
  }
  const auto fetch = run_git(repo, args);
  if (fetch.exit_code != 0) {
    throw util::IoError("git fetch " + remote + " failed: " + std::string(util::trim(fetch.err)));
  }
}

// Every local ref a --push run measures its moves against.
RefValues local_refs(const git::Repository& repo) {
  RefValues values;
  for (const auto space : k_namespaces) {
    for (const auto& name : repo.list_refs("refs/" + std::string(space) + "*")) {
      if (auto id = repo.ref_target(name)) {
        values.emplace(name, std::move(*id));
      }
    }
  }
  return values;
}

// The remote's refs as the last fetch left them in the mirror, by their names there.
RefValues remote_refs(const git::Repository& repo, const std::string& remote) {
  const std::string prefix = mirror_prefix(remote);
  RefValues values;
  for (const auto& name : repo.list_refs(prefix + "*")) {
    if (auto id = repo.ref_target(name)) {
      values.emplace("refs/" + name.substr(prefix.size()), std::move(*id));
    }
  }
  return values;
}

bool is_release_tag(const std::string& ref) {
  const std::string_view prefix = "refs/tags/v";
  return util::starts_with(ref, prefix) &&
         Version::parse(std::string_view(ref).substr(std::string_view("refs/tags/").size()));
}

// The refs begin_push aligns: environment branches, refs/envflow/*, release tags.
RefValues managed(const RefValues& all, const std::set<std::string>& branches) {
  RefValues out;
  for (const auto& [ref, id] : all) {
    if (util::starts_with(ref, "refs/envflow/") || is_release_tag(ref) ||
        (util::starts_with(ref, "refs/heads/") && branches.count(ref) > 0)) {
      out.emplace(ref, id);
    }
  }
  return out;
}

std::string commit_line(const git::Repository& repo, const std::string& id) {
  return short_id(id) + " \"" + repo.commit(id).summary + "\"";
}

// "2 commits origin lacks (newest first: a1b2c3d "…", 9f8e7d6 "…")".
std::string commits_text(const git::Repository& repo, const std::vector<std::string>& ids,
                         const std::string& lacking) {
  std::string text = std::to_string(ids.size()) + " commit" + (ids.size() == 1 ? "" : "s") +
                     " " + lacking + " lacks (newest first: ";
  for (size_t i = 0; i < ids.size() && i < k_listed; ++i) {
    text += (i > 0 ? ", " : "") + commit_line(repo, ids[i]);
  }
  if (ids.size() > k_listed) {
    text += ", …";
  }
  return text + ")";
}

std::string describe_conflict(const git::Repository& repo, const std::string& remote,
                              const AlignConflict& conflict, const RefValues& local,
                              const RefValues& theirs) {
  const std::string& ref = conflict.ref;
  const std::string mine = local.at(ref);
  switch (conflict.kind) {
  case AlignConflict::Kind::local_only:
    return ref + " exists here but not on " + remote + ": push it first (git push " + remote +
           " " + ref + "), or delete it (git update-ref -d " + ref + ")";
  case AlignConflict::Kind::ahead:
    return ref + " has " + commits_text(repo, repo.commits_between(theirs.at(ref), mine), remote) +
           ": push them first (git push " + remote + " " + ref + "), or drop them (git update-ref " +
           ref + " " + theirs.at(ref) + ")";
  case AlignConflict::Kind::diverged:
    break;
  }
  const std::string& other = theirs.at(ref);
  if (util::starts_with(ref, "refs/tags/")) {
    return ref + " here (" + short_id(mine) + ") is not " + remote + "'s (" + short_id(other) +
           "), and release tags never move: delete the local one (git tag -d " +
           ref.substr(std::string("refs/tags/").size()) + ") and run it again";
  }
  return ref + " and " + remote + "'s have diverged: this clone has " +
         commits_text(repo, repo.commits_between(other, mine), remote) + ", " + remote + " has " +
         std::to_string(repo.commits_between(mine, other).size()) +
         " this clone lacks; keep yours elsewhere (git branch kept-" +
         ref.substr(ref.rfind('/') + 1) + " " + mine + ") and take " + remote + "'s (git update-ref " +
         ref + " " + other + ")";
}

// Move `moves` (old: the value now, "" = absent; new: the value wanted, "" =
// delete) on local refs, the checked-out branch's working tree and index
// with them. Returns notes about what could not be done.
// After a failed ref update: put the checked-out branch's files back at its
// old head (the checkout to the new one already happened). Best effort.
void undo_checkout(git::Repository& repo, const std::vector<RefMove>& moves) {
  if (repo.is_bare() || repo.head_unborn()) {
    return;
  }
  const std::string head_ref = "refs/heads/" + repo.head_branch();
  for (const auto& move : moves) {
    if (move.ref == head_ref && !move.old_id.empty() && !move.new_id.empty()) {
      try {
        repo.checkout_commit_over(move.old_id, move.new_id);
      } catch (const std::exception&) {
        // The error being thrown says what failed; git status shows the rest.
      }
    }
  }
}

std::vector<std::string> reset_refs(git::Repository& repo, const std::vector<RefMove>& moves,
                                    const std::string& why) {
  std::vector<std::string> notes;
  const std::string head = repo.is_bare() ? "" : repo.head_branch();
  const std::string head_ref = head.empty() ? "" : "refs/heads/" + head;
  std::vector<git::RefUpdate> updates;
  for (const auto& move : moves) {
    if (move.old_id == move.new_id) {
      continue;
    }
    if (move.ref == head_ref) {
      if (move.new_id.empty()) {
        notes.push_back("kept " + move.ref + ": it is checked out");
        continue;
      }
      if (!move.old_id.empty()) {
        const std::string note = update_checked_out(repo, head, move.old_id, move.new_id);
        if (!note.empty()) {
          notes.push_back(note);
        }
      }
    }
    auto as_optional = [](const std::string& id) {
      return id.empty() ? std::nullopt : std::optional<std::string>(id);
    };
    updates.push_back(git::RefUpdate{move.ref, as_optional(move.old_id), as_optional(move.new_id)});
  }
  if (!updates.empty()) {
    try {
      repo.update_refs(updates, why);
    } catch (...) {
      undo_checkout(repo, moves);
      throw;
    }
  }
  return notes;
}

std::vector<std::string> names_of(const std::vector<RefMove>& moves) {
  std::vector<std::string> names;
  for (const auto& move : moves) {
    names.push_back(move.ref);
  }
  return names;
}

} // namespace

std::string mirror_ref(const std::string& remote, const std::string& ref) {
  for (const auto space : k_namespaces) {
    if (util::starts_with(ref, "refs/" + std::string(space))) {
      return mirror_prefix(remote) + ref.substr(5);
    }
  }
  return {};
}

std::vector<std::string> mirror_refspecs(const std::string& remote) {
  std::vector<std::string> specs;
  for (const auto space : k_namespaces) {
    specs.push_back("+refs/" + std::string(space) + "*:" + mirror_prefix(remote) +
                    std::string(space) + "*");
  }
  return specs;
}

std::vector<RefMove> moved_refs(const RefValues& before, const RefValues& after) {
  std::vector<RefMove> moves;
  for (const auto& [ref, id] : before) {
    const auto now = after.find(ref);
    if (now == after.end()) {
      moves.push_back(RefMove{ref, id, ""});
    } else if (now->second != id) {
      moves.push_back(RefMove{ref, id, now->second});
    }
  }
  for (const auto& [ref, id] : after) {
    if (before.count(ref) == 0) {
      moves.push_back(RefMove{ref, "", id});
    }
  }
  std::sort(moves.begin(), moves.end(),
            [](const RefMove& a, const RefMove& b) { return a.ref < b.ref; });
  return moves;
}

std::vector<std::string> push_command(const std::string& remote,
                                      const std::vector<RefMove>& moves) {
  std::vector<std::string> argv{"git", "push", "--atomic", "--porcelain", remote};
  for (const auto& move : moves) {
    argv.push_back("--force-with-lease=" + move.ref + ":" + move.old_id);
  }
  for (const auto& move : moves) {
    argv.push_back(move.new_id + ":" + move.ref);
  }
  return argv;
}

std::vector<PushStatus> parse_push_porcelain(const std::string& out) {
  std::vector<PushStatus> statuses;
  for (const auto& line : util::split(out, '\n')) {
    if (line.size() < 3 || line[1] != '\t' ||
        std::string_view(" +-*=!").find(line[0]) == std::string_view::npos) {
      continue;
    }
    const auto fields = util::split(std::string_view(line).substr(2), '\t');
    if (fields.size() < 2) {
      continue;
    }
    PushStatus status;
    status.flag = line[0];
    const size_t colon = fields[0].find(':');
    status.from = fields[0].substr(0, colon);
    status.to = colon == std::string::npos ? fields[0] : fields[0].substr(colon + 1);
    std::string summary = fields[1];
    while (!summary.empty() && (summary.back() == '\r' || summary.back() == ' ')) {
      summary.pop_back();
    }
    const size_t open = summary.rfind(" (");
    if (!summary.empty() && summary.back() == ')' && open != std::string::npos) {
      status.reason = summary.substr(open + 2, summary.size() - open - 3);
      summary.resize(open);
    }
    status.summary = summary;
    statuses.push_back(std::move(status));
  }
  return statuses;
}

std::vector<std::string> remote_lines(const std::string& err) {
  std::vector<std::string> lines;
  for (auto line : util::split(err, '\n')) {
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r' || line.back() == '\t')) {
      line.pop_back();
    }
    // Progress output is redrawn with carriage returns: keep the last state.
    if (const size_t cr = line.rfind('\r'); cr != std::string::npos) {
      line.erase(0, cr + 1);
    }
    if (util::starts_with(line, "remote:") && !util::trim(line.substr(7)).empty()) {
      lines.push_back(line);
    }
  }
  return lines;
}

std::string describe_refusal(const std::string& remote, const std::vector<PushStatus>& statuses,
                             const std::vector<std::string>& remote_said) {
  std::vector<std::string> lines;
  std::vector<std::string> declined;
  std::vector<std::string> unapplied;
  std::string declined_by;
  bool any_rejected = false;
  for (const auto& status : statuses) {
    if (!status.rejected()) {
      continue;
    }
    any_rejected = true;
    const std::string& reason = status.reason;
    if (reason == "atomic push failed") {
      continue; // rejected only because another ref of the same push was
    }
    if (reason == "stale info") {
      lines.push_back(status.to + ": " + remote +
                      " moved it since this run fetched it: another push got there first; "
                      "run the command again");
    } else if (util::ends_with(reason, "hook declined")) {
      declined.push_back(status.to);
      declined_by = reason.substr(0, reason.size() - std::string(" declined").size());
    } else if (reason == "atomic transaction failed") {
      unapplied.push_back(status.to);
    } else if (reason.find("failed to update ref") != std::string::npos ||
               reason.find("cannot lock ref") != std::string::npos ||
               reason.find("incorrect old value") != std::string::npos) {
      lines.push_back(status.to + ": " + remote +
                      " moved it while this push was under way: another push got there first; "
                      "run the command again (" + reason + ")");
    } else {
      lines.push_back(status.to + ": " + status.summary +
                      (reason.empty() ? std::string() : " (" + reason + ")"));
    }
  }
  if (!unapplied.empty()) {
    // The server's own compare-and-swap: git names the ref that had moved in
    // a `remote: error: cannot lock ref '…': is at … but expected …` line.
    const bool raced = std::any_of(remote_said.begin(), remote_said.end(), [](const auto& line) {
      return line.find("but expected") != std::string::npos;
    });
    lines.push_back(remote + " could not apply the push (" + util::join(unapplied, ", ") + ")" +
                    (raced ? ": a ref moved there while this push was under way, another push "
                             "got there first; run the command again"
                           : ""));
  }
  if (!declined.empty()) {
    lines.push_back(remote + "'s " + declined_by + " declined the push (" +
                    util::join(declined, ", ") + ")" +
                    (remote_said.empty() ? std::string() : "; it said:"));
  }
  if (lines.empty() && any_rejected) {
    lines.push_back("the atomic push failed");
  }
  std::string text;
  for (const auto& line : lines) {
    text += "\n  " + line;
  }
  for (const auto& line : remote_said) {
    text += "\n" + line;
  }
  return text;
}

AlignPlan plan_alignment(
    const RefValues& local, const RefValues& remote,
    const std::function<Relation(const std::string& ref, const std::string& local_id,
                                 const std::string& remote_id)>& relate) {
  AlignPlan plan;
  for (const auto& [ref, id] : remote) {
    const auto mine = local.find(ref);
    if (mine == local.end()) {
      plan.moves.push_back(RefMove{ref, "", id});
      continue;
    }
    if (mine->second == id) {
      continue;
    }
    switch (relate(ref, mine->second, id)) {
    case Relation::behind:
      plan.moves.push_back(RefMove{ref, mine->second, id});
      break;
    case Relation::ahead:
      plan.conflicts.push_back(AlignConflict{AlignConflict::Kind::ahead, ref});
      break;
    case Relation::diverged:
      plan.conflicts.push_back(AlignConflict{AlignConflict::Kind::diverged, ref});
      break;
    }
  }
  for (const auto& [ref, id] : local) {
    if (remote.count(ref) == 0) {
      plan.conflicts.push_back(AlignConflict{AlignConflict::Kind::local_only, ref});
    }
  }
  return plan;
}

PushSession begin_push(git::Repository& repo, const std::string& remote) {
  require_remote(repo, remote);
  fetch_mirror(repo, remote);
  PushSession session;
  session.remote = remote;
  const RefValues theirs_all = remote_refs(repo, remote);
  const auto config_id = theirs_all.find(k_config_ref);
  if (config_id == theirs_all.end()) {
    throw util::Refused(remote + " has no " + std::string(k_config_ref) +
                        ": it is not an envflow repository yet (seed it from a repository made "
                        "by envflow init: git push " + remote +
                        " --all && git push " + remote + " 'refs/envflow/*:refs/envflow/*')");
  }
  const auto config = load_config(repo, config_id->second);
  if (!config) {
    throw util::Refused("cannot read " + remote + "'s " + std::string(k_config_ref));
  }
  std::set<std::string> branches;
  for (const auto& env : config->environments) {
    branches.insert("refs/heads/" + env.branch);
  }
  const RefValues mine = managed(local_refs(repo), branches);
  const RefValues theirs = managed(theirs_all, branches);
  const AlignPlan plan =
      plan_alignment(mine, theirs, [&repo](const std::string& ref, const std::string& local_id,
                                           const std::string& remote_id) {
        if (util::starts_with(ref, "refs/tags/")) {
          return Relation::diverged; // a release tag never moves
        }
        if (repo.tag(local_id) || repo.tag(remote_id)) {
          return Relation::behind; // a pointer (live): the remote's is the truth
        }
        if (repo.is_ancestor(local_id, remote_id)) {
          return Relation::behind;
        }
        return repo.is_ancestor(remote_id, local_id) ? Relation::ahead : Relation::diverged;
      });
  if (!plan.conflicts.empty()) {
    std::string message = "this clone holds work " + remote +
                          " lacks, which --push would lose; nothing was changed:";
    for (const auto& conflict : plan.conflicts) {
      message += "\n  " + describe_conflict(repo, remote, conflict, mine, theirs);
    }
    throw util::Refused(message);
  }
  // The checked-out branch: its working tree and index move with it, safely
  // (local changes that the remote's commits touch stop everything here).
  if (!repo.is_bare() && !repo.head_unborn()) {
    const std::string head_ref = "refs/heads/" + repo.head_branch();
    for (const auto& move : plan.moves) {
      if (move.ref != head_ref || move.old_id.empty()) {
        continue;
      }
      try {
        repo.checkout_commit_over(move.new_id, move.old_id);
      } catch (const util::Error& e) {
        throw util::Refused(move.ref + " is checked out and behind " + remote + "'s; bringing "
                            "the working tree up to date failed (" + std::string(e.what()) +
                            "): commit or stash your changes and run it again");
      }
    }
  }
  std::vector<git::RefUpdate> updates;
  for (const auto& move : plan.moves) {
    updates.push_back(git::RefUpdate{
        move.ref, move.old_id.empty() ? std::nullopt : std::optional<std::string>(move.old_id),
        move.new_id});
  }
  if (!updates.empty()) {
    try {
      repo.update_refs(updates, "envflow: align with " + remote);
    } catch (...) {
      undo_checkout(repo, plan.moves); // the files must not run ahead of the branch
      throw;
    }
  }
  session.aligned = plan.moves;
  session.before = local_refs(repo);
  session.head_branch = repo.is_bare() || repo.head_unborn() ? "" : repo.head_branch();
  for (const auto* values : {&mine, &theirs}) {
    for (const auto& [ref, id] : *values) {
      session.managed.insert(ref);
    }
  }
  for (const auto& branch : branches) {
    session.managed.insert(branch);
  }
  return session;
}

PushOutcome finish_push(git::Repository& repo, const PushSession& session) {
  PushOutcome outcome;
  outcome.remote = session.remote;
  const std::vector<RefMove> moves = moved_refs(session.before, local_refs(repo));
  if (moves.empty()) {
    return outcome;
  }
  // A ref this run created outside what begin_push aligns (a hotfix branch)
  // that the remote already has: someone else's, never to be taken over.
  {
    const RefValues theirs = remote_refs(repo, session.remote);
    for (const auto& move : moves) {
      if (move.old_id.empty() && session.managed.count(move.ref) == 0 &&
          theirs.count(move.ref) > 0) {
        const auto undone = abandon_push(repo, session);
        throw util::Refused(move.ref + " already exists on " + session.remote +
                            " (someone else's): pick another name; nothing was pushed, and this "
                            "run's local moves were undone (" + util::join(undone, ", ") + ")");
      }
    }
  }
  const auto push = util::run_process(push_command(session.remote, moves), "", repo_dir(repo));
  const std::vector<PushStatus> statuses = parse_push_porcelain(push.out);
  const bool rejected = std::any_of(statuses.begin(), statuses.end(),
                                    [](const PushStatus& s) { return s.rejected(); });
  if (push.exit_code == 0 && !statuses.empty() && !rejected) {
    outcome.pushed = moves;
    outcome.remote_said = remote_lines(push.err);
    return outcome;
  }

  // Refused: the clone goes back to what the remote holds now, for the refs
  // this run moved (and only those).
  std::string undo = "\nthis run's local moves were undone: ";
  std::vector<RefMove> resets;
  bool fetched = true;
  try {
    fetch_mirror(repo, session.remote);
  } catch (const util::Error&) {
    fetched = false;
  }
  const RefValues theirs = remote_refs(repo, session.remote);
  if (fetched && !rejected &&
      std::all_of(moves.begin(), moves.end(), [&theirs](const RefMove& move) {
        const auto it = theirs.find(move.ref);
        return move.new_id.empty() ? it == theirs.end()
                                   : it != theirs.end() && it->second == move.new_id;
      })) {
    // git gave no clear answer (the connection dropped after the server
    // applied the push, say), but the remote holds every new value: it landed.
    outcome.pushed = moves;
    outcome.remote_said = remote_lines(push.err);
    return outcome;
  }
  for (const auto& move : moves) {
    std::string target = move.old_id;
    // Refs begin_push aligned go back to the remote's values; any other ref
    // (a hotfix branch this run made) goes back to where this run found it.
    if (fetched && session.managed.count(move.ref) > 0) {
      const auto it = theirs.find(move.ref);
      target = it == theirs.end() ? "" : it->second;
    }
    resets.push_back(RefMove{move.ref, move.new_id, target});
  }
  std::vector<std::string> notes;
  try {
    notes = reset_refs(repo, resets, "envflow: " + session.remote + " refused the push");
    undo += util::join(names_of(moves), ", ") + (fetched ? " are at " + session.remote +
                                                              "'s values again"
                                                        : " are back where this run found them "
                                                          "(fetching " + session.remote +
                                                              " again failed)");
  } catch (const std::exception& e) {
    undo = "\nundoing this run's local moves failed (" + std::string(e.what()) +
           "): run envflow doctor, or clone again";
  }
  for (const auto& note : notes) {
    undo += "\n" + note;
  }
  if (rejected) {
    throw util::Refused(session.remote + " refused the push; nothing was pushed:" +
                        describe_refusal(session.remote, statuses, remote_lines(push.err)) +
                        undo);
  }
  std::string said = std::string(util::trim(push.err));
  throw util::IoError("git push " + session.remote + " failed" +
                      (said.empty() ? std::string() : ": " + said) + undo);
}

std::vector<std::string> abandon_push(git::Repository& repo, const PushSession& session) {
  // The command switched branches (hotfix start): back to the branch it
  // started on, so the branch it made can go.
  if (!repo.is_bare() && !session.head_branch.empty() &&
      repo.head_branch() != session.head_branch &&
      repo.ref_target("refs/heads/" + session.head_branch)) {
    try {
      repo.checkout_branch(session.head_branch);
    } catch (const std::exception&) {
      // reset_refs keeps the checked-out branch and says so
    }
  }
  std::vector<RefMove> resets;
  for (const auto& move : moved_refs(session.before, local_refs(repo))) {
    resets.push_back(RefMove{move.ref, move.new_id, move.old_id});
  }
  reset_refs(repo, resets, "envflow: undo, the command failed");
  return names_of(resets);
}

} // namespace envflow::core
