#pragma once
// A pipeline made by `envflow init` for the sync and hold tests, its policy
// in memory, and helpers to commit on dev, put holds and run sync --auto.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/model/audit.h"
#include "core/policy/config.h"
#include "core/records/hold.h"
#include "core/admin/init.h"
#include "core/pipeline/session.h"
#include "core/pipeline/sync.h"
#include "git/repo.h"

#include "support.h"

namespace envflow::test {

inline const std::string k_bob = "bob@example.com";
inline const std::string k_carol = "carol@example.com";
inline constexpr std::int64_t k_time = 1'767'225'600; // 2026-01-01T00:00:00Z

// `envflow init` (five environments, alice in every group) in a temporary
// folder. The policy is kept in memory; each session() writes it to
// refs/envflow/config first when a test changed it (an audited config change).
class SyncPipeline {
public:
  SyncPipeline() {
    core::admin::InitOptions options;
    options.dir = m_dir.path().string();
    options.actor = k_alice;
    m_base = core::admin::init_repository(options).commit;
    m_repo.emplace(git::Repository::open(m_dir.path().string()));
    m_config = *core::policy::load_config(*m_repo);
    m_written = core::policy::render_config(m_config);
  }

  git::Repository& repo() { return *m_repo; }
  core::policy::PipelineConfig& config() { return m_config; }
  core::policy::Environment& env(const std::string& name) {
    return m_config.environments[static_cast<size_t>(m_config.index_of(name))];
  }
  void set_auto(const std::vector<std::string>& names) {
    for (const auto& name : names) {
      env(name).auto_promote = true;
    }
  }

  // A session on this repository (its own authority) acting as `actor`.
  core::pipeline::Session session(const std::string& actor = k_alice) {
    const std::string text = core::policy::render_config(m_config);
    if (text != m_written) {
      const auto old = m_repo->ref_target(core::model::k_config_ref);
      const std::string commit = m_repo->write_commit(
          m_repo->write_tree(
              {{core::model::k_config_file, git::NewFile{m_repo->write_blob(text), git::Mode::regular}}}),
          {*old}, "config\n", git::Person{"Test", k_alice}, k_time);
      core::model::AuditRecord record;
      record.op = "config";
      record.actor = k_alice;
      record.time = k_time;
      core::model::commit_with_audit(*m_repo, {{core::model::k_config_ref, old, commit}}, record);
      m_written = text;
    }
    return core::pipeline::Session::local(git::Repository::open(m_dir.path().string()), actor);
  }

  std::string head(const std::string& env) {
    return m_repo->ref_target("refs/heads/" + env).value_or("none");
  }

  // A developer's commit on dev (valid content: the starter tree), by plain git.
  std::string commit_dev(const std::string& summary) {
    const std::string parent = head("dev");
    const std::string id = m_repo->write_commit(m_repo->tree_of(m_base), {parent}, summary + "\n",
                                                git::Person{"Dev", k_alice}, k_time);
    m_repo->update_refs({{"refs/heads/dev", parent, id}}, "commit");
    return id;
  }

  // A commit on dev whose tree does not validate.
  std::string commit_dev_invalid() {
    const std::string parent = head("dev");
    std::map<std::string, git::NewFile> tree;
    tree["agents/broken.yaml"] =
        git::NewFile{m_repo->write_blob("kind: Agent\nname: other\n"), git::Mode::regular};
    const std::string id = m_repo->write_commit(m_repo->write_tree(tree), {parent}, "broken\n",
                                                git::Person{"Dev", k_alice}, k_time);
    m_repo->update_refs({{"refs/heads/dev", parent, id}}, "commit");
    return id;
  }

  // A hold on `env` put there by hand (audited), as a rollback or `hold set` leaves it.
  core::records::Hold hold(const std::string& env, core::records::Hold::Kind kind, const std::string& reason,
                  std::int64_t time = k_time) {
    core::records::Hold h;
    h.env = env;
    h.kind = kind;
    h.actor = k_alice;
    h.time = time;
    h.reason = reason;
    const git::RefUpdate update = core::records::stage_hold(*m_repo, h);
    core::model::AuditRecord record;
    record.op = "hold";
    record.actor = k_alice;
    record.time = k_time;
    core::model::commit_with_audit(*m_repo, {update}, record);
    return h;
  }

  size_t records(const std::string& op) {
    const auto trail = core::model::read_audit(*m_repo);
    return static_cast<size_t>(
        std::count_if(trail.begin(), trail.end(), [&](const auto& r) { return r.op == op; }));
  }

  // The result's plans point into the session's policy: the session stays
  // alive until the next run (as the CLI keeps it while it prints).
  core::pipeline::AutoResult run(const std::string& actor = k_alice, core::pipeline::DryRun dry = core::pipeline::DryRun::no) {
    m_last.reset();
    m_last.emplace(session(actor));
    return core::pipeline::auto_sync(*m_last, dry);
  }

private:
  TempDir m_dir;
  std::string m_base;
  std::optional<git::Repository> m_repo;
  core::policy::PipelineConfig m_config;
  std::string m_written;
  std::optional<core::pipeline::Session> m_last;
};

} // namespace envflow::test
