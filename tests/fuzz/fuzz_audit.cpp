// Fuzz target: core::model::AuditRecord::from_message, the reader of the commit
// messages on refs/envflow/audit (`envflow log`, `envflow doctor`), and its
// writer to_message: a record envflow writes must read back as itself, or
// the trail could say someone did what they did not.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/model/audit.h"
#include "fuzz_check.h"
#include "util/strings.h"

namespace {

using envflow::core::model::AuditRecord;
using envflow::fuzz::expect;

// The input as a message: what is read back is written and read back alike.
void check_reader(const std::string& message) {
  const auto record = AuditRecord::from_message(message);
  if (!record) {
    return;
  }
  expect(!record->op.empty(), "a record without an operation");
  const std::string written = record->to_message();
  const auto reread = AuditRecord::from_message(written);
  expect(reread.has_value(), [&] { return "a written record does not read back:\n" + written; });
  if (const std::string again = reread->to_message(); again != written) {
    expect(false, "a written record reads back differently:\n" + written + "---\n" + again);
  }
}

// A record is one line per field: a field's own line breaks become spaces.
std::string one_line(const std::string& text) {
  return envflow::util::replace_all(text, "\n", " ");
}

// The input as field values (separated by NUL bytes: op, env, actor, tool,
// commit, note, then approvals), as a caller could pass them (an actor name
// from --actor, a note from a message): written, they read back as given.
void check_writer(const std::string& input) {
  const std::vector<std::string> fields = envflow::util::split(input, '\0');
  const auto field = [&fields](std::size_t i) { return i < fields.size() ? fields[i] : ""; };
  AuditRecord record;
  record.op = field(0).empty() ? "sync" : field(0);
  record.env = field(1);
  record.actor = field(2);
  record.tool = field(3);
  record.commit = field(4);
  record.note = field(5);
  for (std::size_t i = 6; i < fields.size(); ++i) {
    record.approvals.push_back(fields[i]);
  }
  record.time = 1767225600; // 2026-01-01T00:00:00Z
  record.moves.push_back({"refs/heads/test", std::string(40, '0'), std::string(40, 'a')});

  const std::string written = record.to_message();
  const auto reread = AuditRecord::from_message(written);
  expect(reread.has_value(), [&] { return "a written record does not read back:\n" + written; });
  const auto same = [](const std::string& read, const std::string& written) {
    return read == one_line(written);
  };
  expect(same(reread->op, record.op) && same(reread->env, record.env) &&
             same(reread->actor, record.actor) && same(reread->tool, record.tool) &&
             same(reread->commit, record.commit) && same(reread->note, record.note) &&
             reread->time == record.time && reread->moves.size() == 1 &&
             reread->approvals.size() == record.approvals.size(),
         [&] { return "a written record reads back as another record:\n" + written; });
  for (std::size_t i = 0; i < record.approvals.size(); ++i) {
    if (!same(reread->approvals[i], record.approvals[i])) {
      expect(false, "an approval reads back as another:\n" + written);
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  check_reader(input);
  check_writer(input);
  return 0;
}
