#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "content/diagnostic.h"
#include "content/kinds.h"
#include "content/source.h"

namespace envflow::content {

class SchemaSet;

// Bump whenever what a file's own checks report, what its summary holds, or
// what a whole snapshot's report holds (checks across files, such as
// case-collision) changes: cached results of other versions are then never used.
inline constexpr int k_validator_version = 6;

// Where validation keeps per-file results between runs (core::workspace::DiskCache keeps
// them under the git dir). A result is an encoded FileSummary (see
// content/summary.h) keyed by the file's blob id and path. `find` and
// `insert` may be called from several threads at once.
class ResultCache {
public:
  virtual ~ResultCache() = default;
  // Start a run. `context` names everything besides a file's path and bytes
  // that shapes its result (validator version, schema digest, options):
  // entries stored under another context are never returned.
  virtual void open(const std::string& context) = 0;
  // The result stored for blob `id` (40 hex digits) at `path`, if any; the
  // bytes stay valid until close().
  virtual std::optional<std::string_view> find(std::string_view id, std::string_view path) = 0;
  // Keep `result` for blob `id` at `path`; its bytes must stay valid until close().
  virtual void insert(std::string_view id, std::string_view path, std::string_view result) = 0;
  // The same for a whole snapshot's report (the number of files and every
  // diagnostic), keyed by the source's snapshot_id() (a git tree's id) or
  // else the digest of its listing (40 hex digits): one lookup a run, so an
  // implementation may keep these apart from the per-file results and
  // answer without them.
  virtual std::optional<std::string_view> find_snapshot(std::string_view id) {
    return find(id, k_snapshot_path);
  }
  virtual void insert_snapshot(std::string_view id, std::string_view result) {
    insert(id, k_snapshot_path, result);
  }
  // The path the default find_snapshot and insert_snapshot use (no file
  // has it: paths never start with a control character).
  static constexpr std::string_view k_snapshot_path = "\x01snapshot";
  // End the run: keep what was inserted. A cache that cannot be written is
  // skipped silently; validation never fails because of its cache.
  virtual void close() noexcept = 0;
};

// How far a validation's per-file checks have got: `done` of `total` files.
using Progress = std::function<void(std::size_t done, std::size_t total)>;

struct ValidateOptions {
  std::uint64_t max_file_size = 1024 * 1024;
  // Which content the snapshot holds: a promoted branch refuses local kinds
  // (guardrails, evaluators); a local ref holds only those.
  Scope scope = Scope::promoted;
  // Report only diagnostics of these paths (files or folders); empty: all.
  // The whole snapshot is still read, so references are checked across it.
  std::vector<std::string> only;
  // Per-file results to reuse and fill; nullptr: none (every file is
  // checked afresh). core::workspace::options_for fills it in.
  ResultCache* cache = nullptr;
  // Threads for the per-file checks; 0: $ENVFLOW_THREADS, else one per core.
  unsigned threads = 0;
  // Fingerprints of literal secrets known to be false positives (the
  // policy's secret_allowlist): their "secret-literal" findings are left out
  // of the report. They do not change what is cached.
  std::vector<std::string> allowed_secrets;
  // Told as the per-file checks advance (each time another percent of them
  // is done, and when the last is): from the validation's threads, one call
  // at a time, never after validate returns. Empty: nobody is told. A report
  // answered whole from the cache makes no call.
  Progress progress;
};

struct ValidationReport {
  std::vector<Diagnostic> diagnostics; // sorted
  std::size_t files = 0;               // content files checked
  std::size_t cached = 0;              // of those, how many came from the cache
  bool ok() const;
};

// Validate every content file of `source`: file guards (symlink, binary,
// size, not YAML), YAML, kind/name, schema, secrets, variable defaults,
// then references across files; the paths of every file (content/paths.h);
// and literal secrets in every other text file of the snapshot (documents,
// YAML comments, files outside the content folders). Paths and messages in
// the report are printable (util::printable).
//
// Each file's checks give a FileSummary (its diagnostics and its references,
// see content/summary.h), computed on several threads or taken from the
// cache by blob id; the references are then checked across the snapshot
// from those summaries. The report is the same whichever way a summary came.
ValidationReport validate(FileSource& source, const ValidateOptions& options,
                          const SchemaSet& schemas);

// The context `validate` opens `options.cache` with for `schemas`.
std::string cache_context(const ValidateOptions& options, const SchemaSet& schemas);

} // namespace envflow::content
