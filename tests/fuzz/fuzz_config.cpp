// Fuzz target: core::policy::parse_config, the policy parser of envflow.yaml at
// refs/envflow/config (YAML, the pipeline schema, then the rules the schema
// cannot say).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "content/yaml.h"
#include "core/policy/config.h"
#include "fuzz_check.h"

namespace {

using envflow::content::Diagnostic;
using envflow::core::policy::parse_config;
using envflow::core::policy::PipelineConfig;
using envflow::core::policy::render_config;
using envflow::fuzz::expect;

void check_diagnostics(const std::vector<Diagnostic>& problems, const std::string& path) {
  for (const auto& d : problems) {
    expect(d.path == path, [&] { return "diagnostic on another path: " + d.to_text(); });
    expect(d.mark.line >= 1 && d.mark.column >= 1,
           [&] { return "diagnostic without a 1-based position: " + d.to_text(); });
  }
}

// The parsed config says what the document says (the fields envflow's gates read).
void check_faithful(const PipelineConfig& config, const std::string& text) {
  const auto loaded = envflow::content::load_yaml(text, "envflow.yaml");
  const auto& envs = loaded.value->find("environments")->items;
  expect(envs.size() == config.environments.size(), "environments lost or added");
  expect(config.environments.size() >= 2 && config.environments.size() <= 8,
         "a config with fewer than 2 or more than 8 environments was accepted");
  for (std::size_t i = 0; i < envs.size(); ++i) {
    const auto& env = config.environments[i];
    expect(!env.name.empty() && !env.branch.empty(), "an environment without name or branch");
    if (const auto* approvals = envs[i].find("approvals")) {
      expect(approvals->integer == env.approvals, [&] {
        return "environment '" + env.name + "' requires " + std::to_string(env.approvals) +
               " approvals but the config says " + approvals->string;
      });
    }
  }
  expect(!config.admins.empty(), "a config without admins was accepted");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<Diagnostic> problems;
  const auto config = parse_config(text, "envflow.yaml", problems);
  check_diagnostics(problems, "envflow.yaml");
  expect(config.has_value() == problems.empty(),
         "a config must come with no problem, and a refusal with at least one");
  if (!config) {
    return 0;
  }
  check_faithful(*config, text);
  // `envflow init` writes what render_config gives: it must read back as the same config.
  const std::string rendered = render_config(*config);
  std::vector<Diagnostic> reread_problems;
  const auto reread = parse_config(rendered, "rendered.yaml", reread_problems);
  if (!reread) {
    std::string why = "the rendered config does not parse back:\n" + rendered;
    for (const auto& d : reread_problems) {
      why += "\n" + d.to_text();
    }
    expect(false, why);
  }
  if (const std::string again = render_config(*reread); again != rendered) {
    expect(false, "the rendered config reads back differently:\n" + rendered + "\n---\n" + again);
  }
  return 0;
}
