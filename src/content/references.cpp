#include "content/references.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "content/kinds.h"
#include "util/strings.h"

namespace envflow::content {

namespace {

// Endpoints are declared inside integrations; the catalog keeps them as
// "<integration>/<endpoint>" under this key so steps and tools can be checked.
constexpr std::string_view k_endpoint_key = "Integration.endpoint";
constexpr std::size_t k_max_listed = 10;


// "did you mean 'x'?" when a name within edit distance 2 exists, else the
// declared names (up to ten), else a note that there are none.
std::string suggestion(const std::string& name, const std::set<std::string>& declared,
                       std::string_view plural, std::string_view none_hint) {
  if (const std::string best = util::closest(name, declared); !best.empty()) {
    return "did you mean '" + best + "'?";
  }
  if (declared.empty()) {
    return "no " + std::string(plural) + " are declared" +
           (none_hint.empty() ? std::string() : "; " + std::string(none_hint));
  }
  std::vector<std::string> shown;
  for (const auto& candidate : declared) {
    if (shown.size() == k_max_listed) {
      shown.emplace_back("…");
      break;
    }
    shown.push_back(candidate);
  }
  return "declared " + std::string(plural) + ": " + util::join(shown, ", ");
}

// Walks a document once and records, in report order, every reference it
// makes and every finding that needs no other file.
class Summarizer {
public:
  explicit Summarizer(const Document& document) : m_document(document) {}

  DocumentSummary run() {
    m_summary.path = m_document.path;
    m_summary.kind = m_document.kind;
    m_summary.name = m_document.name;
    const Value& root = *m_document.value;
    if (!root.is_mapping()) {
      return std::move(m_summary);
    }
    const std::string& kind = m_document.kind;
    if (kind == "Variable") {
      m_summary.variable_type = root.string_at("type");
    } else if (kind == "Integration") {
      if (const Value* endpoints = root.find("endpoints"); endpoints != nullptr) {
        for (const Value& endpoint : endpoints->items) {
          if (std::string name = endpoint.string_at("name"); !name.empty()) {
            m_summary.endpoints.push_back(std::move(name));
          }
        }
      }
    }
    if (kind == "Agent") {
      agent(root);
    } else if (kind == "Workflow") {
      workflow(root);
    } else if (kind == "KnowledgeBase") {
      knowledge(root);
    } else if (kind == "Channel") {
      named(root.find("agent"), "agent", "Agent", "ref-agent");
      named(root.find("workflow"), "workflow", "Workflow", "ref-workflow");
    } else if (kind == "Guardrail") {
      // Guardrails and evaluators live on a local ref, which holds no agents
      // or workflows of its own: checked only against promoted content.
      m_promoted_only = true;
      if (const Value* agents = root.find("applies_to"); agents != nullptr) {
        for (std::size_t i = 0; i < agents->items.size(); ++i) {
          named(&agents->items[i], "applies_to[" + std::to_string(i) + "]", "Agent", "ref-agent");
        }
      }
      m_promoted_only = false;
    } else if (kind == "Evaluator") {
      m_promoted_only = true;
      if (const Value* target = root.find("target"); target != nullptr) {
        named(target->find("agent"), "target.agent", "Agent", "ref-agent");
        named(target->find("workflow"), "target.workflow", "Workflow", "ref-workflow");
      }
      m_promoted_only = false;
    }
    variables(root);
    return std::move(m_summary);
  }

private:
  ReferenceCheck& record(ReferenceCheck::Type type, Mark mark) {
    ReferenceCheck& check = m_summary.checks.emplace_back();
    check.type = type;
    check.promoted_only = m_promoted_only;
    check.mark = mark;
    return check;
  }

  void finding(Mark mark, std::string message, std::string rule) {
    ReferenceCheck& check = record(ReferenceCheck::Type::finding, mark);
    check.where = std::move(message);
    check.rule = std::move(rule);
  }

  // Record that string `node` must name an existing `kind`; `where` is the
  // field path. Returns false when there is nothing to check.
  bool named(const Value* node, const std::string& where, const std::string& kind,
             const std::string& rule) {
    if (node == nullptr || !node->is_string() || node->string.empty()) {
      return false;
    }
    ReferenceCheck& check = record(ReferenceCheck::Type::named, node->mark);
    check.target = kind;
    check.name = node->string;
    check.where = where;
    check.rule = rule;
    return true;
  }

  void endpoint(const Value* node, const std::string& where, const std::string& integration) {
    if (node == nullptr || !node->is_string() || node->string.empty()) {
      return;
    }
    ReferenceCheck& check = record(ReferenceCheck::Type::endpoint, node->mark);
    check.target = integration;
    check.name = node->string;
    check.where = where;
    check.rule = "ref-endpoint";
  }

  void agent(const Value& root) {
    if (const Value* bases = root.find("knowledge"); bases != nullptr) {
      for (std::size_t i = 0; i < bases->items.size(); ++i) {
        named(&bases->items[i], "knowledge[" + std::to_string(i) + "]", "KnowledgeBase",
              "ref-knowledge");
      }
    }
    if (const Value* tools = root.find("tools"); tools != nullptr) {
      for (std::size_t i = 0; i < tools->items.size(); ++i) {
        const Value& tool = tools->items[i];
        const std::string where = "tools[" + std::to_string(i) + "]";
        if (named(tool.find("integration"), where + ".integration", "Integration",
                  "ref-integration")) {
          endpoint(tool.find("endpoint"), where + ".endpoint", tool.string_at("integration"));
        }
      }
    }
    if (const Value* fallback = root.find("fallback"); fallback != nullptr) {
      named(fallback->find("handoff_agent"), "fallback.handoff_agent", "Agent", "ref-agent");
      named(fallback->find("workflow"), "fallback.workflow", "Workflow", "ref-workflow");
    }
  }

  void workflow(const Value& root) {
    if (const Value* trigger = root.find("trigger"); trigger != nullptr) {
      named(trigger->find("channel"), "trigger.channel", "Channel", "ref-channel");
    }
    const Value* steps = root.find("steps");
    if (steps == nullptr || !steps->is_sequence()) {
      return;
    }
    std::set<std::string> ids;
    for (std::size_t i = 0; i < steps->items.size(); ++i) {
      const Value* id = steps->items[i].find("id");
      if (id == nullptr || !id->is_string()) {
        continue;
      }
      if (!ids.insert(id->string).second) {
        finding(id->mark,
                "steps[" + std::to_string(i) + "].id: step id '" + id->string +
                    "' is used by an earlier step; give each step of the workflow its own id",
                "duplicate-step-id");
      }
    }
    for (std::size_t i = 0; i < steps->items.size(); ++i) {
      const Value& step = steps->items[i];
      const std::string where = "steps[" + std::to_string(i) + "]";
      named(step.find("agent"), where + ".agent", "Agent", "ref-agent");
      named(step.find("workflow"), where + ".workflow", "Workflow", "ref-workflow");
      if (named(step.find("integration"), where + ".integration", "Integration",
                "ref-integration")) {
        endpoint(step.find("endpoint"), where + ".endpoint", step.string_at("integration"));
      }
      if (const Value* next = step.find("next");
          next != nullptr && next->is_string() && ids.count(next->string) == 0) {
        finding(next->mark,
                where + ".next: no step with id '" + next->string + "' in this workflow; " +
                    suggestion(next->string, ids, "step ids", ""),
                "ref-step");
      }
    }
  }

  void knowledge(const Value& root) {
    const Value* sources = root.find("sources");
    if (sources == nullptr || !sources->is_sequence()) {
      return;
    }
    const std::string folder = "knowledge/" + m_document.name + "/";
    for (std::size_t i = 0; i < sources->items.size(); ++i) {
      const Value* path = sources->items[i].find("path");
      if (path == nullptr || !path->is_string() || path->string.empty()) {
        continue;
      }
      const std::string where = "sources[" + std::to_string(i) + "].path";
      const std::string& target = path->string;
      if (!util::starts_with(target, folder) || target.size() == folder.size() ||
          target.find("..") != std::string::npos) {
        finding(path->mark,
                where + ": '" + target + "' is outside " + folder +
                    "; documents of knowledge base '" + m_document.name + "' live in " + folder,
                "ref-document");
        continue;
      }
      ReferenceCheck& check = record(ReferenceCheck::Type::document, path->mark);
      check.name = target;
      check.where = where;
      check.rule = "ref-document";
    }
  }

  // Every {{ vars.NAME }} in any string of the document.
  void variables(const Value& node) {
    if (node.is_string()) {
      scan(node);
    }
    for (const Value& item : node.items) {
      variables(item);
    }
    for (const Entry& member : node.members) {
      variables(member.value);
    }
  }

  // A variable name: ^[a-z_][a-z0-9_]{0,62}$.
  static bool variable_name(std::string_view name) {
    if (name.empty() || name.size() > 63 ||
        !((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_')) {
      return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
  }

  void scan(const Value& node) {
    const std::string& text = node.string;
    for (const VariableReference& reference : variable_references(text)) {
      if (!variable_name(reference.name)) {
        finding(node.mark,
                "'" + text.substr(reference.begin, reference.end - reference.begin) +
                    "' is not a variable reference: write {{ vars.NAME }} with a "
                    "lowercase variable name",
                "ref-variable");
      } else {
        ReferenceCheck& check = record(ReferenceCheck::Type::variable, node.mark);
        check.name = reference.name;
        check.rule = "ref-variable";
      }
    }
  }

  const Document& m_document;
  DocumentSummary m_summary;
  bool m_promoted_only = false;
};

// Whether the snapshot carries promoted content (agents, workflows, ...).
bool sees_promoted_content(const Catalog& catalog) {
  return std::any_of(kinds().begin(), kinds().end(), [&](const KindInfo& info) {
    return info.scope == Scope::promoted && catalog.names.count(std::string(info.kind)) > 0;
  });
}

} // namespace

// The catalog's names by kind, hashed; views into the catalog's own strings.
struct ReferenceChecker::Index {
  std::unordered_map<std::string_view, std::unordered_set<std::string_view>> names;
  bool promoted = false;
};

namespace {

// Checks the recorded references of one document against a catalog (and
// its index, when there is one).
class Checker {
public:
  Checker(const DocumentSummary& document, const Catalog& catalog,
          const ReferenceChecker::Index* index)
      : m_document(document), m_catalog(catalog), m_index(index) {}

  std::vector<Diagnostic> run() {
    const bool promoted = m_index != nullptr ? m_index->promoted : sees_promoted_content(m_catalog);
    bool previous_resolved = false; // the named check just before, for endpoints
    for (const ReferenceCheck& check : m_document.checks) {
      if (check.promoted_only && !promoted) {
        previous_resolved = false;
        continue;
      }
      switch (check.type) {
      case ReferenceCheck::Type::named:
        previous_resolved = named(check);
        continue;
      case ReferenceCheck::Type::endpoint:
        if (previous_resolved) {
          endpoint(check);
        }
        break;
      case ReferenceCheck::Type::document:
        document(check);
        break;
      case ReferenceCheck::Type::variable:
        variable(check);
        break;
      case ReferenceCheck::Type::finding:
        add(check.mark, check.where, check.rule);
        break;
      }
      previous_resolved = false;
    }
    return std::move(m_out);
  }

private:
  bool has(const std::string& kind, const std::string& name) const {
    if (m_index == nullptr) {
      return m_catalog.has(kind, name);
    }
    const auto it = m_index->names.find(kind);
    return it != m_index->names.end() && it->second.count(name) > 0;
  }

  void add(Mark mark, std::string message, std::string rule) {
    Diagnostic d;
    d.path = m_document.path;
    d.mark = mark.line > 0 ? mark : Mark{1, 1};
    d.severity = Severity::error;
    d.message = std::move(message);
    d.rule = std::move(rule);
    m_out.push_back(std::move(d));
  }

  const std::set<std::string>& declared(const std::string& kind) const {
    static const std::set<std::string> k_none;
    const auto it = m_catalog.names.find(kind);
    return it != m_catalog.names.end() ? it->second : k_none;
  }

  bool named(const ReferenceCheck& check) {
    if (has(check.target, check.name)) {
      return true;
    }
    const std::string& kind = check.target;
    const KindInfo* info = kind_by_name(kind);
    const std::string folder = info != nullptr ? std::string(info->folder) : kind;
    const std::string label = kind == "KnowledgeBase" ? "knowledge base" : util::to_lower(kind);
    add(check.mark,
        check.where + ": no " + label + " named '" + check.name + "' (expected " + folder + "/" +
            check.name + ".yaml); " +
            suggestion(check.name, declared(kind), label + "s",
                       "add " + folder + "/" + check.name + ".yaml"),
        check.rule);
    return false;
  }

  void endpoint(const ReferenceCheck& check) {
    const std::string& integration = check.target;
    if (has(std::string(k_endpoint_key), integration + "/" + check.name)) {
      return;
    }
    std::set<std::string> endpoints;
    const std::string prefix = integration + "/";
    for (const auto& full : declared(std::string(k_endpoint_key))) {
      if (util::starts_with(full, prefix)) {
        endpoints.insert(full.substr(prefix.size()));
      }
    }
    add(check.mark,
        check.where + ": integration '" + integration + "' has no endpoint named '" + check.name +
            "'; " +
            suggestion(check.name, endpoints, "endpoints",
                       "add it under 'endpoints' in integrations/" + integration + ".yaml"),
        check.rule);
  }

  // A path names a file, or a folder when it ends in '/' or has files below it.
  void document(const ReferenceCheck& check) {
    const std::string& target = check.name;
    std::string below = target;
    if (!util::ends_with(below, "/")) {
      below += "/";
    }
    const auto next = m_catalog.files.lower_bound(below);
    const bool exists = m_catalog.files.count(target) > 0 ||
                        (next != m_catalog.files.end() && util::starts_with(*next, below));
    if (!exists) {
      add(check.mark,
          check.where + ": no file '" + target + "' in the repository; add it or fix the path",
          check.rule);
    }
  }

  void variable(const ReferenceCheck& check) {
    const std::string& name = check.name;
    if (has("Variable", name)) {
      return;
    }
    add(check.mark,
        "{{ vars." + name + " }} names no declared variable (expected variables/" + name +
            ".yaml); " +
            suggestion(name, declared("Variable"), "variables", "add variables/" + name + ".yaml"),
        check.rule);
  }

  const DocumentSummary& m_document;
  const Catalog& m_catalog;
  const ReferenceChecker::Index* m_index;
  std::vector<Diagnostic> m_out;
};

} // namespace

Catalog Catalog::from(const std::vector<Document>& documents) {
  Catalog catalog;
  for (const Document& document : documents) {
    if (document.name.empty()) {
      continue;
    }
    catalog.names[document.kind].insert(document.name);
    if (document.value == nullptr) {
      continue;
    }
    if (document.kind == "Variable") {
      catalog.variable_types[document.name] = document.value->string_at("type");
    } else if (document.kind == "Integration") {
      if (const Value* endpoints = document.value->find("endpoints"); endpoints != nullptr) {
        for (const Value& endpoint : endpoints->items) {
          if (const std::string name = endpoint.string_at("name"); !name.empty()) {
            catalog.names[std::string(k_endpoint_key)].insert(document.name + "/" + name);
          }
        }
      }
    }
  }
  return catalog;
}

void Catalog::declare(const DocumentSummary& document) {
  if (document.name.empty()) {
    return;
  }
  // Documents usually come in path order, so names in order: hint the end.
  auto& declared = names[document.kind];
  declared.insert(declared.end(), document.name);
  if (document.kind == "Variable") {
    variable_types.insert_or_assign(variable_types.end(), document.name, document.variable_type);
  } else if (document.kind == "Integration") {
    auto& endpoints = names[std::string(k_endpoint_key)];
    for (const auto& endpoint : document.endpoints) {
      endpoints.insert(endpoints.end(), document.name + "/" + endpoint);
    }
  }
}

bool Catalog::has(const std::string& kind, const std::string& name) const {
  const auto it = names.find(kind);
  return it != names.end() && it->second.count(name) > 0;
}

DocumentSummary summarize(const Document& document) {
  if (document.value == nullptr) {
    DocumentSummary summary;
    summary.path = document.path;
    summary.kind = document.kind;
    summary.name = document.name;
    return summary;
  }
  return Summarizer(document).run();
}

std::vector<Diagnostic> check_references(const Document& document, const Catalog& catalog) {
  if (document.value == nullptr) {
    return {};
  }
  return check_references(summarize(document), catalog);
}

std::vector<Diagnostic> check_references(const DocumentSummary& document, const Catalog& catalog) {
  return Checker(document, catalog, nullptr).run();
}

namespace {

// `\s` of std::regex in the "C" locale.
bool white_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// The reference starting at `at` (a "{{") in `text`, into `found`; whether
// there is one.
bool reference_at(std::string_view text, std::size_t at, VariableReference& found) {
  std::size_t i = at + 2;
  while (i < text.size() && white_space(text[i])) {
    ++i;
  }
  if (text.compare(i, 5, "vars.") != 0) {
    return false;
  }
  i += 5;
  const std::size_t begin = i;
  while (i < text.size() && !white_space(text[i]) && text[i] != '}') {
    ++i;
  }
  found.name = text.substr(begin, i - begin);
  while (i < text.size() && white_space(text[i])) {
    ++i;
  }
  if (text.compare(i, 2, "}}") != 0) {
    return false;
  }
  found.begin = at;
  found.end = i + 2;
  return true;
}

} // namespace

// Spelled out rather than a std::regex: this runs on every string of every
// file, and <regex> costs seconds of compile time wherever it is used. No
// backtracking is needed: the name stops at the first space or "}", which
// neither it nor the spaces after it could take back.
std::vector<VariableReference> variable_references(std::string_view text) {
  std::vector<VariableReference> found;
  if (text.find("vars.") == std::string_view::npos) {
    return found;
  }
  VariableReference reference;
  std::size_t at = text.find("{{");
  while (at != std::string_view::npos) {
    if (!reference_at(text, at, reference)) {
      at = text.find("{{", at + 1);
      continue;
    }
    found.push_back(reference);
    at = text.find("{{", reference.end);
  }
  return found;
}

ReferenceChecker::ReferenceChecker(const Catalog& catalog)
    : m_catalog(catalog), m_index(std::make_unique<Index>()) {
  for (const auto& [kind, names] : catalog.names) {
    auto& set = m_index->names[kind];
    set.reserve(names.size());
    for (const auto& name : names) {
      set.insert(name);
    }
  }
  m_index->promoted = sees_promoted_content(catalog);
}

ReferenceChecker::~ReferenceChecker() = default;

std::vector<Diagnostic> ReferenceChecker::check(const DocumentSummary& document) const {
  return Checker(document, m_catalog, m_index.get()).run();
}

} // namespace envflow::content
