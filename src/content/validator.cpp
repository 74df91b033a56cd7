#include "content/validator.h"

#include <algorithm>
#include <deque>

#include "content/references.h"
#include "content/schema.h"
#include "content/secrets.h"
#include "content/variables.h"
#include "content/yaml.h"
#include "util/strings.h"

namespace envflow::content {

namespace {

Diagnostic file_diagnostic(const std::string& path, std::string rule, std::string message,
                           Mark mark = {1, 1}) {
  return Diagnostic{path, mark, Severity::error, std::move(message), std::move(rule)};
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

bool is_yaml_name(std::string_view path) {
  return util::ends_with(path, ".yaml") || util::ends_with(path, ".yml");
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

class FileValidator {
public:
  FileValidator(FileSource& source, const ValidateOptions& options, const SchemaSet& schemas,
                std::vector<Diagnostic>& out)
      : m_source(source), m_options(options), m_schemas(schemas), m_out(out) {}

  // Read `entry` if the guards allow it. Returns false when it must not be parsed.
  bool read_guarded(const FileEntry& entry, std::string& data) {
    switch (entry.type) {
    case FileEntry::Type::symlink:
      add(file_diagnostic(entry.path, "file-symlink",
                          "symbolic links are not allowed in the workspace (a link can point "
                          "outside it); replace the link with the file itself"));
      return false;
    case FileEntry::Type::submodule:
    case FileEntry::Type::other:
      add(file_diagnostic(entry.path, "file-type",
                          "not a regular file (submodule or special file); remove it"));
      return false;
    case FileEntry::Type::executable:
    case FileEntry::Type::regular:
      break;
    }
    if (entry.size > m_options.max_file_size) {
      add(file_diagnostic(entry.path, "file-too-large",
                          "file is " + human_size(entry.size) + ", over the " +
                              human_size(m_options.max_file_size) +
                              " limit; split it, or raise validation.max_file_size in envflow.yaml"));
      return false;
    }
    data = m_source.read(entry);
    if (data.size() > m_options.max_file_size) { // the listing's size can be stale
      add(file_diagnostic(entry.path, "file-too-large",
                          "file is " + human_size(data.size()) + ", over the " +
                              human_size(m_options.max_file_size) + " limit"));
      return false;
    }
    if (const auto nul = data.find('\0'); nul != std::string::npos) {
      add(file_diagnostic(entry.path, "file-binary",
                          "binary file (NUL byte at offset " + std::to_string(nul) +
                              "); only text belongs in the workspace: reference binary documents "
                              "by URL instead"));
      return false;
    }
    if (!util::is_valid_utf8(data)) {
      add(file_diagnostic(entry.path, "file-encoding",
                          "file is not valid UTF-8; save it as UTF-8"));
      return false;
    }
    return true;
  }

  // Parse and check one YAML content file; keeps the value for reference checks.
  void content(const FileEntry& entry, const KindInfo* folder_kind) {
    std::string data;
    if (!read_guarded(entry, data)) {
      return;
    }
    YamlResult loaded = load_yaml(data, entry.path);
    for (auto& d : loaded.diagnostics) {
      add(std::move(d));
    }
    if (!loaded.value) {
      return;
    }
    const Value& value = m_values.emplace_back(std::move(*loaded.value));
    if (!value.is_mapping()) {
      add(file_diagnostic(entry.path, "schema",
                          std::string("expected a mapping with 'kind' and 'name', got ") +
                              (value.is_null() ? "an empty document"
                                               : std::string(Value::type_name(value.type))),
                          value.mark));
      return;
    }
    const std::string expected_kind =
        folder_kind != nullptr ? std::string(folder_kind->kind) : std::string("Workspace");
    const Value* kind_node = value.find("kind");
    if (kind_node == nullptr) {
      add(file_diagnostic(entry.path, "kind",
                          "missing 'kind': add 'kind: " + expected_kind + "'", value.mark));
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
      add(file_diagnostic(entry.path, named != nullptr ? "kind-mismatch" : "unknown-kind",
                          message, kind_node->mark));
      return;
    }
    const std::string schema = folder_kind != nullptr ? std::string(folder_kind->schema) : "workspace";
    for (auto& d : m_schemas.validate(schema, value, entry.path)) {
      add(std::move(d));
    }
    for (auto& d : scan_secrets(value, entry.path)) {
      add(std::move(d));
    }
    const Value* name_node = value.find("name");
    const std::string name = name_node != nullptr && name_node->is_string() ? name_node->string : "";
    if (folder_kind != nullptr && name_node != nullptr && name_node->is_string() &&
        name != util::path_stem(entry.path)) {
      add(file_diagnostic(entry.path, "name-mismatch",
                          "name '" + name + "' does not match the file name; rename the file to " +
                              std::string(folder_kind->folder) + "/" + name +
                              ".yaml or set 'name: " + util::path_stem(entry.path) + "'",
                          name_node->mark));
    }
    if (folder_kind != nullptr && folder_kind->kind == "Variable") {
      check_variable_default(entry.path, value);
    }
    if (folder_kind != nullptr) {
      m_documents.push_back(Document{entry.path, expected_kind, name, &value});
    }
  }

  void check_variable_default(const std::string& path, const Value& value) {
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
      add(file_diagnostic(path, "variable-default-type",
                          "default does not match type '" + type->string + "': " + problem,
                          def->mark));
    }
  }

  void add(Diagnostic d) { m_out.push_back(std::move(d)); }

  const std::vector<Document>& documents() const { return m_documents; }

private:
  FileSource& m_source;
  const ValidateOptions& m_options;
  const SchemaSet& m_schemas;
  std::vector<Diagnostic>& m_out;
  std::deque<Value> m_values; // stable addresses for m_documents
  std::vector<Document> m_documents;
};

} // namespace

bool ValidationReport::ok() const {
  return std::none_of(diagnostics.begin(), diagnostics.end(),
                      [](const Diagnostic& d) { return d.severity == Severity::error; });
}

ValidationReport validate(FileSource& source, const ValidateOptions& options,
                          const SchemaSet& schemas) {
  ValidationReport report;
  std::vector<Diagnostic> all;
  FileValidator files(source, options, schemas, all);
  const std::vector<FileEntry> entries = source.list();
  bool has_workspace = false;
  for (const auto& entry : entries) {
    const Classified c = classify(entry.path, options.scope);
    switch (c.role) {
    case Role::ignored:
      break;
    case Role::workspace:
      has_workspace = true;
      ++report.files;
      files.content(entry, nullptr);
      break;
    case Role::content:
      ++report.files;
      files.content(entry, c.kind);
      break;
    case Role::document: {
      ++report.files;
      std::string data;
      files.read_guarded(entry, data);
      break;
    }
    case Role::runtime:
    case Role::wrong_scope:
      files.add(file_diagnostic(entry.path, "not-promoted", c.reason));
      break;
    case Role::unexpected:
      files.add(file_diagnostic(entry.path, "unexpected-file", c.reason));
      break;
    }
  }
  if (options.scope == Scope::promoted && !has_workspace && !entries.empty()) {
    all.push_back(file_diagnostic(std::string(k_workspace_file), "workspace-missing",
                                  "no workspace.yaml at the root: add one with 'kind: Workspace', "
                                  "'name' and 'schema_version: 1' (envflow init writes a starter)"));
  }
  Catalog catalog = Catalog::from(files.documents());
  for (const auto& entry : entries) {
    catalog.files.insert(entry.path);
  }
  for (const auto& document : files.documents()) {
    for (auto& d : check_references(document, catalog)) {
      all.push_back(std::move(d));
    }
  }
  for (auto& d : all) {
    if (selected(d.path, options.only)) {
      report.diagnostics.push_back(std::move(d));
    }
  }
  sort_diagnostics(report.diagnostics);
  return report;
}

} // namespace envflow::content
