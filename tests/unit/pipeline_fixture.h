#pragma once
// A pipeline in a bare repository for the rulebook and server-hook tests:
// three environments whose branches hold the starter workspace, one person
// per role, helpers to build commits, release tags and holds, and judge().

#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/model/audit.h"
#include "core/model/refs.h"
#include "core/model/view.h"
#include "core/pipeline/rules.h"
#include "core/policy/config.h"
#include "core/records/hold.h"
#include "core/records/overrides.h"
#include "core/release/release.h"
#include "git/repo.h"
#include "support.h"
#include "util/embedded.h"
#include "util/strings.h"

namespace envflow::test {

inline const std::string k_test = "refs/heads/test";

// An authenticated actor, as a forge names them.
inline core::pipeline::Actor as(const std::string& name) {
  return core::pipeline::Actor{name, "REMOTE_USER", true};
}

// dev -> test -> production. Groups: developers alice, release-managers bob
// and carol, operators olga, publishers paul, hotfixers hank, admins adam.
// bob also acts as bob@example.com (policy `people:`). Releases unsigned.
class PipelineRepo {
public:
  PipelineRepo() : m_dir(true) {
    config = core::policy::default_config({"dev", "test", "production"}, "nobody");
    config.groups["developers"] = {"alice"};
    config.groups["release-managers"] = {"bob", "carol"};
    config.groups["operators"] = {"olga"};
    config.groups["publishers"] = {"paul"};
    config.groups["hotfixers"] = {"hank"};
    config.groups["admins"] = {"adam"};
    config.people["bob"] = {"bob@example.com"};
    config.release_sign = false;
    write_config();
    std::map<std::string, std::string> files;
    for (const auto& file : util::embedded_files()) {
      const std::string path(file.path);
      if (util::starts_with(path, "templates/workspace/")) {
        files[path.substr(std::string("templates/workspace/").size())] = std::string(file.data);
      }
    }
    REQUIRE(files.contains("workspace.yaml"));
    base = commit(files, {}, "starter");
    for (const char* branch : {"dev", "test", "production"}) {
      set_ref(std::string("refs/heads/") + branch, base);
    }
  }

  git::Repository& repo() { return m_dir.repo(); }
  std::string path() const { return m_dir.path(); }

  // Store `config` on refs/envflow/config (a new commit, by hand).
  void write_config() {
    const auto old = repo().ref_target(core::model::k_config_ref);
    set_ref(core::model::k_config_ref, config_commit(core::policy::render_config(config), old));
  }

  std::string config_commit(const std::string& text, const std::optional<std::string>& parent) {
    std::vector<std::string> parents;
    if (parent) {
      parents.push_back(*parent);
    }
    return repo().write_commit(
        repo().write_tree({{core::model::k_config_file, git::NewFile{repo().write_blob(text)}}}),
        parents, "config\n", person(), 1'700'000'000);
  }

  // A commit whose tree is the first parent's (or empty) with `files` set and `removed` dropped.
  std::string commit(const std::map<std::string, std::string>& files,
                     const std::vector<std::string>& parents, const std::string& message,
                     const std::vector<std::string>& removed = {}) {
    std::map<std::string, git::NewFile> entries;
    for (const auto& [path, text] : files) {
      entries[path] = git::NewFile{repo().write_blob(text), git::Mode::regular};
    }
    const std::string base_tree = parents.empty() ? std::string() : repo().tree_of(parents.front());
    const std::string tree = repo().update_tree(base_tree, entries, removed);
    return repo().write_commit(tree, parents, message + "\n", person(), 1'700'000'000);
  }

  // A commit on top of `parent` changing one agent's description (valid content).
  std::string tweak(const std::string& parent, const std::string& text) {
    std::string agent = *repo().read_path(parent, "agents/support.yaml");
    const size_t at = agent.find("\ndescription: ");
    REQUIRE(at != std::string::npos);
    const size_t end = agent.find('\n', at + 1);
    agent.replace(at + 1, end - at - 1, "description: " + text);
    return commit({{"agents/support.yaml", agent}}, {parent}, "description " + text);
  }

  // A commit on top of `parent` adding an agent whose name does not match its file.
  std::string broken(const std::string& parent) {
    return commit({{"agents/broken.yaml", "kind: Agent\nname: other\n"}}, {parent}, "broken");
  }

  // A commit on top of `parent` with the same tree (an empty commit).
  std::string empty_commit(const std::string& parent, const std::string& message = "empty") {
    return repo().write_commit(repo().tree_of(parent), {parent}, message + "\n", person(),
                               1'700'000'000);
  }

  void set_ref(const std::string& ref, const std::optional<std::string>& id) {
    repo().update_refs({git::RefUpdate{ref, repo().ref_target(ref), id}}, "test");
  }

  std::string head(const std::string& branch) { return *repo().ref_target("refs/heads/" + branch); }

  core::model::RefMove move(const std::string& ref, const std::string& to) {
    return core::model::RefMove{ref, repo().ref_target(ref).value_or(k_zero), to};
  }
  core::model::RefMove branch(const std::string& name, const std::string& to) {
    return move("refs/heads/" + name, to);
  }

  // An annotated, unsigned release tag object `name` on `commit` with a
  // manifest that matches its tree.
  std::string release_tag(const std::string& name, const std::string& commit,
                          const std::string& title = "Release", bool hotfix = false) {
    core::release::Manifest manifest;
    manifest.environment = "production";
    manifest.commit = commit;
    manifest.version = name;
    manifest.bump = "initial";
    manifest.hotfix = hotfix;
    for (const auto& entry : repo().list_tree(commit)) {
      if (entry.path == "workspace.yaml" || !util::first_component(entry.path).empty()) {
        manifest.items.emplace_back(entry.path, entry.id);
      }
    }
    const std::string raw = "object " + commit + "\ntype commit\ntag " + name +
                            "\ntagger Paul <paul@example.com> 1700000000 +0000\n\n" + title + " " +
                            name + "\n\n" + manifest.to_text();
    return repo().write_tag_object(raw);
  }

  // A hold commit on `env` by `actor` (not on any ref yet); its ref is hold_ref(env, id).
  core::records::Hold hold(const std::string& env, const std::string& actor,
                           const std::string& reason = "freeze",
                           core::records::Hold::Kind kind = core::records::Hold::Kind::manual) {
    core::records::Hold h;
    h.env = env;
    h.kind = kind;
    h.actor = actor;
    h.time = 1'700'000'000;
    h.reason = reason;
    core::records::stage_hold(repo(), h);
    return h;
  }
  core::model::RefMove set_hold(const core::records::Hold& h) {
    return core::model::RefMove{core::model::hold_ref(h.env, h.id), k_zero, h.id};
  }

  // A commit holding `overrides.yaml` (the local data of an environment).
  std::string local(const std::string& overrides, const std::vector<std::string>& parents = {}) {
    return commit({{core::records::k_overrides_file, overrides}}, parents, "local");
  }

  // What the rulebook says about `moves` by `who`, against the refs as they are.
  core::pipeline::Judgement
  judge(const std::vector<core::model::RefMove>& moves, const std::string& who,
        core::pipeline::Automatic automatic = core::pipeline::Automatic::no) {
    const core::model::OwnRefs own(repo());
    return core::pipeline::judge(core::model::Pipeline{repo(), own, config, nullptr}, moves,
                                 as(who), automatic);
  }

  // The record describe() makes of `moves` by `who`.
  core::model::AuditRecord describe(const std::vector<core::model::RefMove>& moves,
                                    const std::string& who, const std::string& reason = "") {
    const core::model::OwnRefs own(repo());
    return core::pipeline::describe(core::model::Pipeline{repo(), own, config, nullptr}, moves,
                                    as(who), reason);
  }

  core::policy::PipelineConfig config;
  std::string base;

private:
  static git::Person person() { return {"Test", "test@example.com"}; }

  TempRepo m_dir;
};

// Every refusal of `judgement`, "ref: reason" per line.
inline std::string refusals(const core::pipeline::Judgement& judgement) {
  std::string text;
  for (const auto& r : judgement.refusals) {
    text += r.ref + ": " + r.reason + "\n";
  }
  return text;
}

// True when `judgement` refused `ref` at `gate` with a reason containing `text`.
inline bool refused(const core::pipeline::Judgement& judgement, const std::string& ref,
                    core::pipeline::Gate gate, const std::string& text = "") {
  for (const auto& r : judgement.refusals) {
    if (r.ref == ref && r.gate == gate && has(r.reason, text)) {
      return true;
    }
  }
  return false;
}

} // namespace envflow::test
