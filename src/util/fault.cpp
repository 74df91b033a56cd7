#include "util/fault.h"

#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

namespace envflow::util {

namespace {

struct FaultConfig {
  bool active = false; // either variable set
  std::optional<FaultSpec> spec;
  std::string trace;   // trace file, "" when none
  bool malformed = false;
  std::uint64_t hits = 0; // hits counted towards `spec`
};

FaultConfig load() {
  FaultConfig config;
  const char* fault = std::getenv("ENVFLOW_FAULT");
  const char* trace = std::getenv("ENVFLOW_FAULT_TRACE");
  if (fault != nullptr && *fault != '\0') {
    config.active = true;
    config.spec = parse_fault_spec(fault);
    config.malformed = !config.spec;
  }
  if (trace != nullptr && *trace != '\0') {
    config.active = true;
    config.trace = trace;
  }
  return config;
}

FaultConfig& config() {
  static FaultConfig c = load();
  return c;
}

// One write(2) per hit, O_APPEND, no buffering: the line is on disk before
// a kill that may follow, and concurrent processes do not interleave lines.
void append_trace(const std::string& path, const char* name) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return;
  }
  std::string line = name;
  line += '\n';
  [[maybe_unused]] const ssize_t written = ::write(fd, line.data(), line.size());
  ::close(fd);
}

} // namespace

std::optional<FaultSpec> parse_fault_spec(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return std::nullopt;
  }
  FaultSpec spec;
  spec.name = std::string(text.substr(0, colon));
  const std::string_view count = text.substr(colon + 1);
  const auto [end, error] = std::from_chars(count.data(), count.data() + count.size(), spec.hit);
  if (error != std::errc() || end != count.data() + count.size() || spec.hit == 0) {
    return std::nullopt;
  }
  return spec;
}

void claim_fault_config() {
  config();
  ::unsetenv("ENVFLOW_FAULT");
  ::unsetenv("ENVFLOW_FAULT_TRACE");
}

void fault_point(const char* name) {
  FaultConfig& c = config();
  if (!c.active) {
    return;
  }
  if (!c.trace.empty()) {
    append_trace(c.trace, name);
  }
  if (c.malformed) {
    c.malformed = false; // say it once
    std::fprintf(stderr, "envflow: warning: ENVFLOW_FAULT is not NAME:N or *:N; no fault "
                         "injected\n");
    return;
  }
  if (!c.spec || (c.spec->name != "*" && c.spec->name != name)) {
    return;
  }
  if (++c.hits == c.spec->hit) {
    std::raise(SIGKILL);
  }
}

namespace detail {

void reload_fault_config() { config() = load(); }

} // namespace detail

} // namespace envflow::util
