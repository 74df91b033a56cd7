#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "core/model/audit.h"
#include "core/pipeline/session.h"
#include "util/error.h"
#include "util/strings.h"
#include "util/time.h"

namespace envflow::cli {

namespace {

nlohmann::json record_json(const core::model::AuditRecord& record) {
  nlohmann::json moves = nlohmann::json::array();
  for (const auto& move : record.moves) {
    moves.push_back({{"ref", move.ref}, {"old", move.old_id}, {"new", move.new_id}});
  }
  return {{"op", record.op},         {"env", record.env},   {"actor", record.actor},
          {"time", util::iso_time(record.time)}, {"note", record.note}, {"moves", moves}};
}

nlohmann::json records_json(const std::vector<core::model::AuditRecord>& records) {
  nlohmann::json array = nlohmann::json::array();
  for (const auto& record : records) {
    array.push_back(record_json(record));
  }
  return array;
}

void print_records(const std::vector<core::model::AuditRecord>& records) {
  std::vector<std::vector<std::string>> rows{{"#", "TIME", "OP", "ENV", "NOTE"}};
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    rows.push_back({std::to_string(i + 1), util::iso_time(r.time), util::printable(r.op),
                    r.env.empty() ? "-" : util::printable(r.env), util::printable(r.note)});
  }
  print_table(rows);
}

} // namespace

Runner setup_push(CommandLine& app, Globals& globals) {
  auto list = std::make_shared<bool>(false);
  auto discard = std::make_shared<bool>(false);
  app.add_flag("--list", *list, "List the operations kept in this clone; send nothing");
  app.add_flag("--discard", *discard,
               "Drop the operations kept in this clone (its refs go back to the server's)");
  return [list, discard, &globals] {
    if (*list && *discard) {
      throw util::UsageError("push takes --list or --discard, not both");
    }
    core::pipeline::Session session = open_session(globals);
    if (!session.is_clone()) {
      throw util::UsageError("this repository holds the pipeline itself: nothing to push "
                             "(envflow push sends a clone's offline operations to its server)");
    }
    if (*list) {
      const auto pending = session.pending();
      if (globals.format == Format::json) {
        print_result({{"remote", session.remote()}, {"pending", records_json(pending)}}, session,
                     globals);
        return 0;
      }
      if (pending.empty()) {
        std::printf("nothing kept in this clone: it is in step with %s\n",
                    util::printable(session.remote()).c_str());
        return 0;
      }
      print_records(pending);
      return 0;
    }
    if (*discard) {
      const auto dropped = session.discard_pending();
      if (globals.format == Format::json) {
        print_result({{"remote", session.remote()}, {"discarded", records_json(dropped)}},
                     session, globals);
        return 0;
      }
      std::printf("discarded %zu operation%s kept in this clone; it reads %s again\n",
                  dropped.size(), dropped.size() == 1 ? "" : "s",
                  util::printable(session.remote()).c_str());
      return 0;
    }
    const size_t before = session.pending().size();
    core::pipeline::Session::Sent sent;
    try {
      sent = session.send_pending();
    } catch (const util::Error& e) {
      const size_t left = session.pending().size();
      throw util::Refused(std::string(e.what()) + "\n" + std::to_string(before - left) + " of " +
                          std::to_string(before) + " operation(s) sent; " +
                          std::to_string(left) + " kept here (envflow push --list): mend and run " +
                          "envflow push again, or drop them with envflow push --discard");
    }
    if (globals.format == Format::json) {
      print_result({{"remote", session.remote()},
                    {"sent", records_json(sent.sent)},
                    {"remote_said", sent.remote_said}},
                   session, globals);
      return 0;
    }
    for (const auto& line : sent.remote_said) {
      std::fprintf(stderr, "%s\n", util::printable(line).c_str());
    }
    if (sent.sent.empty()) {
      std::printf("nothing to push: this clone keeps no operation for %s\n",
                  util::printable(session.remote()).c_str());
      return 0;
    }
    std::printf("%s %zu operation%s to %s (one atomic push each):\n",
                paint(stdout, Color::green, "pushed").c_str(), sent.sent.size(),
                sent.sent.size() == 1 ? "" : "s", util::printable(session.remote()).c_str());
    print_records(sent.sent);
    return 0;
  };
}

} // namespace envflow::cli
