#include <functional>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "core/model/audit.h"
#include "core/model/refs.h"
#include "core/pipeline/session.h"
#include "core/policy/config.h"
#include "core/records/overrides.h"
#include "util/error.h"
#include "util/strings.h"
#include "util/time.h"

namespace envflow::cli {

namespace {

struct LogArgs {
  std::string env;
  std::string op;
  std::string by;
  std::size_t max_count = 0; // 0: all
};

// Text rows are printed in pages of this many, each page aligned on its own
// and flushed, so the newest records show at once however long the trail.
constexpr std::size_t k_page_rows = 100;

// "refs/heads/test" -> "test", "refs/tags/v1.0.0" -> "v1.0.0",
// "refs/envflow/live" -> "envflow/live".
std::string short_ref(const std::string& ref) {
  for (const std::string_view prefix : {"refs/heads/", "refs/tags/", "refs/"}) {
    if (util::starts_with(ref, prefix)) {
      return ref.substr(prefix.size());
    }
  }
  return ref;
}

// "test 1a2b3c4..5d6e7f8"; "+5d6e7f8" when created, "-1a2b3c4" when deleted.
std::string describe_move(const core::model::RefMove& move) {
  const bool created = core::model::is_zero(move.old_id);
  const bool deleted = core::model::is_zero(move.new_id);
  std::string text = short_ref(move.ref) + " ";
  if (created) {
    return text + "+" + move.new_id.substr(0, 7);
  }
  if (deleted) {
    return text + "-" + move.old_id.substr(0, 7);
  }
  return text + move.old_id.substr(0, 7) + ".." + move.new_id.substr(0, 7);
}

nlohmann::json string_or_null(const std::string& text) {
  return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
}

nlohmann::json to_json(const core::model::AuditRecord& record) {
  nlohmann::json moves = nlohmann::json::array();
  for (const auto& move : record.moves) {
    moves.push_back({{"ref", move.ref}, {"old", move.old_id}, {"new", move.new_id}});
  }
  return {{"id", record.id},
          {"op", record.op},
          {"env", string_or_null(record.env)},
          {"actor", record.actor},
          {"time", util::iso_time(record.time)},
          {"tool", record.tool},
          {"commit", string_or_null(record.commit)},
          {"approvals", record.approvals},
          {"note", string_or_null(record.note)},
          {"moves", moves}};
}

// True when `record` concerns environment `env`: it names it, or moves its
// branch or its local ref.
bool concerns(const core::model::AuditRecord& record, const std::string& env,
              const std::string& branch) {
  if (record.env == env) {
    return true;
  }
  for (const auto& move : record.moves) {
    if (move.ref == "refs/heads/" + branch || move.ref == "refs/envflow/local/" + env) {
      return true;
    }
  }
  return false;
}

} // namespace

Runner setup_log(CommandLine& app, Globals& globals) {
  auto args = std::make_shared<LogArgs>();
  app.add_option("--env", args->env,
                 "Only records about this environment (naming it, or moving its branch or "
                 "local ref)")
      .option_text("ENV");
  app.add_option("--op", args->op, "Only records of this operation (sync, publish, ...)")
      .option_text("OP");
  app.add_option("--by", args->by, "Only records of this person").option_text("ACTOR");
  app.add_option("-n,--max-count", args->max_count,
                 "Only the newest N records (as git log -n); all when 0")
      .option_text("N");
  return [args, &globals] {
    core::pipeline::Session session = open_session(globals);
    if (globals.format == Format::json) {
      print_notes(session); // the output is an array
    }
    const auto trail = session.refs().target(core::model::k_audit_ref);
    if (!session.has_config() && !trail) {
      session.config(); // says how to start; throws
    }
    const core::policy::PipelineConfig* config = session.has_config() ? &session.config() : nullptr;
    std::string branch = args->env;
    if (!args->env.empty() && config) {
      branch = core::records::require_environment(*config, args->env).branch;
    }

    // Newest first: the operations this clone keeps until envflow push
    // (marked pending), then the authority's trail (in a clone: the
    // server's, as fetched) from its tip back, read only as far as needed.
    const auto wanted = [&](const core::model::AuditRecord& record) {
      return (args->env.empty() || concerns(record, args->env, branch)) &&
             (args->op.empty() || record.op == args->op) &&
             (args->by.empty() ||
              record.actor == (config ? config->person(args->by) : args->by));
    };
    const auto visit_newest_first =
        [&](const std::function<bool(const core::model::AuditRecord&, bool)>& visit) {
          std::vector<core::model::AuditRecord> pending = session.pending();
          for (auto it = pending.rbegin(); it != pending.rend(); ++it) {
            if (wanted(*it) && !visit(*it, true)) {
              return;
            }
          }
          session.walk_trail([&](const core::model::AuditRecord& record) {
            return !wanted(record) || visit(record, false);
          });
        };
    const auto room = [&](std::size_t shown) {
      return args->max_count == 0 || shown < args->max_count;
    };

    if (globals.format == Format::json) {
      // Oldest first, as documented: the selected records, then reversed.
      std::vector<nlohmann::json> rows;
      visit_newest_first([&](const core::model::AuditRecord& record, bool pending) {
        nlohmann::json row = to_json(record);
        row["pending"] = pending;
        rows.push_back(std::move(row));
        return room(rows.size());
      });
      nlohmann::json array = nlohmann::json::array();
      for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
        array.push_back(std::move(*it));
      }
      print_json(array);
      return 0;
    }
    std::size_t shown = 0;
    const auto person = [config](const std::string& who) {
      return config != nullptr ? config->person(who) : who;
    };
    std::vector<std::vector<std::string>> rows{{"TIME", "OP", "ENV", "ACTOR", "MOVES", "NOTE"}};
    const auto flush_page = [&] {
      print_table(rows);
      std::cout.flush();
      rows.clear();
    };
    visit_newest_first([&](const core::model::AuditRecord& record, bool pending) {
      std::vector<std::string> moves;
      for (const auto& move : record.moves) {
        moves.push_back(describe_move(move));
      }
      // Who approved a promotion (the approvals it counted) goes with the note.
      std::string note = record.note;
      if (!record.approvals.empty()) {
        std::vector<std::string> approvers;
        for (const auto& approver : record.approvals) {
          approvers.push_back(person(approver));
        }
        note += (note.empty() ? "" : "; ") + std::string("approved by ") +
                util::join(approvers, ", ");
      }
      rows.push_back({util::iso_time(record.time) + (pending ? " (pending)" : ""),
                      util::printable(record.op),
                      record.env.empty() ? "-" : util::printable(record.env),
                      util::printable(person(record.actor)),
                      moves.empty() ? "-" : util::printable(util::join(moves, ", ")),
                      util::printable(note)});
      ++shown;
      if (rows.size() >= k_page_rows) {
        flush_page();
      }
      return room(shown);
    });
    if (shown == 0) {
      std::printf("no audit records%s\n",
                  args->env.empty() && args->op.empty() && args->by.empty() ? "" : " match");
      return 0;
    }
    if (!rows.empty()) {
      flush_page();
    }
    return 0;
  };
}

} // namespace envflow::cli
