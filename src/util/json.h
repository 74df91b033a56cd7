#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

// JSON text in and out, generated once.
//
// nlohmann/json's parser and serializer are templates: every translation unit
// that calls `json::parse` or `dump` generates them again, about 2.3 s and
// 1.0 s of compile CPU at -O2 -g each (docs/performance.md, "Build cost"). The
// library reads and writes JSON text through these functions only, so that
// code is generated once, in util/json.cpp. They do what the nlohmann calls
// named beside them do.
namespace envflow::util {

// What parse_json does with text that is not JSON.
enum class BadJson {
  raise,   // throws nlohmann::json::parse_error
  discard, // returns a value whose is_discarded() is true
};

// `nlohmann::json::parse(text)`, or `parse(text, nullptr, false)` with
// BadJson::discard.
nlohmann::json parse_json(std::string_view text, BadJson on_bad = BadJson::raise);

// `nlohmann::ordered_json::parse(text)`: members keep their order.
nlohmann::ordered_json parse_ordered_json(std::string_view text);

// What dump_json does with a string that is not UTF-8.
enum class BadUtf8 {
  raise,   // throws nlohmann::json::type_error (316)
  replace, // writes U+FFFD in its place
};

// `value.dump(indent, ' ', false, handler)`: compact with indent -1.
std::string dump_json(const nlohmann::json& value, int indent = -1,
                      BadUtf8 on_bad = BadUtf8::raise);
std::string dump_json(const nlohmann::ordered_json& value, int indent = -1,
                      BadUtf8 on_bad = BadUtf8::raise);

} // namespace envflow::util
