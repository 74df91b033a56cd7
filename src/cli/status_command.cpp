#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "core/pipeline/session.h"
#include "core/pipeline/status.h"
#include "core/records/approvals.h"
#include "util/strings.h"

namespace envflow::cli {

Runner setup_status(CommandLine& /*app*/, Globals& globals) {
  return [&globals] {
    core::pipeline::Session session = open_session(globals);
    const core::pipeline::PipelineStatus status =
        core::pipeline::pipeline_status(session.pipeline());
    const size_t pending = session.pending().size();
    if (globals.format == Format::json) {
      nlohmann::json out = status.to_json();
      out["pending_operations"] = pending;
      print_result(out, session, globals);
      return 0;
    }
    std::vector<std::vector<std::string>> rows{
        {"ENV", "BRANCH", "HEAD", "WAITING", "CHANGES", "APPROVALS", "NOTES"}};
    std::vector<std::string> problems;
    for (const auto& e : status.environments) {
      std::string waiting = "-";
      std::string changes = "-";
      std::string approvals = "-";
      if (!e.next.empty()) {
        waiting = e.waiting_commits == 0 ? "in sync"
                                         : std::to_string(e.waiting_commits) + " → " + e.next;
        if (e.waiting_commits > 0) {
          changes = "+" + std::to_string(e.waiting_added) + " ~" +
                    std::to_string(e.waiting_changed) + " -" + std::to_string(e.waiting_removed);
          if (e.waiting_breaking) {
            changes += " breaking";
          }
          if (e.approvals_required > 0) {
            approvals = core::records::approvals_text(static_cast<size_t>(e.approvals),
                                                      e.approvals_required);
          }
        }
      }
      std::string notes;
      if (&e == &status.environments.back() && status.live) {
        notes = "live " + *status.live;
        if (status.live_commit && *status.live_commit != e.head) {
          notes += " (head ahead of live)";
        }
      }
      if (e.auto_promote) {
        notes += (notes.empty() ? "" : "; ") + std::string("auto");
      }
      if (e.hold) {
        notes += (notes.empty() ? "" : "; ") + std::string("HELD (") + e.hold->kind_name() +
                 ": envflow hold list)";
      }
      if (!e.checks.empty()) {
        std::string text;
        for (const auto& [name, state] : e.checks) {
          text += (text.empty() ? "" : ", ") + util::printable(name) + " " + state;
        }
        notes += (notes.empty() ? "" : "; ") + std::string("checks into ") +
                 util::printable(e.next) + ": " + text;
      }
      for (const auto& n : e.notes) {
        notes += (notes.empty() ? "" : "; ") + util::printable(n);
      }
      for (const auto& p : e.problems) {
        problems.push_back(e.name + ": " + p);
        notes += (notes.empty() ? "" : "; ") + std::string("BROKEN");
      }
      rows.push_back({util::printable(e.name), util::printable(e.branch),
                      e.head.empty() ? "(missing)" : e.head.substr(0, 7),
                      waiting, changes, approvals, notes});
    }
    print_table(rows);
    if (status.open_backports > 0) {
      std::printf("\n%s\n",
                  paint(stdout, Color::yellow,
                        std::to_string(status.open_backports) +
                            " open back-port(s): envflow backport list")
                      .c_str());
    }
    for (const auto& p : problems) {
      std::printf("%s %s\n", paint(stdout, Color::red, "broken:").c_str(),
                  util::printable(p).c_str());
    }
    if (pending > 0) {
      std::printf("\n%s\n", paint(stdout, Color::yellow,
                                   std::to_string(pending) + " operation(s) kept in this clone, "
                                   "not on " + session.remote() + " yet: envflow push")
                                 .c_str());
    }
    if (!problems.empty()) {
      std::printf("run envflow doctor for how to mend it\n");
    }
    return 0;
  };
}

} // namespace envflow::cli
