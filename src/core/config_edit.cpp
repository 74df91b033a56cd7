#include "core/config_edit.h"

#include "core/audit.h"
#include "core/config.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::core {

std::string config_text(const git::Repository& repo) {
  const auto head = repo.ref_target(k_config_ref);
  const auto text = head ? repo.read_path(*head, k_config_file) : std::nullopt;
  if (!text) {
    throw util::Refused("this repository has no envflow pipeline (" + std::string(k_config_ref) +
                        "); run envflow init, or envflow setup in a clone");
  }
  return *text;
}

bool write_config(git::Repository& repo, const std::string& text, const std::string& actor) {
  const auto head = repo.ref_target(k_config_ref);
  const PipelineConfig current = require_config(repo);
  if (!current.member(actor, current.admins)) {
    throw util::Refused(actor + " may not change the pipeline config (admin groups: " +
                        util::join(current.admins, ", ") + ")");
  }
  std::vector<content::Diagnostic> problems;
  if (!parse_config(text, k_config_file, problems)) {
    std::string message = "the new pipeline config is invalid; nothing changed:";
    for (const auto& d : problems) {
      message += "\n  " + d.to_text();
    }
    throw util::Refused(message);
  }
  if (head && repo.read_path(*head, k_config_file) == text) {
    return false;
  }
  const std::string blob = repo.write_blob(text);
  const std::string tree =
      repo.update_tree(head ? *head : "", {{k_config_file, git::NewFile{blob, git::Mode::regular}}});
  const std::string commit =
      repo.write_commit(tree, head ? std::vector<std::string>{*head} : std::vector<std::string>{},
                        "envflow config edit by " + actor + "\n", repo.default_person());
  AuditRecord record;
  record.op = "config-edit";
  record.actor = actor;
  record.commit = commit;
  try {
    commit_with_audit(repo, {git::RefUpdate{k_config_ref, head, commit}}, record);
  } catch (const git::RefConflict&) {
    throw util::Refused("the pipeline config changed since this edit began; run it again");
  }
  return true;
}

} // namespace envflow::core
