#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "core/model/refs.h"
#include "core/pipeline/session.h"
#include "core/pipeline/sync.h"
#include "core/records/approvals.h"
#include "util/strings.h"

namespace envflow::cli {

Runner setup_approve(CommandLine& app, Globals& globals) {
  const std::shared_ptr<Candidate> candidate = app.add_candidate("approve");
  return [candidate, &globals] {
    core::pipeline::Session session = open_session(globals);
    const core::pipeline::ApproveResult result =
        core::pipeline::approve(session, candidate->env, candidate->rev);
    const std::string counted =
        core::records::approvals_text(result.approvals.size(), result.required);
    if (globals.format == Format::json) {
      print_result({{"env", result.env},
                    {"commit", result.commit},
                    {"hotfix", result.hotfix},
                    {"already", result.already},
                    {"approvals", result.approvals},
                    {"required", result.required},
                    {"approvals_text", counted}},
                   session, globals);
      return 0;
    }
    std::printf("%s %s%s into %s by %s (%s)\n", result.already ? "already approved" : "approved",
                result.hotfix ? "hotfix " : "", core::model::short_id(result.commit).c_str(),
                util::printable(result.env).c_str(), util::printable(session.actor()).c_str(),
                counted.c_str());
    print_result(nullptr, session, globals);
    return 0;
  };
}

} // namespace envflow::cli
