#include "content/diagnostic.h"

#include <algorithm>
#include <tuple>

#include <nlohmann/json.hpp>

namespace envflow::content {

namespace {

std::string_view severity_name(Severity severity) {
  return severity == Severity::error ? "error" : "warning";
}

auto key(const Diagnostic& d) {
  return std::tie(d.path, d.mark.line, d.mark.column, d.rule, d.message);
}

} // namespace

std::string Diagnostic::to_text() const {
  return path + ":" + std::to_string(std::max(mark.line, 1)) + ":" +
         std::to_string(std::max(mark.column, 1)) + ": " + std::string(severity_name(severity)) +
         ": " + message + " [" + rule + "]";
}

nlohmann::json Diagnostic::to_json() const {
  nlohmann::json out = {{"path", path},
                        {"line", std::max(mark.line, 1)},
                        {"column", std::max(mark.column, 1)},
                        {"severity", severity_name(severity)},
                        {"message", message},
                        {"rule", rule}};
  if (!fingerprint.empty()) {
    out["fingerprint"] = fingerprint;
  }
  return out;
}

bool operator<(const Diagnostic& a, const Diagnostic& b) { return key(a) < key(b); }
bool operator==(const Diagnostic& a, const Diagnostic& b) {
  return key(a) == key(b) && a.severity == b.severity;
}

void sort_diagnostics(std::vector<Diagnostic>& diagnostics) {
  std::sort(diagnostics.begin(), diagnostics.end());
  diagnostics.erase(std::unique(diagnostics.begin(), diagnostics.end()), diagnostics.end());
}

} // namespace envflow::content
