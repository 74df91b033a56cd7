#include "core/records/config_edit.h"

#include <filesystem>

#include "core/pipeline/session.h"
#include "core/policy/config.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/strings.h"
#include "util/time.h"

namespace envflow::core::records {

std::string config_text(const pipeline::Session& session) {
  const auto head = session.refs().target(model::k_config_ref);
  const auto text = head ? session.repo().read_path(*head, model::k_config_file) : std::nullopt;
  if (!text) {
    throw util::Refused("no envflow pipeline here (" + std::string(model::k_config_ref) +
                        " is missing); run envflow init, or envflow setup in a clone");
  }
  return *text;
}

std::string config_edit_file(const pipeline::Session& session) {
  const std::string dir = session.repo().git_dir() + "envflow";
  std::filesystem::create_directories(dir);
  return dir + "/envflow.yaml.edit";
}

namespace {

// Commit `path` = `data` on the config ref as the session reads it; the
// rulebook judges it (admins only, the new policy must validate).
void commit_config_file(pipeline::Session& session, const std::optional<std::string>& head,
                        const std::string& path, const std::string& data, const std::string& what) {
  git::Repository& repo = session.repo();
  const std::string blob = repo.write_blob(data);
  const std::string tree =
      repo.update_tree(head ? *head : "", {{path, git::NewFile{blob, git::Mode::regular}}});
  const std::string commit = repo.write_commit(
      tree, head ? std::vector<std::string>{*head} : std::vector<std::string>{},
      "envflow " + what + " " + path + " by " + session.actor() + "\n", repo.default_person(),
      util::now());
  pipeline::Operation operation;
  operation.updates.push_back(git::RefUpdate{model::k_config_ref, head, commit});
  try {
    session.apply(operation);
  } catch (const util::LostRace&) {
    throw util::Refused("the pipeline config changed since this edit began; run it again");
  }
}

} // namespace

bool put_config_file(pipeline::Session& session, const std::string& name, const std::string& data) {
  session.config(); // refuses without a pipeline
  const auto head = session.refs().target(model::k_config_ref);
  if (name.empty() || name == model::k_config_file || util::starts_with(name, "/") ||
      name.find("..") != std::string::npos || name.find('\\') != std::string::npos) {
    throw util::UsageError("'" + name + "' cannot be stored on the config ref (use a plain "
                           "relative name; change envflow.yaml with envflow config edit)");
  }
  if (head && session.repo().read_path(*head, name) == data) {
    return false;
  }
  commit_config_file(session, head, name, data, "config put");
  return true;
}

bool write_config(pipeline::Session& session, const std::string& text,
                  const std::optional<std::string>& expected) {
  session.config(); // refuses without a pipeline
  const auto head = session.refs().target(model::k_config_ref);
  if (expected && head != expected) {
    throw util::Refused("the pipeline config changed while you were editing it (now at " +
                        head.value_or("nothing").substr(0, 7) +
                        "); run envflow config edit again on the new version");
  }
  if (head && session.repo().read_path(*head, model::k_config_file) == text) {
    return false;
  }
  commit_config_file(session, head, model::k_config_file, text, "config edit");
  return true;
}

} // namespace envflow::core::records
