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

namespace {

void require_admin(const PipelineConfig& config, const std::string& actor) {
  if (!config.member(actor, config.admins)) {
    throw util::Refused(actor + " may not change the pipeline config (admin groups: " +
                        util::join(config.admins, ", ") + ")");
  }
}

// Commit `path` = `data` on the config ref, CAS against `head`, audited.
void commit_config_file(git::Repository& repo, const std::optional<std::string>& head,
                        const std::string& path, const std::string& data,
                        const std::string& actor, const std::string& op) {
  const std::string blob = repo.write_blob(data);
  const std::string tree =
      repo.update_tree(head ? *head : "", {{path, git::NewFile{blob, git::Mode::regular}}});
  const std::string commit =
      repo.write_commit(tree, head ? std::vector<std::string>{*head} : std::vector<std::string>{},
                        "envflow " + op + " " + path + " by " + actor + "\n",
                        repo.default_person(), now());
  AuditRecord record;
  record.op = op;
  record.actor = actor;
  record.commit = commit;
  record.note = path;
  try {
    commit_with_audit(repo, {git::RefUpdate{k_config_ref, head, commit}}, record);
  } catch (const git::RefConflict&) {
    throw util::Refused("the pipeline config changed since this edit began; run it again");
  }
}

} // namespace

bool put_config_file(git::Repository& repo, const std::string& name, const std::string& data,
                     const std::string& actor) {
  const auto head = repo.ref_target(k_config_ref);
  require_admin(require_config(repo), actor);
  if (name.empty() || name == k_config_file || util::starts_with(name, "/") ||
      name.find("..") != std::string::npos || name.find('\\') != std::string::npos) {
    throw util::UsageError("'" + name + "' cannot be stored on the config ref (use a plain "
                           "relative name; change envflow.yaml with envflow config edit)");
  }
  if (head && repo.read_path(*head, name) == data) {
    return false;
  }
  commit_config_file(repo, head, name, data, actor, "config-put");
  return true;
}

bool write_config(git::Repository& repo, const std::string& text, const std::string& actor,
                  const std::optional<std::string>& expected) {
  const auto head = repo.ref_target(k_config_ref);
  if (expected && head != expected) {
    throw util::Refused("the pipeline config changed while you were editing it (now at " +
                        head.value_or("nothing").substr(0, 7) +
                        "); run envflow config edit again on the new version");
  }
  const PipelineConfig current = require_config(repo);
  require_admin(current, actor);
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
  commit_config_file(repo, head, k_config_file, text, actor, "config-edit");
  return true;
}

} // namespace envflow::core
