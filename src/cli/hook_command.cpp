#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>

#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "core/admin/hooks.h"
#include "core/model/audit.h"
#include "core/pipeline/events.h"
#include "core/pipeline/rules.h"
#include "core/policy/config.h"
#include "core/remote/remote.h"
#include "core/server/server_hooks.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::cli {

namespace {

// Server hooks talk to the pusher through stderr: git shows each line as
// "remote: envflow: ...". Names from the push (refs, paths, reasons) are
// escaped: they reach another person's terminal.
void say(const std::string& text) {
  for (const auto& line : util::split(text, '\n')) {
    std::fprintf(stderr, "envflow: %s\n", util::printable(line).c_str());
  }
}

std::string read_stdin() {
  std::ostringstream buffer;
  buffer << std::cin.rdbuf();
  return buffer.str();
}

// The policy as it is now, for identifying the pusher; nullptr when there is
// none or it does not load (decide_push reports the latter).
std::optional<core::policy::PipelineConfig> policy(const git::Repository& repo) {
  try {
    return core::policy::load_config(repo);
  } catch (const util::Error&) {
    return std::nullopt;
  }
}

// What the client said with its push options (git push -o / --push-option):
// GIT_PUSH_OPTION_COUNT and GIT_PUSH_OPTION_<n>.
core::remote::PushIntent push_intent() {
  std::vector<std::string> options;
  const auto count = core::server::process_env("GIT_PUSH_OPTION_COUNT");
  int n = 0;
  try {
    n = count ? std::stoi(*count) : 0;
  } catch (const std::exception&) {
    n = 0;
  }
  for (int i = 0; i < n && i < 100; ++i) {
    if (auto option = core::server::process_env("GIT_PUSH_OPTION_" + std::to_string(i))) {
      options.push_back(*option);
    }
  }
  return core::remote::intent_from_push_options(options);
}

int decide(const std::vector<core::model::RefMove>& updates, content::ResultCache* cache) {
  // From the environment: during pre-receive git keeps the pushed objects
  // in quarantine, which only GIT_OBJECT_DIRECTORY and its alternates show.
  const git::Repository repo = git::Repository::open(".", git::Repository::Open::from_env);
  const auto config = policy(repo);
  const core::pipeline::Actor pusher = core::server::identify_pusher(config ? &*config : nullptr);
  const core::pipeline::Judgement decision =
      core::server::decide_push(repo, cache, updates, pusher, push_intent());
  if (decision.ok()) {
    for (const auto& note : decision.notes) {
      say(note);
    }
    return 0;
  }
  say("push rejected, nothing was changed (" + pusher.describe() + "): " +
      std::to_string(decision.refusals.size()) + " problem" +
      (decision.refusals.size() == 1 ? "" : "s") + " below; the whole push is refused when one "
      "ref is");
  for (const auto& refusal : decision.refusals) {
    say((refusal.ref.empty() ? std::string("push") : refusal.ref) + ": " + refusal.reason);
  }
  return static_cast<int>(util::Exit::refused);
}

// Send the events of the records this hook wrote, with the policy in force.
void announce(const git::Repository& repo,
              const std::optional<core::policy::PipelineConfig>& config,
              const std::vector<core::model::AuditRecord>& written) {
  if (config && !written.empty()) {
    core::pipeline::emit_events_for_records(repo, *config, written);
  }
}

int record(const std::vector<core::model::RefMove>& updates, content::ResultCache* cache) {
  git::Repository repo = git::Repository::open(".", git::Repository::Open::from_env);
  const auto config = policy(repo);
  const core::pipeline::Actor pusher = core::server::identify_pusher(config ? &*config : nullptr);
  // The records this hook writes are announced here: the server is the one
  // writer of the trail, so it is the one sender of events.
  std::vector<core::model::AuditRecord> written;
  try {
    const core::server::PushRecord result =
        core::server::record_push(repo, cache, updates, pusher, push_intent(), &written);
    for (const auto& appended : result.appended) {
      say("audit: " + appended.op + " recorded for " + pusher.describe());
    }
    for (const auto& note : result.notes) {
      say(note);
    }
  } catch (const util::Error& e) {
    // The push has happened; say loudly what is missing so it can be mended.
    say(std::string("error: the push was accepted but its audit records were not written: ") +
        e.what() + " (envflow doctor shows the gap)");
    announce(repo, config, written);
    return static_cast<int>(e.exit());
  }
  announce(repo, config, written);
  return 0;
}

} // namespace

Runner setup_hook(CLI::App& app, Globals& globals) {
  auto name = std::make_shared<std::string>();
  auto rest = std::make_shared<std::vector<std::string>>();
  app.add_option("name", *name, "The hook git runs")
      ->required()
      ->check(CLI::IsMember({"pre-commit", "pre-receive", "update", "post-receive"}))
      ->option_text("pre-commit|pre-receive|update|post-receive");
  app.add_option("args", *rest, "Arguments git passes to the hook");
  return [name, rest, &globals] {
    if (*name == "pre-receive") {
      return decide(core::server::parse_ref_updates(read_stdin()), globals.cache);
    }
    if (*name == "update") {
      // git's update hook: REF OLD NEW, one ref at a time. It sees a single
      // ref, so a push that promotes several steps at once needs pre-receive.
      if (rest->size() != 3) {
        throw util::UsageError("the update hook takes REF OLD NEW");
      }
      return decide(
          core::server::parse_ref_updates((*rest)[1] + " " + (*rest)[2] + " " + (*rest)[0]),
          globals.cache);
    }
    if (*name == "post-receive") {
      return record(core::server::parse_ref_updates(read_stdin()), globals.cache);
    }
    const git::Repository repo = git::Repository::open(".");
    const content::ValidationReport report = core::admin::run_pre_commit(repo, globals.cache);
    if (!report.ok()) {
      print_diagnostics(stderr, report.diagnostics, globals.format);
      throw util::Refused("commit refused: " + std::to_string(report.diagnostics.size()) +
                          " problem(s) in the staged content; fix them, git add, and commit "
                          "again");
    }
    return 0;
  };
}

} // namespace envflow::cli
