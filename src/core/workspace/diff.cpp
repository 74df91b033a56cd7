#include "core/workspace/diff.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "content/kinds.h"
#include "content/references.h"
#include "content/summary.h"
#include "content/validator.h"
#include "content/value.h"
#include "content/yaml.h"
#include "core/model/refs.h"
#include "core/model/view.h"
#include "core/policy/config.h"
#include "core/workspace/cache.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/files.h"
#include "util/json.h"
#include "util/strings.h"

namespace envflow::core::workspace {

namespace {

using content::Value;

constexpr std::string_view k_document_kind = "Document";
constexpr std::string_view k_workspace_kind = "Workspace";
constexpr std::string_view k_unparsed = "(unparsed)";
constexpr std::string_view k_whole_document = "(document)";
constexpr std::size_t k_max_referrers = 10;

// Sort position of a kind: Workspace, then content::kinds() in order with
// Document right after KnowledgeBase; unknown kinds last.
int kind_rank(std::string_view kind) {
  if (kind == k_workspace_kind) {
    return 0;
  }
  int rank = 2;
  for (const auto& info : content::kinds()) {
    if (info.kind == kind) {
      return rank;
    }
    if (kind == k_document_kind && info.kind == "KnowledgeBase") {
      return rank + 1;
    }
    rank += 2;
  }
  return rank;
}

using content::is_yaml_name;

// What a changed path is, from the path alone; nullopt for files that are not content.
struct Classified {
  std::string kind;
  std::string name;
  bool yaml = true;
};

std::optional<Classified> classify(const std::string& path) {
  if (path == content::k_workspace_file) {
    return Classified{std::string(k_workspace_kind), util::path_stem(path), true};
  }
  const std::string folder = util::first_component(path);
  if (folder.empty()) {
    return std::nullopt;
  }
  const content::KindInfo* info = content::kind_by_folder(folder);
  if (info == nullptr) {
    return std::nullopt;
  }
  const std::string rest = path.substr(folder.size() + 1);
  if (rest.find('/') == std::string::npos) {
    if (!is_yaml_name(rest)) {
      return std::nullopt;
    }
    return Classified{std::string(info->kind), util::path_stem(rest), true};
  }
  if (info->kind == "KnowledgeBase") {
    return Classified{std::string(k_document_kind), rest, false};
  }
  return std::nullopt;
}

// Parsed blobs, keyed by blob id, so no blob is parsed twice in one diff.
class Loader {
public:
  explicit Loader(const git::Repository& repo) : m_repo(repo) {}

  // The blob as a Value, or nullptr when it cannot be read or parsed.
  const Value* load(const std::string& id, const std::string& path) {
    auto it = m_cache.find(id);
    if (it == m_cache.end()) {
      it = m_cache.emplace(id, parse(id, path)).first;
    }
    return it->second ? &*it->second : nullptr;
  }

private:
  std::optional<Value> parse(const std::string& id, const std::string& path) const {
    std::string text;
    try {
      text = m_repo.read_blob(id);
    } catch (const util::Error&) {
      return std::nullopt; // not a blob (a submodule): nothing to compare
    }
    content::YamlResult result = content::load_yaml(text, path);
    return std::move(result.value);
  }

  const git::Repository& m_repo;
  std::map<std::string, std::optional<Value>> m_cache;
};

// `parent` extended by mapping key `key`: ".key", or `["key"]` when the key
// is not a plain identifier.
std::string member_path(const std::string& parent, const std::string& key) {
  const bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
  if (plain) {
    return parent.empty() ? key : parent + "." + key;
  }
  std::string quoted = "[\"";
  for (const char c : key) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
    }
    quoted += c;
  }
  return parent + quoted + "\"]";
}

std::string shown_path(const std::string& path) {
  return path.empty() ? std::string(k_whole_document) : path;
}

bool same_scalar(const Value& a, const Value& b) {
  switch (a.type) {
  case Value::Type::null:
    return true;
  case Value::Type::boolean:
    return a.boolean == b.boolean;
  case Value::Type::integer:
    return a.integer == b.integer;
  case Value::Type::number:
    return a.number == b.number || (std::isnan(a.number) && std::isnan(b.number));
  default:
    return a.string == b.string;
  }
}

// Append to `out` the shallowest paths where `a` and `b` differ, ignoring
// positions: mappings are compared key by key, sequences index by index
// (a sequence whose length changed is reported as a whole).
void diff_values(const Value& a, const Value& b, const std::string& path,
                 std::vector<std::string>& out) {
  if (a.type != b.type) {
    out.push_back(shown_path(path));
    return;
  }
  if (a.is_mapping()) {
    std::set<std::string> seen;
    for (const content::Entry& member : b.members) {
      if (!seen.insert(member.key).second) {
        continue; // a duplicate key: lookups see the first one only
      }
      const Value* old = a.find(member.key);
      if (old == nullptr) {
        out.push_back(member_path(path, member.key));
      } else {
        diff_values(*old, member.value, member_path(path, member.key), out);
      }
    }
    for (const content::Entry& member : a.members) {
      if (seen.insert(member.key).second) {
        out.push_back(member_path(path, member.key));
      }
    }
    return;
  }
  if (a.is_sequence()) {
    if (a.items.size() != b.items.size()) {
      out.push_back(shown_path(path));
      return;
    }
    for (std::size_t i = 0; i < a.items.size(); ++i) {
      diff_values(a.items[i], b.items[i], path + "[" + std::to_string(i) + "]", out);
    }
    return;
  }
  if (!same_scalar(a, b)) {
    out.push_back(shown_path(path));
  }
}

// One place an item of the `from` tree refers to another item.
struct Reference {
  std::string kind; // kind referred to
  std::string name;
  std::string field; // where, e.g. "steps[0].agent"
};

class ReferenceCollector {
public:
  explicit ReferenceCollector(std::vector<Reference>& out) : m_out(out) {}

  void collect(const std::string& kind, const Value& root) {
    if (!root.is_mapping()) {
      return;
    }
    if (kind == "Agent") {
      each(root.find("knowledge"), "knowledge",
           [&](const Value& item, const std::string& at) { name(&item, at, "KnowledgeBase"); });
      each(root.find("tools"), "tools", [&](const Value& tool, const std::string& at) {
        name(tool.find("integration"), at + ".integration", "Integration");
      });
      if (const Value* fallback = root.find("fallback"); fallback != nullptr) {
        name(fallback->find("handoff_agent"), "fallback.handoff_agent", "Agent");
        name(fallback->find("workflow"), "fallback.workflow", "Workflow");
      }
    } else if (kind == "Workflow") {
      each(root.find("steps"), "steps", [&](const Value& step, const std::string& at) {
        name(step.find("agent"), at + ".agent", "Agent");
        name(step.find("workflow"), at + ".workflow", "Workflow");
        name(step.find("integration"), at + ".integration", "Integration");
      });
    } else if (kind == "Channel") {
      name(root.find("agent"), "agent", "Agent");
      name(root.find("workflow"), "workflow", "Workflow");
    } else if (kind == "Guardrail") {
      each(root.find("applies_to"), "applies_to",
           [&](const Value& item, const std::string& at) { name(&item, at, "Agent"); });
    } else if (kind == "Evaluator") {
      if (const Value* target = root.find("target"); target != nullptr) {
        name(target->find("agent"), "target.agent", "Agent");
        name(target->find("workflow"), "target.workflow", "Workflow");
      }
    }
    variables(root, "");
  }

private:
  template <typename F> void each(const Value* sequence, const std::string& at, F&& visit) {
    if (sequence == nullptr || !sequence->is_sequence()) {
      return;
    }
    for (std::size_t i = 0; i < sequence->items.size(); ++i) {
      visit(sequence->items[i], at + "[" + std::to_string(i) + "]");
    }
  }

  void name(const Value* node, const std::string& at, const std::string& kind) {
    if (node != nullptr && node->is_string() && !node->string.empty()) {
      m_out.push_back({kind, node->string, at});
    }
  }

  // Every {{ vars.NAME }} in any string.
  void variables(const Value& node, const std::string& at) {
    if (node.is_string()) {
      for (const content::VariableReference& reference :
           content::variable_references(node.string)) {
        m_out.push_back({"Variable", std::string(reference.name), shown_path(at)});
      }
    }
    for (std::size_t i = 0; i < node.items.size(); ++i) {
      variables(node.items[i], at + "[" + std::to_string(i) + "]");
    }
    for (const content::Entry& member : node.members) {
      variables(member.value, member_path(at, member.key));
    }
  }

  std::vector<Reference>& m_out;
};

// Kinds whose items can refer to an item of `kind` (besides {{ vars.X }},
// which any item can hold).
std::set<std::string> referring_kinds(const std::string& kind) {
  if (kind == "Agent") {
    return {"Agent", "Workflow", "Channel", "Guardrail", "Evaluator"};
  }
  if (kind == "Workflow") {
    return {"Agent", "Workflow", "Channel", "Evaluator"};
  }
  if (kind == "Integration") {
    return {"Agent", "Workflow"};
  }
  if (kind == "KnowledgeBase") {
    return {"Agent"};
  }
  return {};
}

std::string label(const std::string& kind) {
  if (kind == "KnowledgeBase") {
    return "knowledge base";
  }
  return util::to_lower(kind);
}

// Who refers to what in the `from` tree: path -> references. Reads only the
// items of the kinds that can refer to one of `targets`.
class ReferenceIndex {
public:
  ReferenceIndex(const git::Repository& repo, const std::string& commit, Loader& loader,
                 const std::set<std::string>& target_kinds) {
    std::set<std::string> kinds;
    bool everything = false;
    for (const std::string& kind : target_kinds) {
      if (kind == "Variable") {
        everything = true;
      }
      const std::set<std::string> referring = referring_kinds(kind);
      kinds.insert(referring.begin(), referring.end());
    }
    if (kinds.empty() && !everything) {
      return;
    }
    for (const git::TreeEntry& entry : repo.list_tree(commit)) {
      if (entry.mode != git::Mode::regular && entry.mode != git::Mode::executable) {
        continue;
      }
      const std::optional<Classified> item = classify(entry.path);
      if (!item || !item->yaml || (!everything && kinds.count(item->kind) == 0)) {
        continue;
      }
      const Value* value = loader.load(entry.id, entry.path);
      if (value == nullptr) {
        continue;
      }
      std::vector<Reference> references;
      ReferenceCollector(references).collect(item->kind, *value);
      if (!references.empty()) {
        m_references.emplace(entry.path, std::move(references));
      }
    }
  }

  // "workflows/a.yaml (steps[0].agent), channels/web.yaml (agent)", or "" when
  // nothing but `self` refers to `kind` `name`.
  std::string referrers(const std::string& kind, const std::string& name,
                        const std::string& self) const {
    std::vector<std::string> shown;
    std::size_t more = 0;
    for (const auto& [path, references] : m_references) {
      if (path == self) {
        continue;
      }
      std::vector<std::string> fields;
      for (const Reference& reference : references) {
        if (reference.kind == kind && reference.name == name &&
            std::find(fields.begin(), fields.end(), reference.field) == fields.end()) {
          fields.push_back(reference.field);
        }
      }
      if (fields.empty()) {
        continue;
      }
      if (shown.size() == k_max_referrers) {
        ++more;
        continue;
      }
      shown.push_back(path + " (" + util::join(fields, ", ") + ")");
    }
    if (more > 0) {
      shown.push_back("and " + std::to_string(more) + " more");
    }
    return util::join(shown, ", ");
  }

private:
  std::map<std::string, std::vector<Reference>> m_references;
};

std::string type_label(const std::string& type) { return type.empty() ? "no type" : type; }

} // namespace

std::string resolve_side(const git::Repository& repo, const std::string& env_or_rev) {
  std::optional<policy::PipelineConfig> config;
  try {
    config = policy::load_config(repo);
  } catch (const util::Refused&) {
    // An invalid pipeline config must not stop a read-only diff: sides are
    // then taken as revisions.
  }
  const model::OwnRefs refs(repo);
  return resolve_side(repo, refs, config ? &*config : nullptr, env_or_rev);
}

std::string resolve_side(const git::Repository& repo, const model::RefView& refs,
                         const policy::PipelineConfig* config, const std::string& env_or_rev) {
  if (env_or_rev.empty()) {
    throw util::UsageError("an empty name is neither an environment nor a revision");
  }
  if (config) {
    if (const policy::Environment* env = config->find(env_or_rev); env != nullptr) {
      if (auto id = refs.target(model::branch_ref(*env))) {
        return *id;
      }
      throw util::UsageError("environment '" + env_or_rev + "' has no commits: branch '" +
                             env->branch + "' does not exist");
    }
  }
  if (auto id = repo.resolve_commit(env_or_rev)) {
    return *id;
  }
  // A typo of an environment or of a tag (a release) gets a suggestion.
  std::vector<std::string> names;
  if (config) {
    for (const policy::Environment& env : config->environments) {
      names.push_back(env.name);
    }
  }
  const std::string listed = names.empty() ? "" : "environments: " + util::join(names, ", ");
  for (const auto& ref : refs.names(std::string(model::k_tags_prefix))) {
    names.push_back(ref.substr(model::k_tags_prefix.size()));
  }
  const std::string guess = util::did_you_mean(env_or_rev, names);
  std::string message = "unknown environment or revision '" + env_or_rev + "'";
  if (!guess.empty()) {
    message += "; " + guess;
  }
  if (!listed.empty()) {
    message += " (" + listed + ")";
  }
  throw util::UsageError(message, "unknown-revision", guess.empty() ? listed : guess);
}

namespace {

// Remembered diffs: one small file per pair of trees under the repository's
// cache folder (diffs/), written under a temporary name and renamed; a file
// that does not parse is a miss. Bumped when what a diff holds changes.
constexpr int k_diff_format = 2;
constexpr std::size_t k_max_remembered = 256;

std::optional<SemanticDiff> load_remembered(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  try {
    const nlohmann::json json = util::parse_json(text);
    SemanticDiff diff;
    for (const auto& item : json.at("items")) {
      ItemChange change;
      change.kind = item.at("k").get<std::string>();
      change.name = item.at("n").get<std::string>();
      change.path = item.at("p").get<std::string>();
      const int c = item.at("c").get<int>();
      if (c < 0 || c > 2) {
        return std::nullopt;
      }
      change.change = static_cast<ItemChange::Change>(c);
      change.fields = item.at("f").get<std::vector<std::string>>();
      change.breaking = item.at("b").get<bool>();
      change.reason = item.at("r").get<std::string>();
      if (const auto to = item.find("rt"); to != item.end()) {
        change.renamed_to = ItemChange::Other{to->at(0).get<std::string>(),
                                              to->at(1).get<std::string>()};
      }
      if (const auto from = item.find("rf"); from != item.end()) {
        change.renamed_from = ItemChange::Other{from->at(0).get<std::string>(),
                                                from->at(1).get<std::string>()};
      }
      diff.items.push_back(std::move(change));
    }
    return diff;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

void remember(const std::filesystem::path& folder, const std::filesystem::path& file,
              const SemanticDiff& diff) {
  nlohmann::json items = nlohmann::json::array();
  for (const ItemChange& item : diff.items) {
    nlohmann::json entry{{"k", item.kind},
                         {"n", item.name},
                         {"p", item.path},
                         {"c", static_cast<int>(item.change)},
                         {"f", item.fields},
                         {"b", item.breaking},
                         {"r", item.reason}};
    if (item.renamed_to) {
      entry["rt"] = {item.renamed_to->name, item.renamed_to->path};
    }
    if (item.renamed_from) {
      entry["rf"] = {item.renamed_from->name, item.renamed_from->path};
    }
    items.push_back(std::move(entry));
  }
  const std::string text = util::dump_json(nlohmann::json{{"items", items}});
  if (!util::write_file_atomically(file, text)) {
    return; // a cache that cannot be written is skipped
  }
  std::error_code ec;
  // Bounded: past the limit, the older half goes.
  std::vector<std::pair<std::filesystem::file_time_type, std::filesystem::path>> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    std::error_code time_ec;
    const auto time = entry.last_write_time(time_ec);
    if (!time_ec) {
      files.emplace_back(time, entry.path());
    }
  }
  if (files.size() > k_max_remembered) {
    std::sort(files.begin(), files.end());
    for (std::size_t i = 0; i < files.size() / 2; ++i) {
      std::filesystem::remove(files[i].second, ec);
    }
  }
}

SemanticDiff compute_diff(const git::Repository& repo, const std::string& from_commit,
                          const std::string& to_commit);

} // namespace

SemanticDiff semantic_diff(const git::Repository& repo, const content::ResultCache* cache,
                           const std::string& from_commit, const std::string& to_commit) {
  // Remembered only when the run keeps a cache (none with --no-cache or
  // ENVFLOW_NO_CACHE); a diff depends on the two trees alone.
  if (cache == nullptr || from_commit.empty() || to_commit.empty()) {
    return compute_diff(repo, from_commit, to_commit);
  }
  const std::string key =
      content::sha1_hex("envflow semantic diff " + std::to_string(k_diff_format) + "; " +
                        ENVFLOW_VERSION "\n" + repo.tree_of(from_commit) + "\n" +
                        repo.tree_of(to_commit));
  const std::filesystem::path folder = std::filesystem::path(cache_dir(repo)) / "diffs";
  const std::filesystem::path file = folder / key;
  if (std::optional<SemanticDiff> known = load_remembered(file)) {
    known->from = from_commit;
    known->to = to_commit;
    return *known;
  }
  SemanticDiff diff = compute_diff(repo, from_commit, to_commit);
  remember(folder, file, diff);
  return diff;
}

namespace {

// What a rename keeps of an item: its parsed content without the top-level
// `name`, as JSON text (keys sorted, so order and layout do not count); for a
// document, its blob. nullopt when the item does not parse.
std::optional<std::string> rename_key(Loader& loader, const ItemChange& item,
                                      const std::string& blob) {
  if (item.kind == k_document_kind) {
    return "blob " + blob;
  }
  const Value* value = loader.load(blob, item.path);
  if (value == nullptr) {
    return std::nullopt;
  }
  nlohmann::json json = value->to_json();
  if (json.is_object()) {
    json.erase("name");
  }
  return "yaml " + util::dump_json(json, -1, util::BadUtf8::replace);
}

// Link each added item to a removed item of the same kind and rename_key
// (`blobs[i]` is the blob of items[i]); first come, first paired, in the
// order of `items` (git's, by path).
void pair_renames(Loader& loader, std::vector<ItemChange>& items,
                  const std::vector<std::string>& blobs) {
  const auto count = [&](ItemChange::Change change) {
    return std::count_if(items.begin(), items.end(),
                         [&](const ItemChange& item) { return item.change == change; });
  };
  if (count(ItemChange::Change::added) == 0 || count(ItemChange::Change::removed) == 0) {
    return; // nothing to pair: read no blob
  }
  std::map<std::pair<std::string, std::string>, std::vector<std::size_t>> removed;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].change == ItemChange::Change::removed) {
      if (std::optional<std::string> key = rename_key(loader, items[i], blobs[i])) {
        removed[{items[i].kind, *key}].push_back(i);
      }
    }
  }
  std::map<std::pair<std::string, std::string>, std::size_t> used;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].change != ItemChange::Change::added) {
      continue;
    }
    const std::optional<std::string> key = rename_key(loader, items[i], blobs[i]);
    if (!key) {
      continue;
    }
    const auto it = removed.find({items[i].kind, *key});
    if (it == removed.end() || used[it->first] == it->second.size()) {
      continue;
    }
    ItemChange& old = items[it->second[used[it->first]++]];
    old.renamed_to = ItemChange::Other{items[i].name, items[i].path};
    items[i].renamed_from = ItemChange::Other{old.name, old.path};
  }
}

SemanticDiff compute_diff(const git::Repository& repo, const std::string& from_commit,
                          const std::string& to_commit) {
  SemanticDiff diff;
  diff.from = from_commit;
  diff.to = to_commit;
  Loader loader(repo);
  std::vector<std::string> blobs; // per item: the blob of the side that exists (added, removed)

  for (const git::Change& change : repo.diff_trees(from_commit, to_commit)) {
    const std::optional<Classified> item = classify(change.path);
    if (!item) {
      continue;
    }
    ItemChange out;
    out.kind = item->kind;
    out.name = item->name;
    out.path = change.path;
    switch (change.status) {
    case git::Change::Status::added:
      out.change = ItemChange::Change::added;
      break;
    case git::Change::Status::removed:
      out.change = ItemChange::Change::removed;
      break;
    case git::Change::Status::modified:
      out.change = ItemChange::Change::changed;
      if (change.old_id == change.new_id) {
        continue; // only the file mode changed
      }
      if (item->yaml) {
        const Value* before = loader.load(change.old_id, change.path);
        const Value* after = loader.load(change.new_id, change.path);
        if (before == nullptr || after == nullptr) {
          out.fields.emplace_back(k_unparsed);
        } else {
          diff_values(*before, *after, "", out.fields);
          if (out.fields.empty()) {
            continue; // comments, layout or quoting only
          }
          if (out.kind == "Variable") {
            const std::string old_type = before->string_at("type");
            const std::string new_type = after->string_at("type");
            if (old_type != new_type) {
              out.breaking = true;
              out.reason = "variable '" + out.name + "' retyped from " + type_label(old_type) +
                           " to " + type_label(new_type);
            }
          }
        }
      }
      break;
    }
    diff.items.push_back(std::move(out));
    blobs.push_back(change.status == git::Change::Status::added ? change.new_id : change.old_id);
  }
  pair_renames(loader, diff.items, blobs);

  // Breaking removals: look up who refers to them in the `from` tree, reading
  // only the kinds that can.
  std::set<std::string> removed_kinds;
  std::set<std::string> renamed_kinds;
  for (const ItemChange& item : diff.items) {
    if (item.change == ItemChange::Change::removed &&
        (item.kind == "Variable" || item.kind == "Workflow" ||
         !referring_kinds(item.kind).empty())) {
      (item.renamed_to ? renamed_kinds : removed_kinds).insert(item.kind);
    }
  }
  if (!removed_kinds.empty()) {
    const ReferenceIndex index(repo, from_commit, loader, removed_kinds);
    for (ItemChange& item : diff.items) {
      if (item.change != ItemChange::Change::removed || item.renamed_to ||
          removed_kinds.count(item.kind) == 0) {
        continue;
      }
      const std::string users = index.referrers(item.kind, item.name, item.path);
      const std::string what = label(item.kind) + " '" + item.name + "' removed";
      if (item.kind == "Variable" || item.kind == "Workflow") {
        item.breaking = true;
        item.reason = what + (users.empty() ? std::string() : "; referenced by " + users);
      } else if (!users.empty()) {
        item.breaking = true;
        item.reason = what + "; referenced by " + users;
      }
    }
  }

  // Renames: what counts is who still uses the old name afterwards, in the
  // `to_commit` tree; references updated in the same change break nothing.
  if (!renamed_kinds.empty()) {
    const ReferenceIndex index(repo, to_commit, loader, renamed_kinds);
    for (ItemChange& item : diff.items) {
      if (!item.renamed_to || renamed_kinds.count(item.kind) == 0) {
        continue;
      }
      const std::string users = index.referrers(item.kind, item.name, "");
      const std::string what =
          label(item.kind) + " '" + item.name + "' renamed to '" + item.renamed_to->name + "'";
      if (item.kind == "Variable" || item.kind == "Workflow" || !users.empty()) {
        item.breaking = true;
        item.reason = what + (users.empty() ? std::string() : "; still referenced by " + users);
      }
    }
  }

  std::sort(diff.items.begin(), diff.items.end(), [](const ItemChange& a, const ItemChange& b) {
    return std::forward_as_tuple(kind_rank(a.kind), a.name, a.path) <
           std::forward_as_tuple(kind_rank(b.kind), b.name, b.path);
  });
  return diff;
}

} // namespace

} // namespace envflow::core::workspace
