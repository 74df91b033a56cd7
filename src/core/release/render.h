#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/model/view.h"
#include "core/policy/config.h"

namespace envflow::git {
class Repository;
}

namespace envflow::core::release {

// The resolved bundle environment `env` serves (see docs/json.md, "render"):
//
//   {"environment", "branch", "commit", "release", "workspace",
//    "items": {folder: {name: content}}, "documents": {path: text},
//    "variables": {name: {"type", "value", "source"}}, "local_ref", "generated_by"}
//
// `commit` is what the environment serves: for the last environment the
// live release's commit (what end users get; its head before any release),
// for the others their branch head; `at` picks the head or a release
// instead. `release` is the name of a release tag on that commit, preferring
// the live one, else the highest, else null; `local_ref` the head of
// refs/envflow/local/<env>, or null. Secrets stay `${secrets.NAME}`
// references. Deterministic: the same refs give the same JSON, byte for byte
// (object keys sorted, no clock). util::UsageError for an unknown
// environment; util::Refused when a content file does not load or an
// override does not fit its variable's type.
// Which content a bundle holds.
struct RenderAt {
  bool head = false;   // --head: the branch head, even of the last environment
  std::string release; // --release TAG: that release's commit
  std::string commit;  // that commit (a candidate for promotion, core/pipeline/checks.h)
};

nlohmann::json render_bundle(const model::Pipeline& pipeline, const std::string& env,
                             const RenderAt& at = {});

// A bundle as a file holds it: `bundle.dump(2)` and a newline.
std::string bundle_text(const nlohmann::json& bundle);

// One bundle handed to check_bundles: where it came from and its text.
struct BundleFile {
  std::string name; // file name, as the user gave it
  std::string text;
};

struct BundleCheck {
  bool ok = false;
  std::string environment; // what the bundles agree on (the majority)
  std::string commit;
  std::string reference;                // first file naming that environment and commit
  std::vector<std::string> differences; // one line per file that differs
};

// Check that every bundle names the same environment and commit. The
// expected pair is the one most bundles name (ties: the first file's); each
// other file gets a line like "frontend.json: environment test, commit
// abc1234; expected production, commit def5678 (from backend.json)". A file
// that is not a bundle gets a line saying so.
// With `expected` (the environment this consumer runs in: --expect,
// ENVFLOW_EXPECT_ENV, APP_ENV), every bundle naming another environment gets
// a line too, whatever the majority says.
BundleCheck check_bundles(const std::vector<BundleFile>& bundles,
                          const std::string& expected = "");

} // namespace envflow::core::release
