#include "core/audit.h"
#include "core/backport.h"
#include "core/config.h"
#include "core/overrides.h"
#include "core/release.h"
#include "core/server_hooks.h"
#include "git/repo.h"
#include "util/embedded.h"
#include "util/error.h"
#include "util/strings.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

using namespace envflow;
using core::RefMove;

namespace {

const std::string k_zero(git::k_zero_id);

core::Pusher as(const std::string& name) { return core::Pusher{name, "REMOTE_USER", true}; }

// A bare "server" repository with a three-environment pipeline whose
// branches all hold the starter workspace. Groups: developers alice,
// release-managers bob and carol, operators olga, publishers paul,
// hotfixers hank, admins adam.
class Server {
public:
  Server() : m_dir(make_dir()), m_repo(git::Repository::init(m_dir.string(), true, "dev")) {
    config = core::default_config({"dev", "test", "production"}, "nobody");
    config.groups["developers"] = {"alice"};
    config.groups["release-managers"] = {"bob", "carol"};
    config.groups["operators"] = {"olga"};
    config.groups["publishers"] = {"paul"};
    config.groups["hotfixers"] = {"hank"};
    config.groups["admins"] = {"adam"};
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
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server() {
    std::error_code ec;
    std::filesystem::remove_all(m_dir, ec);
  }

  git::Repository& repo() { return m_repo; }

  // Store `config` on refs/envflow/config (as a new commit).
  void write_config() {
    const auto old = m_repo.ref_target(core::k_config_ref);
    const std::string id = config_commit(core::render_config(config), old);
    set_ref(core::k_config_ref, id);
  }

  std::string config_commit(const std::string& text, const std::optional<std::string>& parent) {
    std::vector<std::string> parents;
    if (parent) {
      parents.push_back(*parent);
    }
    return m_repo.write_commit(
        m_repo.write_tree({{core::k_config_file, git::NewFile{m_repo.write_blob(text)}}}), parents,
        "config\n", person(), 1'700'000'000);
  }

  // A commit whose tree is `parent`'s (or empty) with `files` set and `removed` dropped.
  std::string commit(const std::map<std::string, std::string>& files,
                     const std::vector<std::string>& parents, const std::string& message,
                     const std::vector<std::string>& removed = {}) {
    std::map<std::string, git::NewFile> entries;
    for (const auto& [path, text] : files) {
      entries[path] = git::NewFile{m_repo.write_blob(text), git::Mode::regular};
    }
    const std::string base_tree = parents.empty() ? std::string() : m_repo.tree_of(parents.front());
    const std::string tree = m_repo.update_tree(base_tree, entries, removed);
    return m_repo.write_commit(tree, parents, message + "\n", person(), 1'700'000'000);
  }

  // A commit on top of `parent` changing one agent's description (valid content).
  std::string tweak(const std::string& parent, const std::string& text) {
    std::string agent = *m_repo.read_path(parent, "agents/support.yaml");
    const size_t at = agent.find("\ndescription: ");
    REQUIRE(at != std::string::npos);
    const size_t end = agent.find('\n', at + 1);
    agent.replace(at + 1, end - at - 1, "description: " + text);
    return commit({{"agents/support.yaml", agent}}, {parent}, "description " + text);
  }

  void set_ref(const std::string& ref, const std::string& id) {
    m_repo.update_refs({git::RefUpdate{ref, m_repo.ref_target(ref), id}}, "test");
  }

  std::string head(const std::string& branch) { return *m_repo.ref_target("refs/heads/" + branch); }

  RefMove move(const std::string& ref, const std::string& to) {
    return RefMove{ref, m_repo.ref_target(ref).value_or(k_zero), to};
  }
  RefMove branch(const std::string& name, const std::string& to) {
    return move("refs/heads/" + name, to);
  }

  // An annotated release tag object `name` on `commit`, unsigned.
  std::string release_tag(const std::string& name, const std::string& commit,
                          const std::string& title = "Release") {
    core::Manifest manifest;
    manifest.environment = "production";
    manifest.commit = commit;
    manifest.version = name;
    manifest.bump = "initial";
    for (const auto& entry : m_repo.list_tree(commit)) {
      if (entry.path == "workspace.yaml" || !util::first_component(entry.path).empty()) {
        manifest.items.emplace_back(entry.path, entry.id);
      }
    }
    const std::string raw = "object " + commit + "\ntype commit\ntag " + name +
                            "\ntagger Paul <paul@example.com> 1700000000 +0000\n\n" + title + " " +
                            name + "\n\n" + manifest.to_text();
    return m_repo.write_tag_object(raw);
  }

  // An audit record by `actor` on top of the audit ref, not yet on it.
  std::string audit_record(const core::AuditRecord& record) {
    const auto head = m_repo.ref_target(core::k_audit_ref);
    std::vector<std::string> parents;
    if (head) {
      parents.push_back(*head);
    }
    return m_repo.write_commit(std::string(git::k_empty_tree_id), parents, record.to_message(),
                               person(), 1'700'000'000);
  }

  core::PushDecision decide(const std::vector<RefMove>& updates, const std::string& who) {
    return core::decide_push(m_repo, updates, as(who));
  }

  core::PipelineConfig config;
  std::string base;

private:
  static git::Person person() { return {"Test", "test@example.com"}; }

  static std::filesystem::path make_dir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "envflow-server-test.XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    return pattern;
  }

  std::filesystem::path m_dir;
  git::Repository m_repo;
};

// Every refusal of `decision`, "ref: reason" per line.
std::string refusals(const core::PushDecision& decision) {
  std::string text;
  for (const auto& r : decision.refusals) {
    text += r.ref + ": " + r.reason + "\n";
  }
  return text;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("core::parse_ref_updates") {
  const std::string a(40, 'a');
  const std::string b(40, 'b');
  const auto updates = core::parse_ref_updates(a + " " + b + " refs/heads/dev\n\n" + k_zero + " " +
                                               b + " refs/tags/v1.0.0\n");
  REQUIRE(updates.size() == 2);
  CHECK(updates[0].ref == "refs/heads/dev");
  CHECK(updates[0].old_id == a);
  CHECK(updates[0].new_id == b);
  CHECK(updates[1].old_id == k_zero);
  CHECK_THROWS_AS(core::parse_ref_updates("nonsense\n"), util::UsageError);
  CHECK_THROWS_AS(core::parse_ref_updates(a + " xyz refs/heads/dev\n"), util::UsageError);
}

TEST_CASE("core::identify_pusher") {
  core::PipelineConfig config;
  std::map<std::string, std::string> env;
  const core::EnvLookup lookup = [&](const std::string& name) -> std::optional<std::string> {
    const auto it = env.find(name);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  SUBCASE("the first set identity variable wins, in the policy's order") {
    env = {{"REMOTE_USER", "web-user"}, {"GL_USERNAME", "gitlab-user"}, {"ENVFLOW_ACTOR", "x"}};
    const auto pusher = core::identify_pusher(&config, lookup);
    CHECK(pusher.name == "gitlab-user");
    CHECK(pusher.source == "GL_USERNAME");
    CHECK(pusher.authenticated);
  }
  SUBCASE("empty values are skipped") {
    env = {{"GL_USERNAME", ""}, {"GITEA_PUSHER_NAME", "gitea-user"}};
    CHECK(core::identify_pusher(&config, lookup).name == "gitea-user");
  }
  SUBCASE("ENVFLOW_ACTOR is a claim, accepted only when identity is not required") {
    env = {{"ENVFLOW_ACTOR", "claimed"}};
    auto pusher = core::identify_pusher(&config, lookup);
    CHECK(pusher.name == "claimed");
    CHECK_FALSE(pusher.authenticated);
    config.identity_required = true;
    pusher = core::identify_pusher(&config, lookup);
    CHECK(pusher.name.empty());
    CHECK(pusher.describe() == "an unknown pusher");
  }
  SUBCASE("the policy's own variable list") {
    config.identity_env = {"USER"};
    env = {{"USER", "ssh-user"}, {"REMOTE_USER", "web-user"}};
    CHECK(core::identify_pusher(&config, lookup).name == "ssh-user");
  }
}

TEST_CASE("core::decide_push: the first environment") {
  Server s;
  const std::string next = s.tweak(s.base, "concise");

  SUBCASE("a developer's fast-forward of valid content") {
    const auto d = s.decide({s.branch("dev", next)}, "alice");
    CHECK_MESSAGE(d.ok(), refusals(d));
  }
  SUBCASE("someone outside the write groups") {
    const auto d = s.decide({s.branch("dev", next)}, "bob");
    REQUIRE_FALSE(d.ok());
    CHECK(has(refusals(d), "bob (REMOTE_USER) may not push to dev (write groups: developers)"));
  }
  SUBCASE("not a fast-forward") {
    s.set_ref("refs/heads/dev", next);
    const std::string other = s.tweak(s.base, "friendly");
    const auto d = s.decide({s.branch("dev", other)}, "alice");
    REQUIRE_FALSE(d.ok());
    CHECK(has(refusals(d), "not a fast-forward"));
  }
  SUBCASE("deletion") {
    const auto d = s.decide({s.branch("dev", k_zero)}, "alice");
    CHECK(has(refusals(d), "deleting the branch of environment dev is not allowed"));
  }
  SUBCASE("invalid content in a changed file, even in an earlier commit of the push") {
    const std::string bad =
        s.commit({{"agents/broken.yaml", "kind: Agent\nname: other\n"}}, {s.base}, "broken");
    const std::string fixed_on_top = s.tweak(bad, "concise");
    const auto d = s.decide({s.branch("dev", fixed_on_top)}, "alice");
    REQUIRE_FALSE(d.ok());
    const std::string text = refusals(d);
    CHECK(has(text, "does not validate"));
    CHECK(has(text, "agents/broken.yaml"));
  }
  SUBCASE("removing an agent breaks the unchanged workflow that calls it") {
    const std::string removed = s.commit({}, {s.base}, "drop triage", {"agents/triage.yaml"});
    const auto d = s.decide({s.branch("dev", removed)}, "alice");
    REQUIRE_FALSE(d.ok());
    const std::string text = refusals(d);
    CHECK(has(text, "workflows/support-request.yaml"));
    CHECK(has(text, "[ref-agent]"));
  }
  SUBCASE("a problem only in an unchanged file is not the pusher's") {
    // Seed dev with a bad file (as if pushed before the hook existed).
    const std::string seeded =
        s.commit({{"channels/old.yaml", "kind: Channel\nname: mismatch\n"}}, {s.base}, "seed");
    s.set_ref("refs/heads/dev", seeded);
    const auto d = s.decide({s.branch("dev", s.tweak(seeded, "concise"))}, "alice");
    CHECK_MESSAGE(d.ok(), refusals(d));
  }
  SUBCASE("a new branch is checked from where it leaves the pipeline") {
    // dev created by push (as when a repository is seeded after the config).
    s.repo().update_refs({git::RefUpdate{"refs/heads/dev", s.base, std::nullopt}}, "test");
    const auto d = s.decide({RefMove{"refs/heads/dev", k_zero, next}}, "alice");
    CHECK_MESSAGE(d.ok(), refusals(d));
  }
}

TEST_CASE("core::decide_push: promotions") {
  Server s;
  const std::string next = s.tweak(s.base, "concise");
  s.set_ref("refs/heads/dev", next);

  SUBCASE("a release manager promotes dev into test") {
    const auto d = s.decide({s.branch("test", next)}, "bob");
    CHECK_MESSAGE(d.ok(), refusals(d));
  }
  SUBCASE("a developer may not promote") {
    const auto d = s.decide({s.branch("test", next)}, "alice");
    CHECK(has(refusals(d), "alice (REMOTE_USER) may not promote into test"));
  }
  SUBCASE("only to a commit the previous environment contains") {
    const std::string elsewhere = s.tweak(s.base, "friendly");
    const auto d = s.decide({s.branch("test", elsewhere)}, "bob");
    CHECK(has(refusals(d), "is not contained in dev (after this push)"));
  }
  SUBCASE("one atomic push promotes several steps") {
    const auto d = s.decide({s.branch("test", next), s.branch("production", next)}, "bob");
    CHECK_MESSAGE(d.ok(), refusals(d));
    const auto alone = s.decide({s.branch("production", next)}, "bob");
    CHECK(has(refusals(alone), "is not contained in test"));
  }
  SUBCASE("one bad ref rejects the whole push, naming it") {
    const auto d = s.decide({s.branch("test", next), s.branch("production", s.tweak(next, "x"))},
                            "bob");
    REQUIRE(d.refusals.size() == 1);
    CHECK(d.refusals[0].ref == "refs/heads/production");
  }
  SUBCASE("approvals") {
    s.config.environments[1].approvals = 1;
    s.write_config();
    auto d = s.decide({s.branch("test", next)}, "bob");
    CHECK(has(refusals(d), "needs 1 approval from release-managers (not counting bob), has 0"));

    core::AuditRecord own;
    own.op = "approve";
    own.env = "test";
    own.actor = "bob";
    own.commit = next;
    s.set_ref(core::k_audit_ref, s.audit_record(own));
    d = s.decide({s.branch("test", next)}, "bob");
    CHECK_MESSAGE(!d.ok(), "the promoter's own approval does not count");

    core::AuditRecord other = own;
    other.actor = "carol";
    s.set_ref(core::k_audit_ref, s.audit_record(other));
    d = s.decide({s.branch("test", next)}, "bob");
    CHECK_MESSAGE(d.ok(), refusals(d));
  }
  SUBCASE("the environment's overrides must fit the promoted content") {
    const std::string overrides = s.commit(
        {{"overrides.yaml", "variables:\n  max_turns: 5\n"}}, {}, "overrides");
    s.set_ref(core::local_ref("test"), overrides);
    const std::string removed =
        s.commit({}, {next}, "drop max_turns", {"variables/max_turns.yaml"});
    s.set_ref("refs/heads/dev", removed);
    const auto d = s.decide({s.branch("test", removed)}, "bob");
    CHECK(has(refusals(d), "max_turns: test"));
    CHECK(has(refusals(d), "declares no such variable"));
  }
}

TEST_CASE("core::decide_push: hotfixes on the last environment") {
  Server s;
  const std::string hotfix = s.tweak(s.base, "calm");

  SUBCASE("by a hotfixer") {
    const auto d = s.decide({s.branch("production", hotfix)}, "hank");
    CHECK_MESSAGE(d.ok(), refusals(d));
  }
  SUBCASE("by anyone else") {
    const auto d = s.decide({s.branch("production", hotfix)}, "bob");
    CHECK(has(refusals(d), "by a hotfix pushed by a hotfixer (hotfixers)"));
  }
  SUBCASE("hotfix content validates") {
    const std::string bad =
        s.commit({{"agents/support.yaml", "kind: Agent\nname: support\ntone: [\n"}}, {s.base},
                 "broken hotfix");
    const auto d = s.decide({s.branch("production", bad)}, "hank");
    CHECK(has(refusals(d), "does not validate"));
  }
  SUBCASE("a hotfix mixed with a promotion") {
    const std::string promoted = s.tweak(s.base, "concise");
    s.set_ref("refs/heads/dev", promoted);
    s.set_ref("refs/heads/test", promoted);
    const auto d = s.decide({s.branch("production", s.tweak(promoted, "calm"))}, "hank");
    CHECK(has(refusals(d), "mixes a promotion from test"));
  }
  SUBCASE("intermediate environments take no hotfix") {
    const auto d = s.decide({s.branch("test", hotfix)}, "hank");
    CHECK(has(refusals(d), "moves only by promotion from dev"));
  }
}

TEST_CASE("core::decide_push: release tags and live") {
  Server s;
  const std::string tag = s.release_tag("v1.0.0", s.base);
  const RefMove create{"refs/tags/v1.0.0", k_zero, tag};

  SUBCASE("a publisher creates an annotated release of production") {
    const auto d = s.decide({create, s.move(core::k_live_ref, tag)}, "paul");
    CHECK_MESSAGE(d.ok(), refusals(d));
  }
  SUBCASE("others may not") {
    CHECK(has(refusals(s.decide({create}, "alice")), "may not create release tags"));
  }
  SUBCASE("lightweight") {
    const auto d = s.decide({RefMove{"refs/tags/v1.0.0", k_zero, s.base}}, "paul");
    CHECK(has(refusals(d), "is a lightweight tag"));
  }
  SUBCASE("not a commit of the last environment") {
    const std::string elsewhere = s.tweak(s.base, "x");
    const auto d = s.decide({RefMove{"refs/tags/v1.1.0", k_zero,
                                     s.release_tag("v1.1.0", elsewhere)}},
                            "paul");
    CHECK(has(refusals(d), "which is not a commit of production"));
  }
  SUBCASE("the tag's own name must match") {
    const auto d = s.decide({RefMove{"refs/tags/v2.0.0", k_zero, tag}}, "paul");
    CHECK(has(refusals(d), "named v1.0.0 but is pushed as v2.0.0"));
  }
  SUBCASE("never moved, never deleted") {
    s.set_ref("refs/tags/v1.0.0", tag);
    const std::string other = s.release_tag("v1.0.0", s.base, "Again");
    REQUIRE(other != tag);
    CHECK(has(refusals(s.decide({RefMove{"refs/tags/v1.0.0", tag, other}}, "paul")),
              "never moved"));
    CHECK(has(refusals(s.decide({RefMove{"refs/tags/v1.0.0", tag, k_zero}}, "paul")),
              "never deleted"));
  }
  SUBCASE("signature required by the policy") {
    s.config.release_sign = true;
    s.write_config();
    const auto d = s.decide({create}, "paul");
    CHECK(has(refusals(d), "is not signed"));
  }
  SUBCASE("a tampered manifest") {
    const std::string changed = s.tweak(s.base, "x");
    s.set_ref("refs/heads/production", changed);
    const std::string raw = s.repo().tag(tag)->raw;
    const std::string forged = s.repo().write_tag_object(
        util::replace_all(util::replace_all(raw, s.base, changed), "v1.0.0", "v1.0.1"));
    const auto d = s.decide({RefMove{"refs/tags/v1.0.1", k_zero, forged}}, "paul");
    CHECK(has(refusals(d), "does not match the tagged tree"));
  }
  SUBCASE("live points at release tags only") {
    CHECK(has(refusals(s.decide({s.move(core::k_live_ref, s.base)}, "paul")),
              "must point at a release tag object"));
    s.set_ref("refs/tags/v1.0.0", tag);
    CHECK(s.decide({s.move(core::k_live_ref, tag)}, "paul").ok());
    CHECK(has(refusals(s.decide({s.move(core::k_live_ref, tag)}, "alice")),
              "may not move refs/envflow/live"));
    s.set_ref(core::k_live_ref, tag);
    CHECK(has(refusals(s.decide({s.move(core::k_live_ref, k_zero)}, "paul")),
              "deleting refs/envflow/live"));
  }
}

TEST_CASE("core::decide_push: local data and config") {
  Server s;
  const auto local = [&](const std::string& overrides) {
    return s.commit({{"overrides.yaml", overrides}}, {}, "local");
  };
  SUBCASE("an operator sets a fitting override") {
    const auto d =
        s.decide({s.move(core::local_ref("test"), local("variables:\n  max_turns: 5\n"))}, "olga");
    CHECK_MESSAGE(d.ok(), refusals(d));
  }
  SUBCASE("wrong type, unknown variable, malformed file") {
    CHECK(has(refusals(s.decide(
                  {s.move(core::local_ref("test"), local("variables:\n  max_turns: lots\n"))},
                  "olga")),
              "max_turns: value"));
    CHECK(has(refusals(s.decide(
                  {s.move(core::local_ref("test"), local("variables:\n  nope: 1\n"))}, "olga")),
              "declares no such variable"));
    CHECK_FALSE(
        s.decide({s.move(core::local_ref("test"), local("variables: [\n"))}, "olga").ok());
  }
  SUBCASE("a local guardrail that does not validate") {
    const std::string bad = s.commit({{"guardrails/pii.yaml", "kind: Guardrail\nname: other\n"}},
                                     {}, "guardrail");
    CHECK(has(refusals(s.decide({s.move(core::local_ref("test"), bad)}, "olga")),
              "does not validate"));
  }
  SUBCASE("outside the local groups, unknown environment, first environment") {
    const std::string fine = local("variables:\n  max_turns: 5\n");
    CHECK(has(refusals(s.decide({s.move(core::local_ref("test"), fine)}, "alice")),
              "may not change the local data of test"));
    CHECK(has(refusals(s.decide({s.move(core::local_ref("qa"), fine)}, "olga")),
              "no environment named 'qa'"));
    CHECK(has(refusals(s.decide({s.move(core::local_ref("dev"), fine)}, "olga")),
              "takes no overrides"));
  }
  SUBCASE("config: admins, and it must validate") {
    const auto old = s.repo().ref_target(core::k_config_ref);
    const std::string good = s.config_commit(core::render_config(s.config), old);
    CHECK(s.decide({s.move(core::k_config_ref, good)}, "adam").ok());
    CHECK(has(refusals(s.decide({s.move(core::k_config_ref, good)}, "alice")),
              "may not change the pipeline config (admins: admins)"));
    const std::string bad = s.config_commit("environments: 12\n", old);
    CHECK(has(refusals(s.decide({s.move(core::k_config_ref, bad)}, "adam")),
              "the pushed config is invalid"));
    CHECK(has(refusals(s.decide({s.move(core::k_config_ref, k_zero)}, "adam")),
              "deleting the pipeline config"));
  }
  SUBCASE("other refs/envflow refs: admins only; other refs: free") {
    CHECK_FALSE(s.decide({RefMove{"refs/envflow/other", k_zero, s.base}}, "alice").ok());
    CHECK(s.decide({RefMove{"refs/envflow/other", k_zero, s.base}}, "adam").ok());
    CHECK(s.decide({RefMove{"refs/heads/feature", k_zero, s.tweak(s.base, "x")}}, "alice").ok());
  }
  SUBCASE("identity required") {
    s.config.identity_required = true;
    s.write_config();
    const auto d = core::decide_push(s.repo(), {s.branch("dev", s.tweak(s.base, "x"))},
                                     core::Pusher{"alice", "ENVFLOW_ACTOR", false});
    REQUIRE(d.refusals.size() == 1);
    CHECK(d.refusals[0].ref.empty());
    CHECK(has(d.refusals[0].reason, "did not say who is pushing"));
  }
  SUBCASE("no policy yet: a repository is seeded") {
    s.repo().update_refs({git::RefUpdate{core::k_config_ref, s.repo().ref_target(core::k_config_ref),
                                         std::nullopt}},
                         "test");
    CHECK(s.decide({s.branch("production", s.tweak(s.base, "x"))}, "anyone").ok());
  }
}

TEST_CASE("core::decide_push: the audit trail") {
  Server s;
  const std::string next = s.tweak(s.base, "concise");
  s.set_ref("refs/heads/dev", next);
  core::AuditRecord sync;
  sync.op = "sync";
  sync.env = "test";
  sync.actor = "bob";
  sync.moves = {RefMove{"refs/heads/test", s.base, next}};

  SUBCASE("a client's records pushed with the moves they record") {
    const std::string record = s.audit_record(sync);
    const auto d = s.decide({s.branch("test", next), s.move(core::k_audit_ref, record)}, "bob");
    CHECK_MESSAGE(d.ok(), refusals(d));
  }
  SUBCASE("a record of a move the push does not make") {
    const std::string record = s.audit_record(sync);
    CHECK(has(refusals(s.decide({s.move(core::k_audit_ref, record)}, "bob")),
              "which this push does not do"));
  }
  SUBCASE("a second record of a move the trail already records") {
    s.set_ref("refs/heads/test", next);
    s.set_ref(core::k_audit_ref, s.audit_record(sync)); // the move and its record, pushed earlier
    const std::string replay = s.audit_record(sync);
    CHECK(has(refusals(s.decide({s.move(core::k_audit_ref, replay)}, "bob")),
              "which the audit trail already records: every move has exactly one record"));
  }
  SUBCASE("a move recorded by the server hook is not recorded again by a client") {
    core::AuditRecord push = sync;
    push.op = "push";
    s.set_ref("refs/heads/test", next);
    s.set_ref(core::k_audit_ref, s.audit_record(push));
    CHECK(has(refusals(s.decide({s.move(core::k_audit_ref, s.audit_record(sync))}, "bob")),
              "already records"));
  }
  SUBCASE("two records of one move in one push") {
    const std::string first = s.audit_record(sync);
    const std::string second = s.repo().write_commit(std::string(git::k_empty_tree_id), {first},
                                                     sync.to_message(), {"T", "t@x"}, 1);
    const auto d = s.decide({s.branch("test", next), s.move(core::k_audit_ref, second)}, "bob");
    CHECK(has(refusals(d), "of this push records too"));
  }
  SUBCASE("a record of a move that moves nothing") {
    core::AuditRecord still = sync;
    still.moves = {RefMove{"refs/heads/test", s.base, s.base}};
    CHECK(has(refusals(s.decide({s.move(core::k_audit_ref, s.audit_record(still))}, "bob")),
              "which this push does not do"));
  }
  SUBCASE("a move made before the hooks recorded it (a seeded server) may be recorded once") {
    s.set_ref("refs/heads/test", next);
    const auto d = s.decide({s.move(core::k_audit_ref, s.audit_record(sync))}, "bob");
    CHECK_MESSAGE(d.ok(), refusals(d));
  }
  SUBCASE("records by someone else: no forged approvals") {
    core::AuditRecord approval;
    approval.op = "approve";
    approval.env = "test";
    approval.actor = "carol";
    approval.commit = next;
    CHECK(has(refusals(s.decide({s.move(core::k_audit_ref, s.audit_record(approval))}, "bob")),
              "is by carol, but the push comes from bob"));
  }
  SUBCASE("never rewound or deleted") {
    core::AuditRecord approval;
    approval.op = "approve";
    approval.actor = "bob";
    const std::string first = s.audit_record(approval);
    s.set_ref(core::k_audit_ref, first);
    const std::string rewritten = s.repo().write_commit(
        std::string(git::k_empty_tree_id), {}, approval.to_message(), {"T", "t@x"}, 1);
    CHECK(has(refusals(s.decide({s.move(core::k_audit_ref, rewritten)}, "bob")),
              "not a fast-forward"));
    CHECK(has(refusals(s.decide({s.move(core::k_audit_ref, k_zero)}, "bob")),
              "deleting the audit trail"));
    s.set_ref("refs/envflow/backports", s.base);
    CHECK(has(refusals(s.decide({s.move("refs/envflow/backports", k_zero)}, "bob")),
              "deleting the back-port issues"));
  }
}

TEST_CASE("core::decide_push: back-port issues") {
  Server s;
  // A hotfix on production and its open issue 1, as `hotfix finish` leaves them.
  const std::string hotfix = s.tweak(s.base, "hotfixed");
  s.set_ref("refs/heads/production", hotfix);
  core::BackportIssue issue;
  issue.id = 1;
  issue.hotfix = "x";
  issue.hotfix_tag = "v1.0.1";
  issue.commits = {hotfix};
  issue.summary = "Hotfix";
  issue.environment = "production";
  issue.target = "dev";
  issue.opened_by = "hank";
  issue.opened_at = 1'700'000'000;
  const auto issues_commit = [&](const std::vector<core::BackportIssue>& issues,
                                 const std::vector<std::string>& parents) {
    std::map<std::string, std::string> files;
    for (const auto& i : issues) {
      files[i.file_name()] = i.to_yaml();
    }
    std::map<std::string, git::NewFile> entries;
    for (const auto& [path, text] : files) {
      entries[path] = git::NewFile{s.repo().write_blob(text), git::Mode::regular};
    }
    return s.repo().write_commit(s.repo().write_tree(entries), parents, "issues\n",
                                 {"T", "t@x"}, 1'700'000'000);
  };
  const std::string opened = issues_commit({issue}, {});
  const auto backports = [&](const std::string& to) { return s.move(core::k_backports_ref, to); };

  SUBCASE("a hotfixer opens an issue for hotfix commits on production") {
    const auto d = s.decide({backports(opened)}, "hank");
    CHECK_MESSAGE(d.ok(), refusals(d));
    CHECK(has(refusals(s.decide({backports(opened)}, "bob")),
              "back-port issue 1 is opened by bob (REMOTE_USER), who is not a hotfixer"));
  }
  s.set_ref(core::k_backports_ref, opened);
  core::BackportIssue closed = issue;
  closed.status = core::BackportIssue::Status::closed;
  closed.closed_by = "auto";
  closed.closed_at = 1'700'000'100;

  SUBCASE("closing before the hotfix is in dev") {
    closed.closed_in = s.base;
    CHECK(has(refusals(s.decide({backports(issues_commit({closed}, {opened}))}, "alice")),
              "back-port issue 1 is closed, but its hotfix commits are not all in dev"));
  }
  SUBCASE("closing with the hotfix brought into dev by the same push") {
    const std::string merge = s.commit({}, {s.base, hotfix}, "bring the hotfix back");
    closed.closed_in = merge;
    const auto d = s.decide({s.branch("dev", merge), backports(issues_commit({closed}, {opened}))},
                            "alice");
    CHECK_MESSAGE(d.ok(), refusals(d));
  }
  SUBCASE("rewriting, deleting, reopening") {
    core::BackportIssue rewritten = issue;
    rewritten.commits = {s.base};
    CHECK(has(refusals(s.decide({backports(issues_commit({rewritten}, {opened}))}, "bob")),
              "back-port issue 1 is rewritten"));
    CHECK(has(refusals(s.decide({backports(issues_commit({}, {opened}))}, "bob")),
              "back-port issue 1.yaml is deleted"));
    const std::string merge = s.commit({}, {s.base, hotfix}, "bring the hotfix back");
    s.set_ref("refs/heads/dev", merge);
    closed.closed_in = merge;
    const std::string done = issues_commit({closed}, {opened});
    s.set_ref(core::k_backports_ref, done);
    CHECK(has(refusals(s.decide({backports(issues_commit({issue}, {done}))}, "bob")),
              "back-port issue 1 is closed; a closed issue never changes"));
  }
  SUBCASE("not an issue file") {
    const std::string junk = s.repo().write_commit(
        s.repo().update_tree(s.repo().tree_of(opened),
                             {{"notes.txt", git::NewFile{s.repo().write_blob("x"), git::Mode::regular}}}),
        {opened}, "junk\n", {"T", "t@x"}, 1);
    CHECK(has(refusals(s.decide({backports(junk)}, "bob")), "is not a back-port issue file"));
  }
  SUBCASE("an admin may mend by hand") {
    core::BackportIssue mended = issue;
    mended.summary = "Hotfix (mended)";
    const auto d = s.decide({backports(issues_commit({mended}, {opened}))}, "adam");
    CHECK_MESSAGE(d.ok(), refusals(d));
  }
}

TEST_CASE("core::decide_push: a pushed config must grant what it asks for") {
  Server s;
  s.config.environments[1].approvals = 3;
  s.config.environments[1].approvers = {"release-managers"};
  const std::string impossible =
      s.config_commit(core::render_config(s.config), s.repo().ref_target(core::k_config_ref));
  CHECK(has(refusals(s.decide({s.move(core::k_config_ref, impossible)}, "adam")),
            "needs 3 approvals, but its approvers (release-managers) have 2 members"));
}

TEST_CASE("core::record_push") {
  Server s;
  const std::string next = s.tweak(s.base, "concise");
  const auto count = [&] { return core::read_audit(s.repo()).size(); };

  SUBCASE("one record per move, with the pusher") {
    const RefMove dev{"refs/heads/dev", s.base, next};
    const RefMove test{"refs/heads/test", s.base, next};
    s.set_ref("refs/heads/dev", next);
    s.set_ref("refs/heads/test", next);
    const auto result =
        core::record_push(s.repo(), {dev, test, RefMove{"refs/heads/feature", k_zero, next}},
                          as("bob"));
    REQUIRE(result.appended.size() == 2);
    const auto records = core::read_audit(s.repo());
    REQUIRE(records.size() == 2);
    CHECK(records[0].op == "push");
    CHECK(records[0].env == "dev");
    CHECK(records[0].actor == "bob");
    CHECK(records[1].env == "test");
    CHECK(has(records[1].note, "promotion dev -> test"));
    REQUIRE(records[1].moves.size() == 1);
    CHECK(records[1].moves[0].old_id == s.base);
    CHECK(records[1].moves[0].new_id == next);
  }
  SUBCASE("a move the client recorded itself is not recorded twice") {
    core::AuditRecord sync;
    sync.op = "sync";
    sync.env = "test";
    sync.actor = "bob";
    sync.moves = {RefMove{"refs/heads/test", s.base, next}};
    s.set_ref(core::k_audit_ref, s.audit_record(sync));
    s.set_ref("refs/heads/test", next);
    const auto result =
        core::record_push(s.repo(), {RefMove{"refs/heads/test", s.base, next}}, as("bob"));
    CHECK(result.appended.empty());
    CHECK(result.already.size() == 1);
    CHECK(count() == 1);
  }
  SUBCASE("a move that repeats an older one is recorded again") {
    const std::string a = s.release_tag("v1.0.0", s.base);
    const std::string b = s.release_tag("v1.0.1", s.base);
    core::record_push(s.repo(), {RefMove{core::k_live_ref, k_zero, a}}, as("paul"));
    core::record_push(s.repo(), {RefMove{core::k_live_ref, a, b}}, as("paul"));
    core::record_push(s.repo(), {RefMove{core::k_live_ref, b, a}}, as("paul"));
    const auto again = core::record_push(s.repo(), {RefMove{core::k_live_ref, a, b}}, as("paul"));
    CHECK(again.appended.size() == 1);
    CHECK(count() == 4);
  }
  SUBCASE("appends on top of a record written meanwhile") {
    core::AuditRecord other;
    other.op = "approve";
    other.actor = "carol";
    s.set_ref(core::k_audit_ref, s.audit_record(other));
    core::record_push(s.repo(), {RefMove{"refs/heads/dev", s.base, next}}, as("alice"));
    CHECK(count() == 2);
  }
}
