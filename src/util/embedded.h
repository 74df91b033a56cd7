#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace envflow::util {

struct EmbeddedFile {
  std::string_view path; // relative to the source tree, e.g. "schemas/agent.schema.json"
  std::string_view data;
};

// Every schema, template, hook and web page file shipped with the binary
// (generated at build time).
std::span<const EmbeddedFile> embedded_files();

// The embedded file at `path`, if any.
std::optional<std::string_view> embedded_file(std::string_view path);

} // namespace envflow::util
