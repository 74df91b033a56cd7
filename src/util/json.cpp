#include "util/json.h"

#include <nlohmann/json.hpp>

namespace envflow::util {

namespace {

template <typename Json> typename Json::error_handler_t utf8_handler(BadUtf8 on_bad) {
  return on_bad == BadUtf8::replace ? Json::error_handler_t::replace
                                    : Json::error_handler_t::strict;
}

} // namespace

nlohmann::json parse_json(std::string_view text, BadJson on_bad) {
  return nlohmann::json::parse(text, nullptr, on_bad == BadJson::raise);
}

nlohmann::ordered_json parse_ordered_json(std::string_view text) {
  return nlohmann::ordered_json::parse(text);
}

std::string dump_json(const nlohmann::json& value, int indent, BadUtf8 on_bad) {
  return value.dump(indent, ' ', false, utf8_handler<nlohmann::json>(on_bad));
}

std::string dump_json(const nlohmann::ordered_json& value, int indent, BadUtf8 on_bad) {
  return value.dump(indent, ' ', false, utf8_handler<nlohmann::ordered_json>(on_bad));
}

} // namespace envflow::util
