#include "util/time.h"

#include <cstdlib>
#include <ctime>

namespace envflow::util {

std::string iso_time(std::int64_t seconds) {
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::int64_t parse_iso_time(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0') {
    return 0;
  }
  return static_cast<std::int64_t>(timegm(&tm));
}

std::int64_t now() {
  if (const char* fixed = std::getenv("ENVFLOW_NOW"); fixed != nullptr && *fixed != '\0') {
    return std::strtoll(fixed, nullptr, 10);
  }
  return static_cast<std::int64_t>(std::time(nullptr));
}

} // namespace envflow::util
