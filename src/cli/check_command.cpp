#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "core/model/refs.h"
#include "core/pipeline/checks.h"
#include "core/pipeline/session.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::cli {

namespace {

// Output lines of a failed check shown in text mode (all of it is recorded).
constexpr size_t k_shown_lines = 10;

nlohmann::json report_json(const core::pipeline::CheckReport& report) {
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& run : report.runs) {
    nlohmann::json item = run.result.to_json();
    item["ran"] = run.ran;
    item["ref"] = core::model::check_ref(report.env, report.commit, run.result.name);
    checks.push_back(std::move(item));
  }
  return {{"env", report.env},       {"source", report.source},
          {"commit", report.commit}, {"bundle_digest", report.digest},
          {"ok", report.ok()},       {"checks", checks}};
}

void print_report(const core::pipeline::CheckReport& report) {
  for (const auto& run : report.runs) {
    const core::pipeline::CheckResult& r = run.result;
    const std::string outcome = r.passed() ? paint(stdout, Color::green, "passed")
                                           : paint(stdout, Color::red, r.outcome());
    std::printf("check %s on %s for %s: %s (%s)\n", util::printable(r.name).c_str(),
                util::printable(report.env).c_str(), core::model::short_id(report.commit).c_str(),
                outcome.c_str(),
                run.ran ? (std::to_string(r.duration_ms) + " ms").c_str()
                        : "recorded earlier, kept");
    if (!r.passed()) {
      auto lines = util::split(std::string(util::trim(r.output)), '\n');
      if (lines.size() > k_shown_lines) {
        lines.erase(lines.begin(), lines.end() - static_cast<long>(k_shown_lines));
      }
      for (const auto& line : lines) {
        std::printf("  | %s\n", util::printable(line).c_str());
      }
    }
  }
}

} // namespace

Runner setup_check(CommandLine& app, Globals& globals) {
  const std::shared_ptr<Candidate> candidate = app.add_candidate("check");
  return [candidate, &globals] {
    core::pipeline::Session session = open_session(globals);
    const core::pipeline::CheckReport report =
        core::pipeline::run_checks(session, candidate->env, candidate->rev);
    if (globals.format == Format::json) {
      print_result(report_json(report), session, globals);
    } else {
      print_report(report);
      print_result(nullptr, session, globals);
    }
    if (report.ok()) {
      return 0;
    }
    size_t failed = 0;
    for (const auto& run : report.runs) {
      failed += run.result.passed() ? 0 : 1;
    }
    std::fflush(stdout);
    std::fprintf(stderr,
                 "envflow: error: %zu of %zu checks failed for promoting %s into %s; the results "
                 "are recorded, and a sync into %s is refused until they pass\n",
                 failed, report.runs.size(), core::model::short_id(report.commit).c_str(),
                 util::printable(report.env).c_str(), util::printable(report.env).c_str());
    return static_cast<int>(util::Exit::refused);
  };
}

} // namespace envflow::cli
