#include "content/schema_failures.h"

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "content/yaml_detail.h"
#include "util/json.h"
#include "util/strings.h"

namespace envflow::content::schema_failures {

namespace {

constexpr std::size_t k_max_names_listed = 12;
constexpr std::string_view k_type_error = "Value type not permitted by 'type' constraint.";
// Fields whose values are not repeated in messages.
constexpr std::string_view k_sensitive[] = {"secret", "token", "password", "key", "credential"};

std::string list(const std::vector<std::string>& names) {
  std::vector<std::string> shown(names.begin(),
                                 names.begin() + std::min(names.size(), k_max_names_listed));
  std::string text = util::join(shown, ", ");
  if (names.size() > k_max_names_listed) {
    text += ", …";
  }
  return text;
}

// "'a', 'b' or 'c'"
std::string quoted_alternatives(const std::vector<std::string>& names, std::string_view word) {
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) {
      text += i + 1 == names.size() ? " " + std::string(word) + " " : ", ";
    }
    text += "'" + names[i] + "'";
  }
  return text;
}

std::string json_text(const Json& value) {
  if (value.is_string()) {
    return "'" + value.get<std::string>() + "'";
  }
  return util::dump_json(value);
}

// How a value reads in a message.
std::string describe(const Value& value) {
  constexpr std::size_t k_max_shown = 60;
  switch (value.type) {
  case Value::Type::null:
    return "an empty value";
  case Value::Type::mapping:
    return "an object";
  case Value::Type::sequence:
    return "an array";
  case Value::Type::string:
    if (value.string.size() > k_max_shown) {
      return "'" + value.string.substr(0, k_max_shown) + "…'";
    }
    return "'" + value.string + "'";
  default:
    return value.string.empty() ? util::dump_json(value.to_json()) : value.string;
  }
}

// The first value of `keyword` among `schemas`, or nullptr.
const Json* first(const std::vector<const Json*>& schemas, std::string_view keyword) {
  for (const Json* schema : schemas) {
    if (const auto it = schema->find(keyword); it != schema->end()) {
      return &*it;
    }
  }
  return nullptr;
}

std::string first_string(const std::vector<const Json*>& schemas, std::string_view keyword) {
  const Json* value = first(schemas, keyword);
  return value != nullptr && value->is_string() ? value->get<std::string>() : std::string();
}

enum class Repeats { keep, drop };

// The member names of object `keyword` of each of `schemas`, in declaration
// order; a name a later schema declares again is listed again unless `drop`.
std::vector<std::string> member_names(const std::vector<const Json*>& schemas,
                                      std::string_view keyword, Repeats repeats) {
  std::vector<std::string> names;
  for (const Json* schema : schemas) {
    if (const auto found = schema->find(keyword); found != schema->end() && found->is_object()) {
      for (const auto& [name, subschema] : found->items()) {
        if (repeats == Repeats::keep || std::find(names.begin(), names.end(), name) == names.end()) {
          names.push_back(name);
        }
      }
    }
  }
  return names;
}

// Property names declared by `schemas`, in declaration order.
std::vector<std::string> declared_properties(const std::vector<const Json*>& schemas) {
  return member_names(schemas, "properties", Repeats::drop);
}

std::vector<std::string> pattern_properties(const std::vector<const Json*>& schemas) {
  return member_names(schemas, "patternProperties", Repeats::keep);
}

// The description of property `key` as declared by `schemas`.
std::string property_description(const std::vector<const Json*>& schemas, const std::string& key) {
  for (const Json* schema : schemas) {
    if (const auto properties = schema->find("properties");
        properties != schema->end() && properties->is_object()) {
      if (const auto property = properties->find(key);
          property != properties->end() && property->contains("description")) {
        return (*property)["description"].get<std::string>();
      }
    }
  }
  return {};
}

// For a oneOf/anyOf whose branches are each `{"required": [one name]}` (our
// "exactly one of" idiom): those names; empty for any other form.
std::vector<std::string> alternatives(const Json& branches) {
  std::vector<std::string> names;
  if (!branches.is_array()) {
    return {};
  }
  for (const auto& branch : branches) {
    if (!branch.is_object() || branch.size() != 1 || !branch.contains("required") ||
        !branch["required"].is_array() || branch["required"].size() != 1 ||
        !branch["required"][0].is_string()) {
      return {};
    }
    names.push_back(branch["required"][0].get<std::string>());
  }
  return names;
}

// The text between the first pair of single quotes in `text`.
std::string quoted_in(std::string_view text) {
  const auto open = text.find('\'');
  if (open == std::string_view::npos) {
    return {};
  }
  const auto close = text.rfind('\'');
  if (close == open) {
    return {};
  }
  return std::string(text.substr(open + 1, close - open - 1));
}

bool is_noise(const std::string& description) {
  // Each failure is repeated by every enclosing constraint; keep the deepest.
  static constexpr std::string_view k_noise[] = {
      "Failed to validate against schema associated with",
      "Failed to validate item #",
      "Failed to validate against additional properties schema",
      "Failed to validate against a conditional schema",
      "Failed to validate against child schema #",
      "Failed to validate against dependent schema",
  };
  return std::any_of(std::begin(k_noise), std::end(k_noise), [&](std::string_view prefix) {
    return util::starts_with(description, prefix);
  });
}

// Turns valijson's errors for one document into diagnostics.
class Reporter {
public:
  Reporter(const std::string& title, const Json& root, const Value& document,
           const std::string& path)
      : m_title(title), m_root(root), m_document(document), m_path(path) {}

  std::vector<Diagnostic> report(const std::vector<Failure>& results) {
    // Contexts where an "exactly one of" / "at least one of" found none: the
    // branches' own "Missing required property" errors are folded into one.
    std::map<std::vector<std::string>, std::set<std::string>> folded;
    for (const auto& error : results) {
      if (util::starts_with(error.description, "Failed to validate against any")) {
        const Location at = locate(m_root, m_document, error.context);
        for (const Json* schema : at.schemas) {
          for (const char* keyword : {"oneOf", "anyOf"}) {
            if (const auto branches = schema->find(keyword); branches != schema->end()) {
              for (const auto& name : alternatives(*branches)) {
                folded[error.context].insert(name);
              }
            }
          }
        }
      }
    }
    // A value of the wrong type also fails its const, enum, pattern and
    // length checks; the type error alone says what to mend.
    std::set<std::vector<std::string>> mistyped;
    for (const auto& error : results) {
      if (error.description == k_type_error) {
        mistyped.insert(error.context);
      }
    }
    for (const auto& error : results) {
      if (is_noise(error.description)) {
        continue;
      }
      if (error.description != k_type_error && mistyped.count(error.context) > 0 &&
          !util::starts_with(error.description, "Missing") &&
          !util::starts_with(error.description, "Object contains")) {
        continue;
      }
      if (util::starts_with(error.description, "Missing required property")) {
        const auto it = folded.find(error.context);
        if (it != folded.end() && it->second.count(quoted_in(error.description)) > 0) {
          continue;
        }
      }
      render(error.context, error.description);
    }
    if (m_out.empty()) {
      add(m_document.mark, "does not match schema '" + m_title + "'");
    }
    sort_diagnostics(m_out);
    return std::move(m_out);
  }

private:
  void add(Mark mark, std::string message) {
    Diagnostic d;
    d.path = m_path;
    d.mark = mark.line > 0 ? mark : Mark{1, 1};
    d.severity = Severity::error;
    d.message = std::move(message);
    d.rule = "schema";
    m_out.push_back(std::move(d));
  }

  static std::string where(const Location& at) {
    return at.path.empty() ? "at the top level: " : "at " + at.path + ": ";
  }

  // "in Agent" at the top, "in model" below.
  std::string in(const Location& at) const {
    return at.path.empty() ? "in " + m_title : "in " + at.path;
  }

  static Mark value_mark(const Location& at) {
    if (at.entry != nullptr && (at.node->is_null() || at.node->mark.line <= 0)) {
      return at.entry->key_mark;
    }
    return at.node->mark;
  }

  static Mark object_mark(const Location& at) {
    return at.entry != nullptr ? at.entry->key_mark : at.node->mark;
  }

  void render(const std::vector<std::string>& context, const std::string& description) {
    const Location at = locate(m_root, m_document, context);
    const Value& node = *at.node;
    if (util::starts_with(description, "Object contains a property that could not be validated")) {
      unknown_fields(at, quoted_in(description));
    } else if (util::starts_with(description, "Missing required property")) {
      const std::string key = quoted_in(description);
      std::string message = "missing required field '" + key + "' " + in(at);
      const std::string about = property_description(at.schemas, key);
      if (!about.empty()) {
        message += ": " + about;
      }
      add(object_mark(at), message);
    } else if (util::starts_with(description, "Missing dependency")) {
      missing_dependency(at, quoted_in(description));
    } else if (description == k_type_error) {
      wrong_type(at);
    } else if (description == "Failed to match against any enum values.") {
      not_in_enum(at);
    } else if (description == "Failed to match expected value set by 'const' constraint.") {
      const Json* constant = first(at.schemas, "const");
      add(value_mark(at), where(at) + "expected " +
                              (constant != nullptr ? json_text(*constant) : "a fixed value") +
                              ", got " + describe(node));
    } else if (description == "Failed to match regex specified by 'pattern' constraint.") {
      bad_pattern(at);
    } else if (util::starts_with(description, "Expected number")) {
      out_of_range(at, description);
    } else if (util::starts_with(description, "Array should contain no fewer than")) {
      const Json* minimum = first(at.schemas, "minItems");
      add(value_mark(at), where(at) + "needs at least " +
                              (minimum != nullptr ? util::dump_json(*minimum) : std::string("more")) +
                              " item(s), has " + std::to_string(node.items.size()));
    } else if (util::starts_with(description, "Array should contain no more than")) {
      const Json* maximum = first(at.schemas, "maxItems");
      add(value_mark(at), where(at) + "allows at most " +
                              (maximum != nullptr ? util::dump_json(*maximum) : std::string("fewer")) +
                              " item(s), has " + std::to_string(node.items.size()) +
                              "; remove some");
    } else if (util::starts_with(description, "String should be no fewer than")) {
      const Json* minimum = first(at.schemas, "minLength");
      if (minimum != nullptr && minimum->is_number_integer() && minimum->get<int>() == 1) {
        add(value_mark(at), where(at) + "must not be empty");
      } else {
        add(value_mark(at), where(at) + "must be at least " +
                                (minimum != nullptr ? util::dump_json(*minimum) : std::string("more")) +
                                " characters long");
      }
    } else if (util::starts_with(description, "String should be no more than")) {
      const Json* maximum = first(at.schemas, "maxLength");
      add(value_mark(at), where(at) + "must be at most " +
                              (maximum != nullptr ? util::dump_json(*maximum) : std::string("fewer")) +
                              " characters long");
    } else if (description.find("violate uniqueness constraint") != std::string::npos) {
      duplicate_items(at, description);
    } else if (description ==
               "Target should not validate against schema specified in 'not' constraint.") {
      forbidden(at);
    } else if (util::starts_with(description, "Failed to validate against any") ||
               description == "Failed to validate against exactly one child schema.") {
      one_of(at, description);
    } else {
      add(value_mark(at), where(at) + description);
    }
  }

  void unknown_fields(const Location& at, const std::string& named) {
    const std::vector<std::string> allowed = declared_properties(at.schemas);
    const std::vector<std::string> patterns = pattern_properties(at.schemas);
    std::vector<const Entry*> unknown;
    if (at.node->is_mapping()) {
      for (const Entry& member : at.node->members) {
        const bool declared =
            std::find(allowed.begin(), allowed.end(), member.key) != allowed.end() ||
            std::any_of(patterns.begin(), patterns.end(), [&](const std::string& pattern) {
              return pattern_matches(member.key, pattern);
            });
        if (!declared) {
          unknown.push_back(&member);
        }
      }
    }
    if (unknown.empty() && at.node->is_mapping()) {
      for (const Entry& member : at.node->members) {
        if (member.key == named) {
          unknown.push_back(&member);
        }
      }
    }
    for (const Entry* member : unknown) {
      if (allowed.empty() && !patterns.empty()) {
        add(member->key_mark, "key '" + member->key + "' " + in(at) + " is not a valid name: " +
                                  "it must match " + util::join(patterns, " or "));
        continue;
      }
      std::string message = "unknown field '" + member->key + "' " + in(at);
      if (const std::string guess = util::closest(member->key, allowed); !guess.empty()) {
        message += ": did you mean '" + guess + "'?";
      }
      message +=
          allowed.empty() ? " (no fields are allowed here)" : " (allowed: " + list(allowed) + ")";
      add(member->key_mark, message);
    }
    if (unknown.empty()) {
      add(object_mark(at), "unknown field '" + named + "' " + in(at));
    }
  }

  void missing_dependency(const Location& at, const std::string& needed) {
    std::string by;
    if (const Json* dependencies = first(at.schemas, "dependencies");
        dependencies != nullptr && dependencies->is_object() && at.node->is_mapping()) {
      for (const auto& [key, names] : dependencies->items()) {
        if (at.node->find(key) != nullptr && names.is_array() &&
            std::find(names.begin(), names.end(), Json(needed)) != names.end()) {
          by = key;
          break;
        }
      }
    }
    std::string message = where(at) + "missing field '" + needed + "'";
    if (!by.empty()) {
      message += ", needed together with '" + by + "'";
    }
    if (const std::string about = property_description(at.schemas, needed); !about.empty()) {
      message += ": " + about;
    }
    add(object_mark(at), message);
  }

  void wrong_type(const Location& at) {
    std::vector<std::string> expected;
    for (const Json* schema : at.schemas) {
      if (const auto type = schema->find("type"); type != schema->end()) {
        const auto note = [&](const Json& name) {
          if (name.is_string() && std::find(expected.begin(), expected.end(),
                                            name.get<std::string>()) == expected.end()) {
            expected.push_back(name.get<std::string>());
          }
        };
        if (type->is_array()) {
          std::for_each(type->begin(), type->end(), note);
        } else {
          note(*type);
        }
      }
    }
    // "integer" is part of "number"; naming both reads oddly.
    if (std::find(expected.begin(), expected.end(), "number") != expected.end()) {
      std::erase(expected, std::string("integer"));
    }
    const Value& node = *at.node;
    std::string message =
        where(at) + "expected " +
        (expected.empty() ? std::string("another type") : util::join(expected, " or ")) + ", got " +
        std::string(Value::type_name(node.type));
    const bool wants_string =
        std::find(expected.begin(), expected.end(), "string") != expected.end();
    const bool wants_number =
        std::find(expected.begin(), expected.end(), "number") != expected.end() ||
        std::find(expected.begin(), expected.end(), "integer") != expected.end();
    if (node.is_null()) {
      message += " (the value is empty)";
    } else if (wants_string && node.is_scalar()) {
      message += " " + describe(node) + "; quote it to make it a string";
    } else if (wants_number && node.is_string() && yaml_detail::decimal_number(node.string)) {
      message += " " + describe(node) + "; remove the quotes to make it a number";
    } else if (node.type == Value::Type::number &&
               std::find(expected.begin(), expected.end(), "integer") != expected.end()) {
      message += " " + describe(node) + "; write a whole number";
    }
    add(value_mark(at), message);
  }

  void not_in_enum(const Location& at) {
    std::vector<std::string> allowed;
    if (const Json* values = first(at.schemas, "enum"); values != nullptr && values->is_array()) {
      for (const auto& value : *values) {
        allowed.push_back(value.is_string() ? value.get<std::string>() : util::dump_json(value));
      }
    }
    std::string message =
        where(at) + describe(*at.node) + " is not allowed; use one of: " + list(allowed);
    if (at.node->is_string()) {
      if (const std::string guess = util::closest(at.node->string, allowed); !guess.empty()) {
        message += " (did you mean '" + guess + "'?)";
      }
    }
    add(value_mark(at), message);
  }

  void bad_pattern(const Location& at) {
    std::string pattern;
    std::string about;
    for (const Json* schema : at.schemas) {
      if (schema->contains("pattern") && (*schema)["pattern"].is_string()) {
        pattern = (*schema)["pattern"].get<std::string>();
        about = schema->value("description", std::string());
        break;
      }
    }
    if (about.empty()) {
      about = first_string(at.schemas, "description");
    }
    // Never echo what may be a credential into logs.
    const bool sensitive =
        at.entry != nullptr &&
        std::any_of(std::begin(k_sensitive), std::end(k_sensitive), [&](std::string_view word) {
          return util::to_lower(at.entry->key).find(word) != std::string::npos;
        });
    std::string message =
        where(at) + (sensitive ? std::string("the value") : describe(*at.node)) + " is not valid";
    if (!about.empty()) {
      message += ": " + about;
    }
    if (!pattern.empty()) {
      message += " (pattern " + pattern + ")";
    }
    add(value_mark(at), message);
  }

  void out_of_range(const Location& at, const std::string& description) {
    const bool below = description.find("greater than") != std::string::npos;
    const bool inclusive = description.find("or equal") != std::string::npos;
    const char* keyword = below ? (inclusive ? "minimum" : "exclusiveMinimum")
                                : (inclusive ? "maximum" : "exclusiveMaximum");
    const Json* limit = first(at.schemas, keyword);
    const std::string bound = limit != nullptr ? util::dump_json(*limit) : std::string("the limit");
    std::string message = where(at) + describe(*at.node) + " is too " +
                          (below ? "small" : "large") + "; it must be " +
                          (below ? (inclusive ? "at least " : "greater than ")
                                 : (inclusive ? "at most " : "less than ")) +
                          bound;
    add(value_mark(at), message);
  }

  void duplicate_items(const Location& at, const std::string& description) {
    const std::vector<std::size_t> indexes = indexes_in(description);
    if (indexes.size() == 2 && at.node->is_sequence() &&
        std::max(indexes[0], indexes[1]) < at.node->items.size()) {
      const std::size_t earlier = std::min(indexes[0], indexes[1]);
      const std::size_t later = std::max(indexes[0], indexes[1]);
      const Value& item = at.node->items[later];
      add(item.mark, "at " + at.path + "[" + std::to_string(later) + "]: " + describe(item) +
                         " repeats " + at.path + "[" + std::to_string(earlier) +
                         "]; remove one of them");
      return;
    }
    add(value_mark(at), where(at) + "items must be unique");
  }

  void forbidden(const Location& at) {
    for (const Json* schema : at.schemas) {
      const auto negated = schema->find("not");
      if (negated == schema->end()) {
        continue;
      }
      Mark mark = object_mark(at);
      // For `not: {required: [key]}`, point at the key that must go.
      if (negated->is_object() && negated->contains("required") && at.node->is_mapping()) {
        for (const auto& key : (*negated)["required"]) {
          for (const Entry& member : at.node->members) {
            if (key.is_string() && member.key == key.get<std::string>()) {
              mark = member.key_mark;
            }
          }
        }
      }
      const std::string about = schema->value("description", std::string());
      add(mark, where(at) + (about.empty() ? "this combination of fields is not allowed" : about));
      return;
    }
    add(object_mark(at), where(at) + "this combination of fields is not allowed");
  }

  void one_of(const Location& at, const std::string& description) {
    const bool none = util::starts_with(description, "Failed to validate against any");
    const bool any = description.find("anyOf") != std::string::npos;
    std::vector<std::string> names;
    std::string about;
    for (const Json* schema : at.schemas) {
      for (const char* keyword : {"oneOf", "anyOf"}) {
        if (const auto branches = schema->find(keyword); branches != schema->end()) {
          names = alternatives(*branches);
          about = schema->value("description", std::string());
        }
      }
      if (!names.empty()) {
        break;
      }
    }
    if (names.empty()) {
      add(object_mark(at), where(at) + describe(*at.node) + " does not match any allowed form" +
                               (about.empty() ? std::string() : ": " + about));
      return;
    }
    const std::string subject = at.path.empty() ? m_title : at.path;
    if (none) {
      add(object_mark(at), subject + " needs " + (any ? "at least" : "exactly") + " one of " +
                               quoted_alternatives(names, "or"));
      return;
    }
    std::vector<std::string> present;
    Mark mark = object_mark(at);
    for (const Entry& member : at.node->members) {
      if (std::find(names.begin(), names.end(), member.key) != names.end()) {
        present.push_back(member.key);
        if (present.size() == 2) {
          mark = member.key_mark;
        }
      }
    }
    add(mark, subject + " may set only one of " + quoted_alternatives(names, "or") + ", found " +
                  quoted_alternatives(present, "and") + "; keep one");
  }

  const std::string& m_title;
  const Json& m_root;
  const Value& m_document;
  const std::string& m_path;
  std::vector<Diagnostic> m_out;
};

} // namespace

std::vector<Diagnostic> report(const Json& root, const std::string& title, const Value& document,
                               const std::string& path, const std::vector<Failure>& failures) {
  return Reporter(title, root, document, path).report(failures);
}

std::vector<std::size_t> indexes_in(const std::string& text) {
  std::vector<std::size_t> found;
  std::size_t at = text.find('#');
  while (at != std::string::npos) {
    const std::size_t begin = at + 1;
    std::size_t end = begin;
    if (util::skip_digits(text, end) > 0) {
      found.push_back(std::stoul(text.substr(begin, end - begin)));
    }
    at = text.find('#', end);
  }
  return found;
}

} // namespace envflow::content::schema_failures
