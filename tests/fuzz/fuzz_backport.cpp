// Fuzz target: core::records::BackportIssue::parse, the reader of the `<id>.yaml`
// records on refs/envflow/backports.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/records/backport.h"
#include "fuzz_check.h"
#include "util/error.h"

namespace {

using envflow::core::records::BackportIssue;
using envflow::fuzz::expect;

constexpr const char* k_where = "refs/envflow/backports:fuzz.yaml";

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  BackportIssue issue;
  try {
    issue = BackportIssue::parse(text, k_where);
  } catch (const envflow::util::Refused& refused) {
    // A malformed record is refused naming the file, line and column.
    const std::string message = refused.what();
    expect(message.starts_with(std::string(k_where) + ":"),
           [&] { return "a refusal that does not name the record: " + message; });
    return 0;
  }
  expect(issue.id >= 1, "an issue without a positive id");
  expect(!issue.commits.empty(), "an issue without hotfix commits");
  // envflow writes issues back with to_yaml (closing, re-opening): what it
  // writes must read back as the same issue.
  const std::string written = issue.to_yaml();
  BackportIssue reread;
  try {
    reread = BackportIssue::parse(written, k_where);
  } catch (const envflow::util::Refused& refused) {
    expect(false, std::string("a written issue does not read back: ") + refused.what() + "\n" +
                      written);
  }
  if (const std::string again = reread.to_yaml(); again != written) {
    expect(false, "a written issue reads back differently:\n" + written + "---\n" + again);
  }
  expect(reread.to_json() == issue.to_json(), "a written issue reads back with other JSON");
  return 0;
}
