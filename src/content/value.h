#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace envflow::content {

// A position in a source file, 1-based. 0 means unknown.
struct Mark {
  int line = 0;
  int column = 0;
};

struct Entry;

// A YAML value typed by the YAML 1.2 core schema, with the position of every
// node. Built by `load_yaml` straight from libyaml's events.
class Value {
public:
  enum class Type { null, boolean, integer, number, string, sequence, mapping };

  // Out of line: the members are recursive containers whose copy and
  // destruction would be generated again in every file (docs/performance.md,
  // "Build cost").
  Value();
  Value(const Value&);
  Value(Value&&) noexcept;
  Value& operator=(const Value&);
  Value& operator=(Value&&) noexcept;
  ~Value();

  Type type = Type::null;
  Mark mark;
  bool boolean = false;
  std::int64_t integer = 0;
  double number = 0.0;
  std::string string; // the string value; for other scalars, the source text
  std::vector<Value> items;   // sequence
  std::vector<Entry> members; // mapping, in document order

  bool is_null() const { return type == Type::null; }
  bool is_string() const { return type == Type::string; }
  bool is_mapping() const { return type == Type::mapping; }
  bool is_sequence() const { return type == Type::sequence; }
  bool is_scalar() const { return type != Type::sequence && type != Type::mapping; }

  // Member `key` of a mapping, or nullptr.
  const Value* find(std::string_view key) const;
  // The string member `key`, or "" when absent or not a string.
  std::string string_at(std::string_view key) const;
  // The node a valijson-style context path names: elements like "<root>",
  // "[steps]", "[1]". Stops at the deepest node that exists.
  const Value& locate(const std::vector<std::string>& context) const;

  // The value as JSON (mappings keep keys, not order; positions are dropped).
  nlohmann::json to_json() const;
  // "null", "boolean", "integer", "number", "string", "array", "object".
  static std::string_view type_name(Type type);
};

struct Entry {
  std::string key;
  Mark key_mark;
  Value value;
};

// The child an element of a valijson-style context path names: "[steps]" ->
// "steps", "[1]" -> "1"; nullopt for elements (like "<root>") that name none.
std::optional<std::string_view> bracketed(std::string_view element);

} // namespace envflow::content
