#include "cli/output.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "core/pipeline/rules.h"
#include "core/pipeline/session.h"
#include "util/enum_names.h"
#include "util/error.h"
#include "util/json.h"
#include "util/strings.h"

namespace envflow::cli {

bool color_enabled(std::FILE* stream) {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && *no_color != '\0') {
    return false;
  }
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::strcmp(term, "dumb") == 0) {
    return false;
  }
  return isatty(fileno(stream)) == 1;
}

std::string paint(std::FILE* stream, Color color, const std::string& text) {
  if (!color_enabled(stream)) {
    return text;
  }
  // The escape sequence that starts each color.
  static constexpr auto k_codes = std::to_array<util::EnumName<Color>>(
      {{Color::red, "\033[31m"},  {Color::green, "\033[32m"}, {Color::yellow, "\033[33m"},
       {Color::blue, "\033[34m"}, {Color::bold, "\033[1m"},   {Color::dim, "\033[2m"}});
  return std::string(util::name_of(k_codes, color, "")) + text + "\033[0m";
}

void print_diagnostic(std::FILE* stream, const content::Diagnostic& d) {
  const std::string location = d.path + ":" + std::to_string(std::max(d.mark.line, 1)) + ":" +
                               std::to_string(std::max(d.mark.column, 1)) + ":";
  const bool error = d.severity == content::Severity::error;
  const std::string line = paint(stream, Color::bold, location) + " " +
                           paint(stream, error ? Color::red : Color::yellow,
                                 error ? "error:" : "warning:") +
                           " " + d.message + " " + paint(stream, Color::dim, "[" + d.rule + "]");
  std::fprintf(stream, "%s\n", line.c_str());
}

void print_diagnostics(std::FILE* stream, const std::vector<content::Diagnostic>& diagnostics) {
  for (const auto& d : diagnostics) {
    print_diagnostic(stream, d);
  }
}

void print_diagnostics(std::FILE* stream, const std::vector<content::Diagnostic>& diagnostics,
                       Format format) {
  if (format != Format::github) {
    print_diagnostics(stream, diagnostics);
    return;
  }
  for (const auto& d : diagnostics) {
    std::fprintf(stream, "%s\n", github_annotation(d).c_str());
  }
}

namespace {

std::string github_escape(std::string_view text, bool property) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
    case '%':
      out += "%25";
      break;
    case '\r':
      out += "%0D";
      break;
    case '\n':
      out += "%0A";
      break;
    case ':':
      out += property ? "%3A" : ":";
      break;
    case ',':
      out += property ? "%2C" : ",";
      break;
    default:
      out += c;
    }
  }
  return out;
}

} // namespace

std::string github_escape_data(std::string_view text) { return github_escape(text, false); }

std::string github_escape_property(std::string_view text) { return github_escape(text, true); }

std::string github_annotation(const content::Diagnostic& d) {
  const bool error = d.severity == content::Severity::error;
  return std::string(error ? "::error" : "::warning") +
         " file=" + github_escape_property(d.path) +
         ",line=" + std::to_string(std::max(d.mark.line, 1)) +
         ",col=" + std::to_string(std::max(d.mark.column, 1)) +
         ",title=" + github_escape_property(d.rule) + "::" + github_escape_data(d.message);
}

void print_json(const nlohmann::json& value) {
  std::cout << util::dump_json(value, 2, util::BadUtf8::replace) << "\n";
}

namespace {

// Columns a string takes on a terminal: UTF-8 code points, escapes excluded.
size_t display_width(const std::string& text) {
  size_t width = 0;
  bool escape = false;
  for (const char c : text) {
    if (escape) {
      escape = c != 'm';
      continue;
    }
    if (c == '\033') {
      escape = true;
      continue;
    }
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      ++width;
    }
  }
  return width;
}

} // namespace

void print_table(const std::vector<std::vector<std::string>>& raw) {
  std::vector<std::vector<std::string>> rows;
  rows.reserve(raw.size());
  for (const auto& row : raw) {
    std::vector<std::string> cells;
    cells.reserve(row.size());
    for (const auto& cell : row) {
      cells.push_back(util::printable(cell));
    }
    rows.push_back(std::move(cells));
  }
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(row[i]));
    }
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line += std::string(widths[i] - display_width(row[i]) + 2, ' ');
      }
    }
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    std::cout << line << "\n";
  }
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw util::IoError("cannot read " + path + ": " + std::strerror(errno));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string printable_lines(std::string_view text) {
  std::string out;
  size_t start = 0;
  while (true) {
    const size_t end = text.find('\n', start);
    out += util::printable(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) {
      return out;
    }
    out += '\n';
    start = end + 1;
  }
}

ProgressLine::ProgressLine(std::string what, std::string unit, Format format)
    : m_enabled(format != Format::json && std::getenv("CI") == nullptr &&
                isatty(fileno(stderr)) == 1),
      m_what(std::move(what)), m_unit(std::move(unit)) {}

ProgressLine::~ProgressLine() {
  if (m_width > 0) {
    std::fprintf(stderr, "\r%s\r", std::string(m_width, ' ').c_str());
    std::fflush(stderr);
  }
}

void ProgressLine::update(std::size_t done, std::size_t total) {
  if (!m_enabled || total < k_min) {
    return;
  }
  const std::string line = m_what + ": " + std::to_string(done) + " of " +
                           std::to_string(total) + " " + m_unit + " (" +
                           std::to_string(done * 100 / total) + "%)";
  // Pad over a longer line before it, so nothing of it stays.
  const std::size_t width = std::max(m_width, line.size());
  std::fprintf(stderr, "\r%s%s", line.c_str(), std::string(width - line.size(), ' ').c_str());
  std::fflush(stderr);
  m_width = width;
}

std::string ErrorReport::kind() const {
  switch (exit) {
  case util::Exit::refused:
    return "refused";
  case util::Exit::usage:
    return "usage";
  default:
    return "repository";
  }
}

ErrorReport ErrorReport::plain(util::Exit exit, std::string message) {
  const char* code = exit == util::Exit::refused ? "refused"
                     : exit == util::Exit::usage ? "usage"
                                                 : "io";
  return {exit, code, std::move(message), "", "", ""};
}

ErrorReport error_report(std::exception_ptr error) {
  const std::string again = "run it again";
  const std::string got_there = "\nanother operation on the same thing got there first; " + again;
  try {
    std::rethrow_exception(error);
  } catch (const util::LostRace& e) {
    std::string message = e.what();
    if (message.find("got there first") == std::string::npos) {
      message += got_there;
    }
    return {util::Exit::refused, "lost-race", message, again, e.ref(), ""};
  } catch (const util::RefConflict& e) {
    return {util::Exit::refused, "lost-race", e.what() + got_there, again, e.ref(), ""};
  } catch (const util::RefLocked& e) {
    return {e.exit(), e.code(), e.what(), e.hint(), e.ref(), ""};
  } catch (const core::pipeline::GateRefused& e) {
    return {e.exit(), e.code(), e.what(), e.hint(), "", e.gate()};
  } catch (const util::Error& e) {
    ErrorReport report = ErrorReport::plain(e.exit(), e.what());
    if (!e.code().empty()) {
      report.code = e.code();
    }
    report.hint = e.hint();
    return report;
  } catch (const std::filesystem::filesystem_error& e) {
    return {util::Exit::io, "io", e.what(), "", "", ""};
  } catch (const std::exception& e) {
    return {util::Exit::io, "internal", std::string("unexpected failure: ") + e.what(), "", "", ""};
  } catch (...) {
    return {util::Exit::io, "internal", "unexpected failure", "", "", ""};
  }
}

nlohmann::json error_json(const ErrorReport& report) {
  nlohmann::json error{{"code", report.code},
                       {"kind", report.kind()},
                       {"message", printable_lines(report.message)},
                       {"exit", static_cast<int>(report.exit)}};
  if (!report.hint.empty()) {
    error["hint"] = printable_lines(report.hint);
  }
  if (!report.ref.empty()) {
    error["ref"] = report.ref;
  }
  if (!report.gate.empty()) {
    error["gate"] = report.gate;
  }
  return {{"error", error}};
}

} // namespace envflow::cli
