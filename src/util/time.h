#pragma once

#include <cstdint>
#include <string>

namespace envflow::util {

// `seconds` since the epoch as "2026-01-01T00:00:00Z" (UTC).
std::string iso_time(std::int64_t seconds);

// Parse what iso_time writes; 0 when `text` is not in that form.
std::int64_t parse_iso_time(const std::string& text);

// The current time in seconds since the epoch: $ENVFLOW_NOW when set (tests
// and reproducible records), else the clock.
std::int64_t now();

} // namespace envflow::util
