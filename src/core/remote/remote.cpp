#include "core/remote/remote.h"

#include <algorithm>
#include <filesystem>

#include <sys/stat.h>

#include "core/model/refs.h"
#include "core/model/view.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/process.h"
#include "util/strings.h"
#include "util/time.h"

namespace envflow::core::remote {

namespace {

// Push options are one line each and bounded (git refuses newlines in them).
constexpr size_t k_max_option = 1000;

util::ProcessResult run_git(const git::Repository& repo, std::vector<std::string> args) {
  args.insert(args.begin(), "git");
  return util::run_process(args, "", repo.root());
}

std::string push_option_text(const std::string& text) {
  std::string out;
  for (const char c : text) {
    out += (c == '\n' || c == '\r' || c == '\0') ? ' ' : c;
  }
  return out.size() > k_max_option ? out.substr(0, k_max_option) : out;
}

std::string id_or_empty(const std::string& id) { return model::is_zero(id) ? std::string() : id; }

} // namespace

std::vector<std::string> view_refspecs(const std::string& remote) {
  return {"+refs/heads/*:refs/remotes/" + remote + "/*",
          "+refs/envflow/*:" + model::RemoteRefs::tracking_name(remote, "refs/envflow/") + "*",
          "+refs/tags/*:" + model::RemoteRefs::tracking_name(remote, "refs/tags/") + "*"};
}

bool has_remote(const git::Repository& repo, const std::string& remote) {
  return !remote.empty() && run_git(repo, {"remote", "get-url", remote}).exit_code == 0;
}

FetchResult fetch_view(const git::Repository& repo, const std::string& remote) {
  FetchResult result;
  // --no-tags: tags land in the view only; --refmap= keeps git from also
  // updating refs through the remote's configured refspecs on its own.
  std::vector<std::string> args{"fetch", "--quiet", "--prune", "--no-tags", "--refmap="};
  if (std::filesystem::exists(repo.git_dir() + "shallow")) {
    args.push_back("--unshallow");
    result.unshallowed = true;
  }
  args.push_back(remote);
  for (const auto& spec : view_refspecs(remote)) {
    args.push_back(spec);
  }
  const auto fetch = run_git(repo, args);
  if (fetch.exit_code != 0) {
    throw util::IoError("git fetch " + remote + " failed: " + std::string(util::trim(fetch.err)) +
                        " (--offline reads the view the last fetch left)");
  }
  return result;
}

long long view_age(const git::Repository& repo) {
  struct stat info {};
  if (::stat((repo.git_dir() + "FETCH_HEAD").c_str(), &info) != 0) {
    return -1;
  }
  return std::max<long long>(0, util::now() - static_cast<long long>(info.st_mtime));
}

std::vector<std::string> push_command(const std::string& remote,
                                      const std::vector<model::RefMove>& moves,
                                      const PushIntent& intent) {
  std::vector<std::string> argv{"git", "push", "--atomic", "--porcelain"};
  if (!util::trim(intent.reason).empty()) {
    argv.push_back("--push-option=envflow.reason=" +
                   push_option_text(std::string(util::trim(intent.reason))));
  }
  if (intent.automatic) {
    argv.push_back("--push-option=envflow.auto=1");
  }
  argv.push_back(remote);
  for (const auto& move : moves) {
    argv.push_back("--force-with-lease=" + move.ref + ":" + id_or_empty(move.old_id));
  }
  for (const auto& move : moves) {
    argv.push_back(id_or_empty(move.new_id) + ":" + move.ref);
  }
  return argv;
}

PushIntent intent_from_push_options(const std::vector<std::string>& options) {
  PushIntent intent;
  for (const auto& option : options) {
    if (util::starts_with(option, "envflow.reason=")) {
      intent.reason = push_option_text(option.substr(std::string("envflow.reason=").size()));
    } else if (option == "envflow.auto=1") {
      intent.automatic = true;
    }
  }
  return intent;
}

PushOutcome push_moves(const git::Repository& repo, const std::string& remote,
                       const std::vector<model::RefMove>& moves, const PushIntent& intent) {
  PushOutcome outcome;
  outcome.remote = remote;
  if (moves.empty()) {
    return outcome;
  }
  const auto push = util::run_process(push_command(remote, moves, intent), "", repo.root());
  const std::vector<PushStatus> statuses = parse_push_porcelain(push.out);
  const bool rejected = std::any_of(statuses.begin(), statuses.end(),
                                    [](const PushStatus& s) { return s.rejected(); });
  outcome.remote_said = remote_lines(push.err);
  if (push.exit_code == 0 && !statuses.empty() && !rejected) {
    // git leaves out a ref the remote already holds at the new value, and its
    // lease with it ("[up to date]"): another operation made the same move
    // after this one read the ref. When that is every ref, none of this
    // operation landed: it lost the race like any other.
    if (std::all_of(statuses.begin(), statuses.end(),
                    [](const PushStatus& s) { return s.flag == '='; })) {
      std::string text = remote + " already had the change when this operation pushed it; "
                                  "nothing changed there by this one:";
      for (const auto& s : statuses) {
        text += "\n  " + s.to + ": " + remote + " moved it since this operation read it: another "
                "operation on the same thing got there first; nothing changed; run it again";
      }
      throw util::LostRace(statuses.front().to, text);
    }
    outcome.pushed = moves;
    return outcome;
  }
  if (rejected) {
    // The server's own compare-and-swap failing says so in a `remote: error:
    // cannot lock ref '…': is at … but expected …` line.
    const bool moved_there =
        std::any_of(outcome.remote_said.begin(), outcome.remote_said.end(),
                    [](const std::string& line) { return line.find("but expected") != std::string::npos; });
    const bool lost = std::any_of(statuses.begin(), statuses.end(), [&](const PushStatus& s) {
      return s.rejected() && (s.reason == "stale info" ||
                              s.reason.find("incorrect old value") != std::string::npos ||
                              s.reason.find("cannot lock ref") != std::string::npos ||
                              (s.reason == "atomic transaction failed" && moved_there));
    });
    const std::string text = remote + " refused the push; nothing changed there:" +
                             describe_refusal(remote, statuses, outcome.remote_said);
    for (const auto& s : statuses) {
      if (lost && s.rejected() && s.reason != "atomic push failed") {
        throw util::LostRace(s.to, text);
      }
    }
    throw util::Refused(text);
  }
  // No clear answer (the connection dropped after the server applied it?):
  // look. When the remote holds every new value, it landed.
  try {
    fetch_view(repo, remote);
    const model::RemoteRefs view(repo, remote, {});
    if (std::all_of(moves.begin(), moves.end(), [&](const model::RefMove& move) {
          return view.target(move.ref).value_or("") == id_or_empty(move.new_id);
        })) {
      outcome.pushed = moves;
      return outcome;
    }
  } catch (const util::Error&) {
    // fall through: report git's failure
  }
  const std::string said(util::trim(push.err));
  throw util::IoError("git push " + remote + " failed" + (said.empty() ? std::string() : ": " + said));
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
                      " moved it since this operation read it: another operation on the same "
                      "thing got there first; nothing changed; run it again");
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

} // namespace envflow::core::remote
