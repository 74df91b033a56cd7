#include "content/validator.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <exception>
#include <locale>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "content/kinds.h"
#include "content/paths.h"
#include "content/references.h"
#include "content/schema.h"
#include "content/secrets.h"
#include "content/summary.h"
#include "content/variables.h"
#include "content/yaml.h"
#include "util/strings.h"

namespace envflow::content {

namespace {

Diagnostic file_diagnostic(const std::string& path, std::string rule, std::string message,
                           Mark mark = {1, 1}) {
  return Diagnostic{path, mark, Severity::error, std::move(message), std::move(rule)};
}

Diagnostic symlink_diagnostic(const std::string& path) {
  return file_diagnostic(path, "file-symlink",
                         "symbolic links are not allowed in the workspace (a link can point "
                         "outside it); replace the link with the file itself");
}

std::string human_size(std::uint64_t bytes) {
  if (bytes >= 1024 * 1024) {
    const double mib = static_cast<double>(bytes) / (1024.0 * 1024.0);
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.1f MiB", mib);
    return buffer;
  }
  if (bytes >= 1024) {
    return std::to_string(bytes / 1024) + " KiB";
  }
  return std::to_string(bytes) + " bytes";
}

bool selected(const std::string& path, const std::vector<std::string>& only) {
  if (only.empty()) {
    return true;
  }
  return std::any_of(only.begin(), only.end(), [&](const std::string& prefix) {
    if (prefix.empty() || prefix == ".") {
      return true;
    }
    if (path == prefix) {
      return true;
    }
    const std::string folder = util::ends_with(prefix, "/") ? prefix : prefix + "/";
    return util::starts_with(path, folder);
  });
}

// What a file of the snapshot is, from its path alone.
enum class Role { ignored, workspace, content, document, unexpected, runtime, wrong_scope };

struct Classified {
  Role role = Role::ignored;
  const KindInfo* kind = nullptr;
  std::string reason;
};

Classified classify(const std::string& path, Scope scope) {
  if (path == k_workspace_file) {
    if (scope == Scope::local) {
      return {Role::unexpected, nullptr,
              "workspace.yaml is promoted content; it does not belong on an environment's local ref"};
    }
    return {Role::workspace, nullptr, {}};
  }
  const std::string folder = util::first_component(path);
  if (folder.empty()) {
    return {}; // top-level files other than workspace.yaml are not content
  }
  if (const auto reason = runtime_folder_reason(folder); !reason.empty()) {
    return {Role::runtime, nullptr, std::string(reason)};
  }
  const KindInfo* kind = kind_by_folder(folder);
  if (kind == nullptr) {
    return {};
  }
  if (kind->scope != scope) {
    if (kind->scope == Scope::local) {
      return {Role::wrong_scope, kind,
              std::string(kind->folder) + " are environment-local and are never promoted: keep " +
                  std::string(kind->kind) +
                  " files on the environment's local ref (refs/envflow/local/<env>) and remove " +
                  "this file from the branch"};
    }
    return {Role::wrong_scope, kind,
            std::string(kind->folder) +
                " are promoted content: change them on the first environment's branch and "
                "promote with envflow sync"};
  }
  const std::string rest = path.substr(folder.size() + 1);
  if (rest.find('/') == std::string::npos) {
    if (is_yaml_name(rest)) {
      return {Role::content, kind, {}};
    }
    return {Role::unexpected, kind,
            "only " + std::string(kind->kind) + " YAML files (.yaml) belong in " +
                std::string(kind->folder) + "/; move or remove this file"};
  }
  if (kind->folder == "knowledge") {
    return {Role::document, kind, {}};
  }
  return {Role::unexpected, kind,
          std::string(kind->folder) + "/ holds no sub-folders: put the file at " +
              std::string(kind->folder) + "/" + util::path_stem(rest) + ".yaml"};
}

// Which checks a file gets: a content YAML file (or workspace.yaml) all of
// them; a file of a knowledge base's folder the guards and the secret scan;
// any other file (a README, a file outside the content folders) only the
// secret scan, when it is text: it is promoted with the branch all the same.
enum class Check { content, document, text };

// The checks of one file that need no other file: guards, YAML, kind and
// name, schema, secrets, a variable's default; and its references, recorded
// for the cross-file pass.
class FileChecker {
public:
  FileChecker(const ValidateOptions& options, const SchemaSet& schemas)
      : m_options(options), m_schemas(schemas) {}

  // What the listing alone decides (a symlink, a special file, too large):
  // nullopt when the file must be read.
  std::optional<FileSummary> from_listing(const FileEntry& entry, Check check) const {
    FileSummary summary;
    if (check == Check::text) {
      // Not content: a link or a file too large to be text is not scanned.
      if (entry.type == FileEntry::Type::regular || entry.type == FileEntry::Type::executable) {
        if (entry.size <= m_options.max_file_size) {
          return std::nullopt;
        }
      }
      return summary;
    }
    switch (entry.type) {
    case FileEntry::Type::symlink:
      summary.diagnostics.push_back(symlink_diagnostic(entry.path));
      return summary;
    case FileEntry::Type::submodule:
    case FileEntry::Type::other:
      summary.diagnostics.push_back(file_diagnostic(
          entry.path, "file-type", "not a regular file (submodule or special file); remove it"));
      return summary;
    case FileEntry::Type::executable:
    case FileEntry::Type::regular:
      break;
    }
    if (entry.size > m_options.max_file_size) {
      summary.diagnostics.push_back(too_large(entry.path, entry.size));
      return summary;
    }
    return std::nullopt;
  }

  // Every check of a file whose listing passed, from its bytes.
  // `folder_kind` is null for workspace.yaml and for files not checked as
  // content.
  FileSummary from_data(const FileEntry& entry, const std::string& data,
                        const KindInfo* folder_kind, Check check) const {
    FileSummary summary;
    if (check == Check::text) {
      std::vector<Diagnostic> ignored;
      if (guards_pass(entry, data, ignored)) {
        summary.diagnostics = scan_text_secrets(data, entry.path);
      }
      return summary;
    }
    if (!guards_pass(entry, data, summary.diagnostics)) {
      return summary;
    }
    if (check == Check::document) {
      summary.diagnostics = scan_text_secrets(data, entry.path);
      return summary;
    }
    content(entry, data, folder_kind, summary);
    return summary;
  }

private:
  Diagnostic too_large(const std::string& path, std::uint64_t size) const {
    return file_diagnostic(path, "file-too-large",
                           "file is " + human_size(size) + ", over the " +
                               human_size(m_options.max_file_size) +
                               " limit; split it, or raise validation.max_file_size in "
                               "envflow.yaml");
  }

  bool guards_pass(const FileEntry& entry, const std::string& data,
                   std::vector<Diagnostic>& out) const {
    // The listing's size can be stale, or unknown (0) when a source lists
    // without reading blob headers: the same finding either way.
    if (data.size() > m_options.max_file_size) {
      out.push_back(too_large(entry.path, data.size()));
      return false;
    }
    if (const auto nul = data.find('\0'); nul != std::string::npos) {
      out.push_back(file_diagnostic(
          entry.path, "file-binary",
          "binary file (NUL byte at offset " + std::to_string(nul) +
              "); only text belongs in the workspace: reference binary documents by URL instead"));
      return false;
    }
    if (!util::is_valid_utf8(data)) {
      out.push_back(file_diagnostic(entry.path, "file-encoding",
                                    "file is not valid UTF-8; save it as UTF-8"));
      return false;
    }
    return true;
  }

  // Parse and check one YAML content file; summarize its references.
  void content(const FileEntry& entry, const std::string& data, const KindInfo* folder_kind,
               FileSummary& summary) const {
    std::vector<Diagnostic>& out = summary.diagnostics;
    YamlResult loaded = load_yaml(data, entry.path);
    for (auto& d : loaded.diagnostics) {
      out.push_back(std::move(d));
    }
    // Comments and text the loader could not read are scanned as text.
    for (auto& d : scan_file_secrets(data, loaded.value ? &*loaded.value : nullptr, entry.path)) {
      out.push_back(std::move(d));
    }
    if (!loaded.value) {
      return;
    }
    const Value& value = *loaded.value;
    if (!value.is_mapping()) {
      out.push_back(file_diagnostic(entry.path, "schema",
                                    std::string("expected a mapping with 'kind' and 'name', got ") +
                                        (value.is_null()
                                             ? "an empty document"
                                             : std::string(Value::type_name(value.type))),
                                    value.mark));
      return;
    }
    const std::string expected_kind =
        folder_kind != nullptr ? std::string(folder_kind->kind) : std::string("Workspace");
    const Value* kind_node = value.find("kind");
    if (kind_node == nullptr) {
      out.push_back(file_diagnostic(entry.path, "kind",
                                    "missing 'kind': add 'kind: " + expected_kind + "'",
                                    value.mark));
      return;
    }
    if (!kind_node->is_string() || kind_node->string != expected_kind) {
      const KindInfo* named = kind_node->is_string() ? kind_by_name(kind_node->string) : nullptr;
      std::string message = "kind '" + kind_node->string + "' ";
      if (folder_kind == nullptr) {
        message += "does not match workspace.yaml: write 'kind: Workspace'";
      } else if (named != nullptr || kind_node->string == "Workspace") {
        message += "does not match folder " + std::string(folder_kind->folder) +
                   "/ (expected '" + expected_kind + "'); move the file to " +
                   (named != nullptr ? std::string(named->folder) + "/" : std::string("the root")) +
                   " or fix 'kind'";
      } else {
        message = "unknown kind '" + kind_node->string + "'; files in " +
                  std::string(folder_kind->folder) + "/ have 'kind: " + expected_kind + "'";
      }
      out.push_back(file_diagnostic(entry.path,
                                    named != nullptr ? "kind-mismatch" : "unknown-kind", message,
                                    kind_node->mark));
      return;
    }
    const std::string schema =
        folder_kind != nullptr ? std::string(folder_kind->schema) : "workspace";
    for (auto& d : m_schemas.validate(schema, value, entry.path)) {
      out.push_back(std::move(d));
    }
    const Value* name_node = value.find("name");
    const std::string name =
        name_node != nullptr && name_node->is_string() ? name_node->string : "";
    if (folder_kind != nullptr && name_node != nullptr && name_node->is_string() &&
        name != util::path_stem(entry.path)) {
      out.push_back(file_diagnostic(entry.path, "name-mismatch",
                                    "name '" + name +
                                        "' does not match the file name; rename the file to " +
                                        std::string(folder_kind->folder) + "/" + name +
                                        ".yaml or set 'name: " + util::path_stem(entry.path) +
                                        "'",
                                    name_node->mark));
    }
    if (folder_kind != nullptr && folder_kind->kind == "Variable") {
      check_variable_default(entry.path, value, out);
    }
    if (folder_kind != nullptr) {
      summary.document = summarize(Document{entry.path, expected_kind, name, &value});
    }
  }

  static void check_variable_default(const std::string& path, const Value& value,
                                     std::vector<Diagnostic>& out) {
    const Value* type = value.find("type");
    const Value* def = value.find("default");
    if (type == nullptr || !type->is_string() || def == nullptr) {
      return;
    }
    std::vector<std::string> allowed;
    if (const Value* values = value.find("values"); values != nullptr && values->is_sequence()) {
      for (const auto& item : values->items) {
        allowed.push_back(item.string);
      }
    }
    if (const std::string problem = check_variable_value(type->string, allowed, *def);
        !problem.empty()) {
      out.push_back(file_diagnostic(path, "variable-default-type",
                                    "default does not match type '" + type->string +
                                        "': " + problem,
                                    def->mark));
    }
  }

  const ValidateOptions& m_options;
  const SchemaSet& m_schemas;
};

// A file whose checks run on the workers.
struct Job {
  const FileEntry* entry = nullptr;
  const KindInfo* kind = nullptr; // null for workspace.yaml and Check::text
  Check check = Check::content;
  std::string_view result;        // the encoded FileSummary: `computed`, or the cache's bytes
  std::string computed;
  bool cached = false;

  void set(std::string bytes) {
    computed = std::move(bytes);
    result = computed;
    cached = false;
  }
};

unsigned thread_count(const ValidateOptions& options, std::size_t jobs) {
  unsigned threads = options.threads;
  if (threads == 0) {
    if (const char* env = std::getenv("ENVFLOW_THREADS"); env != nullptr) {
      threads = static_cast<unsigned>(std::strtoul(env, nullptr, 10));
    }
  }
  if (threads == 0) {
    threads = std::max(1U, std::thread::hardware_concurrency());
  }
  // A thread per few files at least: starting one costs more than a tiny file.
  constexpr std::size_t k_files_per_thread = 8;
  const std::size_t useful = std::max<std::size_t>(1, jobs / k_files_per_thread);
  return static_cast<unsigned>(std::min<std::size_t>(threads, useful));
}

// Run `work(i)` for i in [0, n) on `threads` threads (this one included).
// The first exception stops the others and is rethrown here.
template <typename Work> void parallel_for(std::size_t n, unsigned threads, Work&& work) {
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  const auto worker = [&] {
    while (!stop.load(std::memory_order_relaxed)) {
      const std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= n) {
        return;
      }
      try {
        work(i);
      } catch (...) {
        const std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) {
          error = std::current_exception();
        }
        stop = true;
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) {
    try {
      pool.emplace_back(worker);
    } catch (const std::system_error&) {
      break; // no more threads to be had: the others do the work
    }
  }
  worker();
  for (auto& thread : pool) {
    thread.join();
  }
  if (error) {
    std::rethrow_exception(error);
  }
}

// A digest of a listing (path, type, blob id of every file), or ""
// when a file has no blob id (a working tree: its ids are only known once
// every file is read).
std::string snapshot_id(const std::vector<FileEntry>& entries) {
  std::string listing;
  listing.reserve(entries.size() * 96);
  for (const auto& entry : entries) {
    if (entry.id.empty()) {
      return {};
    }
    listing += entry.path;
    listing += '\0';
    listing += std::to_string(static_cast<int>(entry.type));
    listing += ' ';
    listing += entry.id;
    listing += '\n';
  }
  return sha1_hex(listing);
}

// A stored snapshot report: the number of files checked, a newline, the
// encoded diagnostics. nullopt when damaged.
std::optional<std::pair<std::size_t, FileSummary>> decode_snapshot(std::string_view stored) {
  const std::size_t newline = stored.find('\n');
  if (newline == std::string_view::npos || newline == 0 || newline > 19 ||
      !std::all_of(stored.begin(), stored.begin() + static_cast<std::ptrdiff_t>(newline),
                   [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  std::optional<FileSummary> summary = decode(stored.substr(newline + 1), std::string());
  if (!summary) {
    return std::nullopt;
  }
  return std::pair{static_cast<std::size_t>(std::stoull(std::string(stored.substr(0, newline)))),
                   std::move(*summary)};
}

// libstdc++ fills ctype<char>::narrow's table lazily, so two threads
// compiling a std::regex at once (valijson's patterns, one validator per
// thread) write it together. Fill it before the workers start.
void fill_narrow_table() {
  static std::once_flag once;
  std::call_once(once, [] {
    const auto& ctype = std::use_facet<std::ctype<char>>(std::locale());
    for (int c = 0; c < 256; ++c) {
      ctype.narrow(static_cast<char>(c), '\0');
    }
  });
}

// Add `d` to `report` unless options leave it out: a path not selected, or
// a literal secret the policy allows by fingerprint. Paths and messages are
// made printable here, once for every caller: a name or a YAML string may
// hold control characters or bytes that are not UTF-8. Done after the
// cache, so neither the allowlist nor the escaping shapes what is cached.
void keep(Diagnostic& d, const ValidateOptions& options, ValidationReport& report) {
  if (!selected(d.path, options.only)) {
    return;
  }
  if (!d.fingerprint.empty() &&
      std::find(options.allowed_secrets.begin(), options.allowed_secrets.end(), d.fingerprint) !=
          options.allowed_secrets.end()) {
    return;
  }
  d.path = util::printable(d.path);
  d.message = util::printable(d.message);
  report.diagnostics.push_back(std::move(d));
}

} // namespace

bool ValidationReport::ok() const {
  return std::none_of(diagnostics.begin(), diagnostics.end(),
                      [](const Diagnostic& d) { return d.severity == Severity::error; });
}

std::string cache_context(const ValidateOptions& options, const SchemaSet& schemas) {
  return "validator " + std::to_string(k_validator_version) + "; envflow " ENVFLOW_VERSION
         "; schemas " + schemas.digest() + "; max_file_size " +
         std::to_string(options.max_file_size) + "; scope " +
         (options.scope == Scope::promoted ? "promoted" : "local");
}

namespace {

// Phase of validate: the report `cache` kept for snapshot `key` (filtered as
// `options` say), and true; false when it has none (or a damaged one).
bool answer_from_snapshot(ResultCache& cache, const std::string& key,
                          const ValidateOptions& options, ValidationReport& report) {
  if (auto hit = cache.find_snapshot(key)) {
    if (auto stored = decode_snapshot(*hit)) {
      cache.close();
      report.files = stored->first;
      report.cached = report.files;
      for (auto& d : stored->second.diagnostics) {
        keep(d, options, report);
      }
      return true; // stored sorted
    }
  }
  return false;
}

// Phase of validate: which files need checks of their own (one job each);
// the rest is decided by path, into `all`, with the problems of the listing
// as a whole (paths, a missing workspace.yaml).
std::vector<Job> plan_file_jobs(const std::vector<FileEntry>& entries,
                                const ValidateOptions& options, ValidationReport& report,
                                std::vector<Diagnostic>& all) {
  std::vector<Job> jobs;
  bool has_workspace = false;
  for (const auto& entry : entries) {
    const Classified c = classify(entry.path, options.scope);
    switch (c.role) {
    case Role::workspace:
      has_workspace = true;
      jobs.push_back(Job{&entry, nullptr, Check::content, {}, {}, false});
      ++report.files;
      break;
    case Role::content:
      jobs.push_back(Job{&entry, c.kind, Check::content, {}, {}, false});
      ++report.files;
      break;
    case Role::document:
      jobs.push_back(Job{&entry, c.kind, Check::document, {}, {}, false});
      ++report.files;
      break;
    case Role::runtime:
    case Role::wrong_scope:
      all.push_back(file_diagnostic(entry.path, "not-promoted", c.reason));
      jobs.push_back(Job{&entry, nullptr, Check::text, {}, {}, false});
      break;
    case Role::unexpected:
      if (entry.type == FileEntry::Type::symlink) {
        // A link in a content folder is a link first, whatever it is named.
        all.push_back(symlink_diagnostic(entry.path));
      } else {
        all.push_back(file_diagnostic(entry.path, "unexpected-file", c.reason));
      }
      jobs.push_back(Job{&entry, nullptr, Check::text, {}, {}, false});
      break;
    case Role::ignored:
      jobs.push_back(Job{&entry, nullptr, Check::text, {}, {}, false});
      break;
    }
  }
  for (auto& d : check_paths(entries)) {
    all.push_back(std::move(d));
  }
  if (options.scope == Scope::promoted && !has_workspace && !entries.empty()) {
    all.push_back(file_diagnostic(std::string(k_workspace_file), "workspace-missing",
                                  "no workspace.yaml at the root: add one with 'kind: Workspace', "
                                  "'name' and 'schema_version: 1' (envflow init writes a starter)"));
  }
  return jobs;
}

// Phase of validate: runs a job, each file's own checks, from the cache (when
// there is one) or computed. Safe to call from several threads at once.
class JobRunner {
public:
  JobRunner(FileSource& source, ResultCache* cache, const FileChecker& checker)
      : m_source(source), m_cache(cache), m_checker(checker) {}

  // FileSource promises no thread safety: reads are serialized.
  std::string read(const FileEntry& entry) {
    const std::lock_guard<std::mutex> lock(m_read_mutex);
    return m_source.read(entry);
  }

  void compute(Job& job, const std::string& data) const {
    job.set(encode(m_checker.from_data(*job.entry, data, job.kind, job.check), job.entry->path));
  }

  void run(Job& job) {
    const FileEntry& entry = *job.entry;
    if (auto decided = m_checker.from_listing(entry, job.check)) {
      job.set(encode(*decided, entry.path));
      return;
    }
    if (m_cache != nullptr && !entry.id.empty() && lookup(job, entry.id)) {
      return;
    }
    if (entry.size == 0 && !entry.id.empty()) {
      // The listing left the size unknown: ask before reading, so a huge
      // blob is refused without being loaded.
      FileEntry sized = entry;
      sized.size = size_of(entry);
      if (auto decided = m_checker.from_listing(sized, job.check)) {
        job.set(encode(*decided, entry.path));
        return;
      }
    }
    const std::string data = read(entry);
    std::string id = entry.id;
    if (m_cache != nullptr && id.empty()) {
      id = git_blob_id(data); // a working tree file: key it as git would
      if (lookup(job, id)) {
        return;
      }
    }
    compute(job, data);
    if (m_cache != nullptr) {
      m_cache->insert(id, entry.path, job.computed); // `jobs` outlives the cache's close()
    }
  }

private:
  std::uint64_t size_of(const FileEntry& entry) {
    const std::lock_guard<std::mutex> lock(m_read_mutex);
    return m_source.size(entry);
  }

  bool lookup(Job& job, const std::string& id) const {
    if (auto hit = m_cache->find(id, job.entry->path)) {
      job.result = *hit;
      job.cached = true;
      return true;
    }
    return false;
  }

  FileSource& m_source;
  ResultCache* m_cache;
  const FileChecker& m_checker;
  std::mutex m_read_mutex;
};

// Phase of validate: every job run on `threads` threads, telling
// options.progress as they finish.
void run_file_jobs(std::vector<Job>& jobs, unsigned threads, const ValidateOptions& options,
                   JobRunner& runner) {
  if (threads > 1) {
    fill_narrow_table();
  }
  const auto check = [&](std::size_t i) { runner.run(jobs[i]); };
  if (!options.progress) {
    parallel_for(jobs.size(), threads, check);
    return;
  }
  std::atomic<std::size_t> done{0};
  std::mutex progress_mutex;
  std::size_t told = 0; // percent last told; under progress_mutex
  parallel_for(jobs.size(), threads, [&](std::size_t i) {
    check(i);
    const std::size_t now = done.fetch_add(1, std::memory_order_relaxed) + 1;
    const std::size_t percent = now * 100 / jobs.size();
    const std::lock_guard<std::mutex> lock(progress_mutex);
    if (percent > told || now == jobs.size()) {
      told = percent;
      options.progress(now, jobs.size());
    }
  });
}

// Phase of validate: each job's diagnostics into `all`, then references
// across files, from the summaries alone. Only files under knowledge/ can be
// named by one (see the reference check).
void collect_and_check_references(const std::vector<FileEntry>& entries, std::vector<Job>& jobs,
                                  JobRunner& runner, ValidationReport& report,
                                  std::vector<Diagnostic>& all) {
  Catalog catalog;
  for (const auto& entry : entries) {
    if (util::starts_with(entry.path, "knowledge/")) {
      catalog.files.insert(catalog.files.end(), entry.path);
    }
  }
  std::vector<std::size_t> documents;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    Job& job = jobs[i];
    std::optional<FileSummary> summary = decode(job.result, job.entry->path, Part::declarations);
    if (!summary && job.cached) {
      runner.compute(job, runner.read(*job.entry)); // a damaged cache entry: check the file again
      summary = decode(job.result, job.entry->path, Part::declarations);
    }
    if (!summary) {
      throw std::logic_error("validate: the summary of " + job.entry->path + " does not decode");
    }
    report.cached += job.cached && job.check != Check::text ? 1 : 0;
    for (auto& d : summary->diagnostics) {
      all.push_back(std::move(d));
    }
    if (summary->document) {
      catalog.declare(*summary->document);
      documents.push_back(i);
    }
  }
  const ReferenceChecker references(catalog);
  for (const std::size_t i : documents) {
    const std::optional<FileSummary> summary = decode(jobs[i].result, jobs[i].entry->path);
    for (auto& d : references.check(*summary->document)) {
      all.push_back(std::move(d));
    }
  }
}

} // namespace

ValidationReport validate(FileSource& source, const ValidateOptions& options,
                          const SchemaSet& schemas) {
  ValidationReport report;
  std::vector<Diagnostic> all;
  ResultCache* cache = options.cache;
  // A snapshot seen before gets the report it got then, unfiltered: a git
  // tree is known by its id before it is listed, other sources by a digest
  // of their listing (every path and blob id).
  std::string snapshot_key;
  std::string snapshot_result; // outlives the cache's close(), below
  if (cache != nullptr) {
    cache->open(cache_context(options, schemas));
    snapshot_key = source.snapshot_id();
    if (!snapshot_key.empty() && answer_from_snapshot(*cache, snapshot_key, options, report)) {
      return report;
    }
  }
  const std::vector<FileEntry> entries = source.list();
  // A listing seen before (every file with its blob id) was answered whole,
  // with what the path checks below said of it: nothing here is needed.
  if (cache != nullptr && snapshot_key.empty()) {
    snapshot_key = snapshot_id(entries);
    if (!snapshot_key.empty() && answer_from_snapshot(*cache, snapshot_key, options, report)) {
      return report;
    }
  }
  std::vector<Job> jobs = plan_file_jobs(entries, options, report, all);

  // Each file's own checks, from the cache or computed, on every core.
  const FileChecker checker(options, schemas);
  JobRunner runner(source, cache, checker);
  // The cache's bytes are used until the references are checked.
  struct Closer {
    ResultCache* cache;
    ~Closer() {
      if (cache != nullptr) {
        cache->close();
      }
    }
  } closer{cache};
  run_file_jobs(jobs, thread_count(options, jobs.size()), options, runner);
  collect_and_check_references(entries, jobs, runner, report, all);
  sort_diagnostics(all);
  if (!snapshot_key.empty()) {
    FileSummary whole;
    whole.diagnostics = all;
    snapshot_result = std::to_string(report.files) + '\n' + encode(whole, std::string());
    cache->insert_snapshot(snapshot_key, snapshot_result);
  }
  for (auto& d : all) {
    keep(d, options, report);
  }
  return report;
}

} // namespace envflow::content
