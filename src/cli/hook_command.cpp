#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/command.h"
#include "cli/output.h"
#include "core/admin/hooks.h"
#include "core/model/audit.h"
#include "core/pipeline/rules.h"
#include "core/remote/remote.h"
#include "core/server/server_hooks.h"
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
  const auto [pusher, decision] =
      core::server::run_pre_receive(".", cache, updates, push_intent());
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

int record(const std::vector<core::model::RefMove>& updates, content::ResultCache* cache) {
  try {
    const auto [pusher, result] =
        core::server::run_post_receive(".", cache, updates, push_intent());
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
    return static_cast<int>(e.exit());
  }
  return 0;
}

} // namespace

Runner setup_hook(CommandLine& app, Globals& globals) {
  auto name = std::make_shared<std::string>();
  auto rest = std::make_shared<std::vector<std::string>>();
  app.add_option("name", *name, "The hook git runs")
      .required()
      .choices({"pre-commit", "pre-receive", "update", "post-receive"})
      .option_text("pre-commit|pre-receive|update|post-receive");
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
    const content::ValidationReport report = core::admin::run_pre_commit(".", globals.cache);
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
