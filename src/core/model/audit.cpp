#include "core/model/audit.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "util/error.h"
#include "util/strings.h"
#include "util/time.h"

namespace envflow::core::model {

namespace {

// A field value on its one line: a line break in it would start another
// field (an actor "eve\nop: publish" would turn the record into a publish).
std::string one_line(const std::string& value) { return util::replace_all(value, "\n", " "); }

std::string id_or_zero(const std::optional<std::string>& id) {
  return id.value_or(std::string(git::k_zero_id));
}

} // namespace

std::string AuditRecord::to_message() const {
  std::string summary = "envflow " + one_line(op);
  if (!env.empty()) {
    summary += " " + one_line(env);
  }
  std::string body = summary + "\n\n";
  body += "op: " + one_line(op) + "\n";
  if (!env.empty()) {
    body += "env: " + one_line(env) + "\n";
  }
  body += "actor: " + one_line(actor) + "\n";
  body += "time: " + util::iso_time(time) + "\n";
  body += "tool: " + one_line(tool) + "\n";
  for (const auto& move : moves) {
    body += "move: " + one_line(move.ref) + " " + one_line(move.old_id) + " " +
            one_line(move.new_id) + "\n";
  }
  if (!commit.empty()) {
    body += "commit: " + one_line(commit) + "\n";
  }
  for (const auto& approval : approvals) {
    body += "approval: " + one_line(approval) + "\n";
  }
  if (!note.empty()) {
    body += "note: " + one_line(note) + "\n";
  }
  return body;
}

std::optional<AuditRecord> AuditRecord::from_message(const std::string& message) {
  AuditRecord record;
  for (const auto& raw : util::split(message, '\n')) {
    const auto field = util::split_field(raw);
    if (!field) {
      continue;
    }
    const auto& [key, value] = *field;
    if (key == "op") {
      record.op = value;
    } else if (key == "env") {
      record.env = value;
    } else if (key == "actor") {
      record.actor = value;
    } else if (key == "time") {
      record.time = util::parse_iso_time(value);
    } else if (key == "tool") {
      record.tool = value;
    } else if (key == "commit") {
      record.commit = value;
    } else if (key == "approval") {
      record.approvals.push_back(value);
    } else if (key == "note") {
      record.note = value;
    } else if (key == "move") {
      const auto parts = util::split(value, ' ');
      if (parts.size() != 3) {
        return std::nullopt;
      }
      record.moves.push_back(RefMove{parts[0], parts[1], parts[2]});
    }
  }
  if (record.op.empty()) {
    return std::nullopt;
  }
  return record;
}

std::string commit_with_audit(git::Repository& repo, const std::vector<git::RefUpdate>& updates,
                              AuditRecord record, const std::string& trail) {
  if (record.moves.empty()) {
    for (const auto& update : updates) {
      record.moves.push_back(RefMove{update.name, id_or_zero(update.expected),
                                     id_or_zero(update.target)});
    }
  }
  if (record.time == 0) {
    record.time = now();
  }
  if (record.tool.empty()) {
    record.tool = std::string("envflow ") + ENVFLOW_VERSION;
  }
  const std::string message = record.to_message();
  const git::Person person{record.actor.empty() ? "envflow" : record.actor,
                           record.actor.find('@') != std::string::npos ? record.actor
                                                                       : "envflow@localhost"};
  constexpr int k_attempts = 50;
  for (int attempt = 1;; ++attempt) {
    const std::optional<std::string> head = repo.ref_target(trail);
    std::vector<std::string> parents;
    if (head) {
      parents.push_back(*head);
    }
    // Objects first, refs last: a crash before the transaction leaves only
    // an unreachable commit behind.
    const std::string commit = repo.write_commit(std::string(git::k_empty_tree_id), parents,
                                                 message, person, record.time);
    std::vector<git::RefUpdate> all = updates;
    all.push_back(git::RefUpdate{trail, head, commit});
    try {
      repo.update_refs(all, "envflow: " + record.op);
      return commit;
    } catch (const util::RefConflict& conflict) {
      if (conflict.ref() != trail || attempt == k_attempts) {
        throw;
      }
      // Someone appended a record first: back off a little, re-parent, retry.
      std::this_thread::sleep_for(std::chrono::milliseconds(1 + (attempt * 7) % 23));
    }
  }
}

void walk_audit(const git::Repository& repo, const std::string& trail,
                const std::function<bool(const AuditRecord&)>& visit) {
  std::optional<std::string> id = util::starts_with(trail, "refs/") ? repo.ref_target(trail)
                                                                     : std::optional(trail);
  // The trail is a chain: follow first parents, one commit at a time.
  while (id) {
    const git::CommitInfo info = repo.commit(*id);
    if (auto record = AuditRecord::from_message(info.message)) {
      record->id = *id;
      if (!visit(*record)) {
        return;
      }
    }
    id = info.parents.empty() ? std::nullopt : std::optional(info.parents.front());
  }
}

std::vector<AuditRecord> read_audit(const git::Repository& repo, const std::string& trail) {
  std::vector<AuditRecord> records;
  walk_audit(repo, trail, [&](const AuditRecord& record) {
    records.push_back(record);
    return true;
  });
  std::reverse(records.begin(), records.end());
  return records;
}

std::int64_t now() { return util::now(); }

} // namespace envflow::core::model
