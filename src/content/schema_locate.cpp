#include "content/schema_failures.h"

#include <charconv>
#include <optional>

#include <nlohmann/json.hpp>

#include "util/json.h"
#include "util/strings.h"

namespace envflow::content::schema_failures {

namespace {

constexpr int k_max_expand_depth = 32;

// A scalar member compared with a schema constant (const / enum entry).
bool equals(const Value& value, const Json& constant) {
  return value.is_scalar() && util::parse_json(util::dump_json(constant)) == value.to_json();
}

class Resolver {
public:
  explicit Resolver(const Json& root) : m_root(root) {}

  Location locate(const Value& document, const std::vector<std::string>& context) const {
    Location at;
    at.node = &document;
    expand(m_root, document, at.schemas, 0);
    for (const std::string& element : context) {
      const auto name = bracketed(element);
      if (!name) {
        continue;
      }
      const std::string key(*name);
      std::vector<const Json*> next;
      const Value* child = nullptr;
      const Entry* entry = nullptr;
      if (at.node->is_sequence()) {
        std::size_t index = 0;
        const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), index);
        if (ec != std::errc() || end != key.data() + key.size() || index >= at.node->items.size()) {
          break;
        }
        child = &at.node->items[index];
        for (const Json* schema : at.schemas) {
          if (const auto items = schema->find("items"); items != schema->end()) {
            if (items->is_object()) {
              next.push_back(&*items);
            } else if (items->is_array() && index < items->size()) {
              next.push_back(&(*items)[index]);
            }
          }
        }
        at.path += "[" + key + "]";
      } else if (at.node->is_mapping()) {
        for (const Entry& member : at.node->members) {
          if (member.key == key) {
            entry = &member;
            child = &member.value;
            break;
          }
        }
        if (child == nullptr) {
          break;
        }
        for (const Json* schema : at.schemas) {
          member_schemas(*schema, key, next);
        }
        at.path += at.path.empty() ? key : "." + key;
      }
      if (child == nullptr) {
        break;
      }
      at.node = child;
      at.entry = entry;
      at.schemas.clear();
      for (const Json* schema : next) {
        expand(*schema, *child, at.schemas, 0);
      }
    }
    return at;
  }

private:
  // Subschemas of `schema` that govern member `key` of an object.
  static void member_schemas(const Json& schema, const std::string& key,
                             std::vector<const Json*>& out) {
    bool matched = false;
    if (const auto properties = schema.find("properties");
        properties != schema.end() && properties->is_object()) {
      if (const auto property = properties->find(key); property != properties->end()) {
        out.push_back(&*property);
        matched = true;
      }
    }
    if (const auto patterns = schema.find("patternProperties");
        patterns != schema.end() && patterns->is_object()) {
      for (const auto& [pattern, subschema] : patterns->items()) {
        if (pattern_matches(key, pattern)) {
          out.push_back(&subschema);
          matched = true;
        }
      }
    }
    if (const auto additional = schema.find("additionalProperties");
        !matched && additional != schema.end() && additional->is_object()) {
      out.push_back(&*additional);
    }
  }

  // `schema` and every subschema that applies to the same node through
  // $ref, allOf/anyOf/oneOf and if/then/else (the branch `if` selects when
  // it can be decided, both otherwise).
  void expand(const Json& schema, const Value& instance, std::vector<const Json*>& out,
              int depth) const {
    if (!schema.is_object() || depth > k_max_expand_depth) {
      return;
    }
    out.push_back(&schema);
    if (const auto ref = schema.find("$ref"); ref != schema.end() && ref->is_string()) {
      const std::string target = ref->get<std::string>();
      if (util::starts_with(target, "#")) {
        const Json::json_pointer pointer(target.substr(1));
        if (m_root.contains(pointer)) {
          expand(m_root.at(pointer), instance, out, depth + 1);
        }
      }
    }
    for (const char* keyword : {"allOf", "anyOf", "oneOf"}) {
      if (const auto branches = schema.find(keyword);
          branches != schema.end() && branches->is_array()) {
        for (const auto& branch : *branches) {
          expand(branch, instance, out, depth + 1);
        }
      }
    }
    if (const auto condition = schema.find("if"); condition != schema.end()) {
      const std::optional<bool> holds = decide(*condition, instance);
      if (const auto then = schema.find("then"); then != schema.end() && holds.value_or(true)) {
        expand(*then, instance, out, depth + 1);
      }
      if (const auto otherwise = schema.find("else");
          otherwise != schema.end() && !holds.value_or(false)) {
        expand(*otherwise, instance, out, depth + 1);
      }
    }
  }

  // Whether `instance` satisfies the `if` schema, for the simple forms our
  // schemas use (required; properties with const / enum); nullopt otherwise.
  static std::optional<bool> decide(const Json& condition, const Value& instance) {
    if (!condition.is_object()) {
      return std::nullopt;
    }
    bool holds = true;
    for (const auto& [keyword, argument] : condition.items()) {
      if (keyword == "required" && argument.is_array()) {
        for (const auto& key : argument) {
          holds = holds && (!instance.is_mapping() ||
                            (key.is_string() && instance.find(key.get<std::string>()) != nullptr));
        }
      } else if (keyword == "properties" && argument.is_object()) {
        for (const auto& [key, subschema] : argument.items()) {
          const Value* member = instance.is_mapping() ? instance.find(key) : nullptr;
          if (member == nullptr) {
            continue;
          }
          if (const auto constant = subschema.find("const"); constant != subschema.end()) {
            holds = holds && equals(*member, *constant);
          } else if (const auto values = subschema.find("enum");
                     values != subschema.end() && values->is_array()) {
            holds = holds && std::any_of(values->begin(), values->end(),
                                         [&](const Json& v) { return equals(*member, v); });
          } else {
            return std::nullopt;
          }
        }
      } else if (keyword != "title" && keyword != "description" && keyword != "$comment") {
        return std::nullopt;
      }
    }
    return holds;
  }

  const Json& m_root;
};

} // namespace

Location locate(const Json& root, const Value& document, const std::vector<std::string>& context) {
  return Resolver(root).locate(document, context);
}

} // namespace envflow::content::schema_failures
