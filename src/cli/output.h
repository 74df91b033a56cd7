#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "content/diagnostic.h"

namespace envflow::cli {

enum class Color { red, green, yellow, blue, bold, dim };

// True when `stream` is a terminal and neither NO_COLOR is set nor TERM=dumb.
bool color_enabled(std::FILE* stream);
// `text` in `color` when `stream` takes colours, else `text` unchanged.
std::string paint(std::FILE* stream, Color color, const std::string& text);

// Print `d` as `path:line:col: error: message [rule]` to `stream`.
void print_diagnostic(std::FILE* stream, const content::Diagnostic& d);
void print_diagnostics(std::FILE* stream, const std::vector<content::Diagnostic>& diagnostics);

// `value` as pretty JSON on stdout, newline-terminated.
void print_json(const nlohmann::json& value);

// Rows as an aligned table (first row is the header) on stdout.
void print_table(const std::vector<std::vector<std::string>>& rows);

} // namespace envflow::cli
