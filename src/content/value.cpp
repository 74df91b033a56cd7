#include "content/value.h"

#include <charconv>
#include <optional>

#include <nlohmann/json.hpp>

#include "util/enum_names.h"

namespace envflow::content {

Value::Value() = default;
Value::Value(const Value&) = default;
Value::Value(Value&&) noexcept = default;
Value& Value::operator=(const Value&) = default;
Value& Value::operator=(Value&&) noexcept = default;
Value::~Value() = default;

std::optional<std::string_view> bracketed(std::string_view element) {
  if (element.size() < 2 || element.front() != '[' || element.back() != ']') {
    return std::nullopt;
  }
  return element.substr(1, element.size() - 2);
}

const Value* Value::find(std::string_view key) const {
  if (type != Type::mapping) {
    return nullptr;
  }
  for (const Entry& entry : members) {
    if (entry.key == key) {
      return &entry.value;
    }
  }
  return nullptr;
}

std::string Value::string_at(std::string_view key) const {
  const Value* member = find(key);
  return member != nullptr && member->is_string() ? member->string : std::string();
}

const Value& Value::locate(const std::vector<std::string>& context) const {
  const Value* node = this;
  for (const std::string& element : context) {
    const auto name = bracketed(element);
    if (!name) {
      continue; // "<root>" and anything else that names no child
    }
    const Value* next = nullptr;
    if (node->type == Type::mapping) {
      next = node->find(*name);
    } else if (node->type == Type::sequence) {
      std::size_t index = 0;
      const auto* first = name->data();
      const auto* last = first + name->size();
      const auto [end, ec] = std::from_chars(first, last, index);
      if (ec == std::errc() && end == last && index < node->items.size()) {
        next = &node->items[index];
      }
    }
    if (next == nullptr) {
      break;
    }
    node = next;
  }
  return *node;
}

nlohmann::json Value::to_json() const {
  switch (type) {
  case Type::null:
    return nullptr;
  case Type::boolean:
    return boolean;
  case Type::integer:
    return integer;
  case Type::number:
    return number;
  case Type::string:
    return string;
  case Type::sequence: {
    auto array = nlohmann::json::array();
    for (const Value& item : items) {
      array.push_back(item.to_json());
    }
    return array;
  }
  case Type::mapping: {
    auto object = nlohmann::json::object();
    for (const Entry& entry : members) {
      object[entry.key] = entry.value.to_json();
    }
    return object;
  }
  }
  return nullptr;
}

std::string_view Value::type_name(Type type) {
  static constexpr auto k_names = std::to_array<util::EnumName<Type>>(
      {{Type::null, "null"},         {Type::boolean, "boolean"}, {Type::integer, "integer"},
       {Type::number, "number"},     {Type::string, "string"},   {Type::sequence, "array"},
       {Type::mapping, "object"}});
  return util::name_of(k_names, type, "null");
}

} // namespace envflow::content
