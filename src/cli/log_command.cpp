#include <ctime>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/documents.h"
#include "cli/output.h"
#include "core/audit.h"
#include "core/config.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::cli {

namespace {

std::string iso_time(std::int64_t seconds) {
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

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
std::string describe_move(const core::RefMove& move) {
  const bool created = move.old_id == git::k_zero_id;
  const bool deleted = move.new_id == git::k_zero_id;
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

nlohmann::json to_json(const core::AuditRecord& record) {
  nlohmann::json moves = nlohmann::json::array();
  for (const auto& move : record.moves) {
    moves.push_back({{"ref", move.ref}, {"old", move.old_id}, {"new", move.new_id}});
  }
  return {{"id", record.id},
          {"op", record.op},
          {"env", string_or_null(record.env)},
          {"actor", record.actor},
          {"time", iso_time(record.time)},
          {"tool", record.tool},
          {"commit", string_or_null(record.commit)},
          {"approvals", record.approvals},
          {"note", string_or_null(record.note)},
          {"moves", moves}};
}

// True when `record` concerns environment `env`: it names it, or moves its
// branch or its local ref.
bool concerns(const core::AuditRecord& record, const std::string& env, const std::string& branch) {
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

std::vector<core::AuditRecord> log_records(const git::Repository& repo, const LogFilter& filter) {
  const auto config = core::load_config(repo);
  if (!config && !repo.ref_target(core::k_audit_ref)) {
    core::require_config(repo); // says how to start; throws
  }
  std::string branch = filter.env;
  if (!filter.env.empty() && config) {
    const core::Environment* env = config->find(filter.env);
    if (env == nullptr) {
      std::vector<std::string> names;
      for (const auto& e : config->environments) {
        names.push_back(e.name);
      }
      throw util::UsageError("unknown environment '" + filter.env + "'; the pipeline has " +
                             util::join(names, ", "));
    }
    branch = env->branch;
  }
  std::vector<core::AuditRecord> records;
  for (auto& record : core::read_audit(repo)) {
    if ((filter.env.empty() || concerns(record, filter.env, branch)) &&
        (filter.op.empty() || record.op == filter.op) &&
        (filter.actor.empty() || record.actor == filter.actor)) {
      records.push_back(std::move(record));
    }
  }
  return records;
}

nlohmann::json log_document(const std::vector<core::AuditRecord>& records) {
  nlohmann::json array = nlohmann::json::array();
  for (const auto& record : records) {
    array.push_back(to_json(record));
  }
  return array;
}

Runner setup_log(CLI::App& app, Globals& globals) {
  auto filter = std::make_shared<LogFilter>();
  app.add_option("--env", filter->env,
                 "Only records about this environment (naming it, or moving its branch or "
                 "local ref)")
      ->option_text("ENV");
  app.add_option("--op", filter->op, "Only records of this operation (sync, publish, ...)")
      ->option_text("OP");
  app.add_option("--by", filter->actor, "Only records of this actor")->option_text("ACTOR");
  return [filter, &globals] {
    const git::Repository repo = git::Repository::open(".");
    const std::vector<core::AuditRecord> records = log_records(repo, *filter);
    if (globals.format == Format::json) {
      print_json(log_document(records));
      return 0;
    }
    if (records.empty()) {
      const bool filtered = !filter->env.empty() || !filter->op.empty() || !filter->actor.empty();
      std::printf("no audit records%s\n", filtered ? " match" : "");
      return 0;
    }
    std::vector<std::vector<std::string>> rows{{"TIME", "OP", "ENV", "ACTOR", "MOVES", "NOTE"}};
    for (const auto& record : records) {
      std::vector<std::string> moves;
      for (const auto& move : record.moves) {
        moves.push_back(describe_move(move));
      }
      rows.push_back({iso_time(record.time), record.op, record.env.empty() ? "-" : record.env,
                      record.actor, moves.empty() ? "-" : util::join(moves, ", "), record.note});
    }
    print_table(rows);
    return 0;
  };
}

} // namespace envflow::cli
