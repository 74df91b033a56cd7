#include "core/model/audit.h"
#include "core/policy/config.h"
#include "core/admin/doctor.h"
#include "core/admin/init.h"
#include "core/admin/setup.h"
#include "core/model/refs.h"
#include "core/model/view.h"
#include "git/repo.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support.h"

using namespace envflow;
using Level = core::admin::Finding::Level;
using envflow::core::model::short_id;

namespace {

// `envflow init` in a temporary folder, removed afterwards.
class InitPipeline {
public:
  InitPipeline() : m_dir(make_dir()) {
    core::admin::InitOptions options;
    options.dir = m_dir.string();
    options.actor = "alice@example.com";
    m_base = core::admin::init_repository(options).commit;
    m_repo.emplace(git::Repository::open(m_dir.string()));
  }
  InitPipeline(const InitPipeline&) = delete;
  InitPipeline& operator=(const InitPipeline&) = delete;
  ~InitPipeline() {
    m_repo.reset();
    std::error_code ec;
    std::filesystem::remove_all(m_dir, ec);
  }

  git::Repository& repo() { return *m_repo; }
  const std::filesystem::path& dir() const { return m_dir; }
  // The commit init put every environment at.
  const std::string& base() const { return m_base; }

  // A commit on top of `parents` (same tree as the first one), unique by `summary`.
  std::string commit(const std::string& summary, const std::vector<std::string>& parents) {
    return m_repo->write_commit(m_repo->tree_of(m_base), parents, summary + "\n",
                                git::Person{"Test", "test@example.com"}, 1'767'225'600);
  }

  // Move `ref` by hand, as `git update-ref` would: no audit record.
  void move_by_hand(const std::string& ref, const std::optional<std::string>& target) {
    m_repo->update_refs({{ref, m_repo->ref_target(ref), target}}, "by hand");
  }

  // Move `ref` the way envflow does: with its audit record.
  void move_audited(const std::string& ref, const std::string& target,
                    const std::string& op = "sync") {
    core::model::AuditRecord record;
    record.op = op;
    record.actor = "alice@example.com";
    record.time = 1'767'225'600;
    core::model::commit_with_audit(*m_repo, {{ref, m_repo->ref_target(ref), target}}, record);
  }

  // A commit with `files` as its whole tree.
  std::string tree_commit(const std::map<std::string, std::string>& files,
                          const std::vector<std::string>& parents = {}) {
    std::map<std::string, git::NewFile> tree;
    for (const auto& [path, text] : files) {
      tree[path] = git::NewFile{m_repo->write_blob(text), git::Mode::regular};
    }
    return m_repo->write_commit(m_repo->write_tree(tree), parents, "files\n",
                                git::Person{"Test", "test@example.com"}, 1'767'225'600);
  }

  std::vector<core::admin::Finding> doctor() {
    const core::model::OwnRefs own(*m_repo);
    return core::admin::run_doctor(*m_repo, own, nullptr);
  }

private:
  static std::filesystem::path make_dir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "envflow-doctor-test.XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    return pattern;
  }

  std::filesystem::path m_dir;
  std::string m_base;
  std::optional<git::Repository> m_repo;
};

size_t count(const std::vector<core::admin::Finding>& findings, Level level) {
  return static_cast<size_t>(std::count_if(findings.begin(), findings.end(),
                                           [&](const auto& f) { return f.level == level; }));
}

// The finding of `check` at `level` whose message contains `text`, or nullptr.
const core::admin::Finding* find(const std::vector<core::admin::Finding>& findings, Level level,
                          const std::string& check, const std::string& text = "") {
  for (const auto& f : findings) {
    if (f.level == level && f.check == check && f.message.find(text) != std::string::npos) {
      return &f;
    }
  }
  return nullptr;
}

std::string dump_findings(const std::vector<core::admin::Finding>& findings) {
  std::string text;
  for (const auto& f : findings) {
    text += std::string(core::admin::Finding::level_name(f.level)) + " " + f.check + ": " + f.message +
            " | " + f.mend + "\n";
  }
  return text;
}

} // namespace

TEST_CASE("core::admin::run_doctor") {
  InitPipeline p;
  git::Repository& repo = p.repo();

  SUBCASE("a fresh pipeline is healthy") {
    const auto findings = p.doctor();
    INFO(dump_findings(findings));
    CHECK(count(findings, Level::error) == 0);
    CHECK(count(findings, Level::warning) == 0);
    for (const char* check :
         {"config", "branches", "invariant-1", "audit-chain", "invariant-2", "hooks"}) {
      CHECK_MESSAGE(find(findings, Level::ok, check) != nullptr, check);
    }
    CHECK(find(findings, Level::ok, "remote") == nullptr); // no origin
  }

  SUBCASE("commits on the first environment need no record") {
    const std::string d1 = p.commit("d1", {p.base()});
    const std::string d2 = p.commit("d2", {d1});
    p.move_by_hand("refs/heads/dev", d2);
    const auto findings = p.doctor();
    INFO(dump_findings(findings));
    CHECK(count(findings, Level::error) == 0);
  }

  SUBCASE("an environment moved outside envflow") {
    const std::string d1 = p.commit("d1", {p.base()});
    p.move_by_hand("refs/heads/dev", d1);
    p.move_by_hand("refs/heads/test", d1);
    const auto findings = p.doctor();
    INFO(dump_findings(findings));
    const auto* f = find(findings, Level::error, "invariant-2", "refs/heads/test");
    REQUIRE(f != nullptr);
    CHECK(f->message == "refs/heads/test is at " + short_id(d1) +
                            " but the audit trail last moved it to " + short_id(p.base()) +
                            " (moved outside envflow?)");
    CHECK(f->mend.find("git update-ref refs/heads/test " + p.base()) != std::string::npos);
    CHECK(count(findings, Level::error) == 1);
    CHECK(find(findings, Level::ok, "invariant-1") != nullptr);
  }

  SUBCASE("the same move through envflow is explained") {
    const std::string d1 = p.commit("d1", {p.base()});
    p.move_by_hand("refs/heads/dev", d1);
    p.move_audited("refs/heads/test", d1);
    const auto findings = p.doctor();
    INFO(dump_findings(findings));
    CHECK(count(findings, Level::error) == 0);
  }

  SUBCASE("the first environment rewound outside envflow") {
    const std::string d1 = p.commit("d1", {p.base()});
    p.move_audited("refs/heads/dev", d1, "backport-apply");
    const std::string other = p.commit("unrelated", {});
    p.move_by_hand("refs/heads/dev", other);
    const auto findings = p.doctor();
    INFO(dump_findings(findings));
    CHECK(find(findings, Level::error, "invariant-2",
               "refs/heads/dev is at " + short_id(other) + ", which does not contain") != nullptr);
  }

  SUBCASE("a ref back at an earlier audited position is a warning") {
    const std::string d1 = p.commit("d1", {p.base()});
    p.move_by_hand("refs/heads/dev", d1);
    p.move_audited("refs/heads/test", d1);
    p.move_by_hand("refs/heads/test", p.base());
    const auto findings = p.doctor();
    INFO(dump_findings(findings));
    CHECK(count(findings, Level::error) == 0);
    CHECK(find(findings, Level::warning, "invariant-2", "earlier audited position") != nullptr);
  }

  SUBCASE("test not an ancestor of dev") {
    const std::string t1 = p.commit("made on test", {p.base()});
    p.move_audited("refs/heads/test", t1);
    const auto findings = p.doctor();
    INFO(dump_findings(findings));
    const auto* f = find(findings, Level::error, "invariant-1", "test is not an ancestor of dev");
    REQUIRE(f != nullptr);
    CHECK(f->message.find(short_id(t1) + " \"made on test\"") != std::string::npos);
    CHECK(count(findings, Level::error) == 1);
  }

  SUBCASE("hotfix commits on the last environment") {
    const std::string hotfix = p.commit("hotfix", {p.base()});
    p.move_audited("refs/heads/production", hotfix, "hotfix");
    const auto with_backport = [&](const std::string& status) {
      p.move_audited(
          "refs/envflow/backports",
          p.tree_commit({{"7.yaml", "id: 7\nstatus: " + status + "\ncommits: [" + hotfix + "]\n"}},
                        repo.ref_target("refs/envflow/backports")
                            ? std::vector<std::string>{*repo.ref_target("refs/envflow/backports")}
                            : std::vector<std::string>{}),
          "backport-open");
    };

    SUBCASE("without a back-port: an error") {
      const auto findings = p.doctor();
      INFO(dump_findings(findings));
      CHECK(find(findings, Level::error, "invariant-1",
                 "production is not an ancestor of staging") != nullptr);
    }
    SUBCASE("with its back-port open: a warning") {
      with_backport("open");
      const auto findings = p.doctor();
      INFO(dump_findings(findings));
      CHECK(count(findings, Level::error) == 0);
      const auto* f = find(findings, Level::warning, "invariant-1", "open back-port 7");
      REQUIRE(f != nullptr);
      CHECK(f->mend.find("envflow backport apply 7") != std::string::npos);
    }
    SUBCASE("back-port closed but not brought back: an error") {
      with_backport("closed");
      const auto findings = p.doctor();
      INFO(dump_findings(findings));
      CHECK(find(findings, Level::error, "invariant-1") != nullptr);
    }
    SUBCASE("back in dev and on its way up: a warning") {
      with_backport("closed");
      const std::string merge = p.commit("bring the hotfix back", {p.base(), hotfix});
      p.move_audited("refs/heads/dev", merge, "backport-apply");
      const auto findings = p.doctor();
      INFO(dump_findings(findings));
      CHECK(count(findings, Level::error) == 0);
      CHECK(find(findings, Level::warning, "invariant-1", "on their way") != nullptr);
    }
  }

  SUBCASE("a missing environment branch") {
    p.move_by_hand("refs/heads/uat", std::nullopt);
    const auto findings = p.doctor();
    INFO(dump_findings(findings));
    CHECK(find(findings, Level::error, "branches", "refs/heads/uat is missing") != nullptr);
    CHECK(find(findings, Level::error, "invariant-2", "refs/heads/uat") == nullptr);
  }

  SUBCASE("refs created or deleted outside envflow") {
    p.move_by_hand("refs/tags/v1.0.0", p.base());
    p.move_by_hand("refs/tags/v1", p.base()); // not a release tag
    p.move_by_hand("refs/envflow/local/test", p.base());
    p.move_by_hand("refs/envflow/config", std::nullopt);
    const auto findings = p.doctor();
    INFO(dump_findings(findings));
    CHECK(find(findings, Level::error, "invariant-2",
               "refs/tags/v1.0.0 is at " + short_id(p.base()) +
                   " but the audit trail has no record of it") != nullptr);
    CHECK(find(findings, Level::error, "invariant-2", "refs/tags/v1 ") == nullptr);
    CHECK(find(findings, Level::error, "invariant-2", "refs/envflow/local/test") != nullptr);
    CHECK(find(findings, Level::error, "invariant-2", "refs/envflow/config is missing") != nullptr);
    CHECK(find(findings, Level::error, "config", "refs/envflow/config is missing") != nullptr);
  }

  SUBCASE("a gap in the trail") {
    const std::string d1 = p.commit("d1", {p.base()});
    const std::string d2 = p.commit("d2", {d1});
    p.move_by_hand("refs/heads/dev", d2);
    p.move_by_hand("refs/heads/test", d1); // unrecorded...
    p.move_audited("refs/heads/test", d2); // ...then recorded from there
    const auto findings = p.doctor();
    INFO(dump_findings(findings));
    CHECK(find(findings, Level::error, "audit-chain",
               "moves refs/heads/test from " + short_id(d1) + ", but the previous record") !=
          nullptr);
    CHECK(find(findings, Level::ok, "invariant-2") != nullptr);
  }

  SUBCASE("a merge in the trail and a record that does not parse") {
    const std::string head = *repo.ref_target(core::model::k_audit_ref);
    const std::string side = repo.write_commit(std::string(git::k_empty_tree_id), {head},
                                               "not a record\n", git::Person{"x", "x@y"});
    core::model::AuditRecord record;
    record.op = "sync";
    record.time = 1;
    const std::string merge = repo.write_commit(std::string(git::k_empty_tree_id), {head, side},
                                                record.to_message(), git::Person{"x", "x@y"});
    p.move_by_hand(core::model::k_audit_ref, merge);
    const auto findings = p.doctor();
    INFO(dump_findings(findings));
    CHECK(find(findings, Level::error, "audit-chain", short_id(merge) + " is a merge commit") !=
          nullptr);
    CHECK(find(findings, Level::error, "audit-chain",
               "commit " + short_id(side) + " on refs/envflow/audit is not a valid audit record") !=
          nullptr);
  }

  SUBCASE("no audit trail") {
    p.move_by_hand(core::model::k_audit_ref, std::nullopt);
    const auto findings = p.doctor();
    INFO(dump_findings(findings));
    CHECK(find(findings, Level::error, "audit-chain", "refs/envflow/audit is missing") != nullptr);
  }

  SUBCASE("an invalid config") {
    p.move_audited(core::model::k_config_ref, p.tree_commit({{"envflow.yaml", "environments: 3\n"}}),
                   "config-edit");
    const auto findings = p.doctor();
    INFO(dump_findings(findings));
    const auto* f = find(findings, Level::error, "config", "invalid");
    REQUIRE(f != nullptr);
    CHECK(f->mend.find("envflow config edit") != std::string::npos);
    CHECK(find(findings, Level::ok, "branches") == nullptr); // needs the config
  }

  SUBCASE("hooks") {
    const std::filesystem::path hook = p.dir() / ".git" / "hooks" / "pre-commit";
    SUBCASE("missing") {
      std::filesystem::remove(hook);
      const auto findings = p.doctor();
      const auto* f = find(findings, Level::error, "hooks", "no pre-commit hook");
      REQUIRE(f != nullptr);
      CHECK(f->mend.find("envflow install-hooks") != std::string::npos);
    }
    SUBCASE("foreign") {
      std::ofstream(hook) << "#!/bin/sh\nexit 0\n";
      const auto findings = p.doctor();
      CHECK(find(findings, Level::error, "hooks", "is not envflow's") != nullptr);
    }
    SUBCASE("not executable") {
      std::filesystem::permissions(hook, std::filesystem::perms::owner_read |
                                             std::filesystem::perms::owner_write);
      const auto findings = p.doctor();
      CHECK(find(findings, Level::error, "hooks", "not executable") != nullptr);
    }
  }

  SUBCASE("remote") {
    repo.set_config_string("remote.origin.url", "https://example.com/ws.git");
    SUBCASE("without envflow's refspec: envflow fetches itself, plain git does not") {
      repo.set_config_string("remote.origin.fetch", "+refs/heads/*:refs/remotes/origin/*");
      const auto findings = p.doctor();
      const auto* f = find(findings, Level::warning, "remote");
      REQUIRE(f != nullptr);
      CHECK(f->mend == "run `envflow setup`");
      CHECK(find(findings, Level::error, "remote") == nullptr);
    }
    SUBCASE("with the tracking refspec setup adds") {
      repo.set_config_string("remote.origin.fetch", core::admin::envflow_refspec("origin"));
      const auto findings = p.doctor();
      const auto* f = find(findings, Level::ok, "remote");
      REQUIRE(f != nullptr);
      CHECK(f->message == "origin fetches +refs/envflow/*:refs/envflow-remote/origin/envflow/*");
    }
    SUBCASE("the old refspecs onto this clone's own refs are errors") {
      for (const char* spec : {core::admin::k_old_envflow_refspec, core::admin::k_old_forced_envflow_refspec}) {
        CAPTURE(spec);
        repo.set_config_string("remote.origin.fetch", spec);
        const auto findings = p.doctor();
        const auto* f = find(findings, Level::error, "remote", "onto this clone's own");
        REQUIRE(f != nullptr);
        CHECK(f->mend.find("envflow setup") != std::string::npos);
      }
    }
    SUBCASE("envflow.remote names the remote checked") {
      repo.set_config_string("envflow.remote", "upstream");
      repo.set_config_string("remote.upstream.url", "https://example.com/up.git");
      repo.set_config_string("remote.upstream.fetch", core::admin::envflow_refspec("upstream"));
      CHECK(find(p.doctor(), Level::ok, "remote", "upstream fetches") != nullptr);
    }
  }

  SUBCASE("refs are read through the view it is given (a clone reads the server's)") {
    // This repository as a clone whose view of origin holds the pipeline's
    // refs, its own envflow refs gone.
    std::vector<git::RefUpdate> copies;
    std::vector<git::RefUpdate> drops;
    for (const auto& ref : repo.list_refs("refs/*")) {
      const std::string tracking = core::model::RemoteRefs::tracking_name("origin", ref);
      if (tracking.empty()) {
        continue;
      }
      copies.push_back({tracking, std::nullopt, *repo.ref_target(ref)});
      if (ref.rfind("refs/envflow/", 0) == 0) {
        drops.push_back({ref, repo.ref_target(ref), std::nullopt});
      }
    }
    REQUIRE_FALSE(drops.empty());
    repo.update_refs(copies, "fetch");
    repo.update_refs(drops, "gone");
    const core::model::RemoteRefs view(repo, "origin", {});
    const auto findings = core::admin::run_doctor(repo, view, nullptr);
    INFO(dump_findings(findings));
    CHECK(count(findings, Level::error) == 0);
    CHECK(find(findings, Level::ok, "audit-chain") != nullptr);
    CHECK(find(findings, Level::ok, "invariant-2") != nullptr);
    CHECK(find(p.doctor(), Level::error, "config", "refs/envflow/config is missing") != nullptr);
  }
}

TEST_CASE("core::admin::run_doctor outside a pipeline") {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "envflow-doctor-plain.XXXXXX").string();
  REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  {
    const git::Repository repo = git::Repository::init(pattern, false, "main");
    const core::model::OwnRefs own(repo);
    const auto findings = core::admin::run_doctor(repo, own, nullptr);
    INFO(dump_findings(findings));
    const auto* f = find(findings, Level::error, "config", "refs/envflow/config is missing");
    REQUIRE(f != nullptr);
    CHECK(f->mend.find("envflow init") != std::string::npos);
    CHECK(find(findings, Level::error, "audit-chain") == nullptr);
  }
  std::error_code ec;
  std::filesystem::remove_all(pattern, ec);
}
