// Fuzz target: content::load_yaml, the YAML → typed Value conversion every
// content file, config and back-port record goes through.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "content/yaml.h"
#include "fuzz_check.h"
#include "util/json.h"

namespace {

using envflow::content::load_yaml;
using envflow::content::YamlLimits;
using envflow::content::YamlResult;
using envflow::fuzz::expect;

// What load_yaml promises whatever the text: diagnostics on `path` at
// 1-based positions inside the text, a value within `limits`, and a value
// callers can turn into JSON text (diff, render and back-ports do).
void check(std::string_view text, const YamlResult& result, const YamlLimits& limits) {
  std::size_t lines = 1;
  for (const char c : text) {
    lines += c == '\n' ? 1 : 0;
  }
  for (const auto& d : result.diagnostics) {
    expect(d.path == "fuzz.yaml", [&] { return "diagnostic on another path: " + d.to_text(); });
    expect(d.mark.line >= 1 && d.mark.column >= 1,
           [&] { return "diagnostic without a 1-based position: " + d.to_text(); });
    expect(static_cast<std::size_t>(d.mark.line) <= lines + 1,
           [&] { return "diagnostic past the last line: " + d.to_text(); });
    expect(!d.rule.empty() && !d.message.empty(), "diagnostic without rule or message");
  }
  if (!result.value) {
    expect(!result.diagnostics.empty(), "no value and no diagnostic saying why");
    return;
  }
  const auto shape = envflow::fuzz::shape_of(*result.value);
  expect(shape.nodes <= limits.max_nodes, "value has more nodes than max_nodes");
  expect(shape.depth <= limits.max_depth, "value nests deeper than max_depth");
  try {
    (void)envflow::util::dump_json(result.value->to_json());
  } catch (const nlohmann::json::exception& e) {
    expect(false, std::string("the value does not convert to JSON text: ") + e.what());
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const YamlLimits defaults;
  check(text, load_yaml(text, "fuzz.yaml", defaults), defaults);
  // Tight limits reach the limit paths (alias expansion, nesting) with small inputs.
  const YamlLimits tight{64, 6};
  check(text, load_yaml(text, "fuzz.yaml", tight), tight);
  return 0;
}
