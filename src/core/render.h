#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"

namespace envflow::git {
class Repository;
}

namespace envflow::core {

// The resolved bundle environment `env` serves (see docs/json.md, "render"):
//
//   {"environment", "branch", "commit", "release", "workspace",
//    "items": {folder: {name: content}}, "documents": {path: text},
//    "variables": {name: {"type", "value", "source"}}, "local_ref", "generated_by"}
//
// `commit` is the head of the environment's branch; `release` the name of a
// release tag (refs/tags/v*) on that commit, preferring the one
// refs/envflow/live points at, else null; `local_ref` the head of
// refs/envflow/local/<env>, or null. Secrets stay `${secrets.NAME}`
// references. Deterministic: the same refs give the same JSON, byte for byte
// (object keys sorted, no clock). util::UsageError for an unknown
// environment; util::Refused when a content file does not load or an
// override does not fit its variable's type.
nlohmann::json render_bundle(const git::Repository& repo, const PipelineConfig& config,
                             const std::string& env);

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
BundleCheck check_bundles(const std::vector<BundleFile>& bundles);

} // namespace envflow::core
