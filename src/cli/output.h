#pragma once

#include <cstddef>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "cli/command.h"
#include "content/diagnostic.h"
#include "util/error.h"

namespace envflow::cli {

enum class Color { red, green, yellow, blue, bold, dim };

// True when `stream` is a terminal and neither NO_COLOR is set nor TERM=dumb.
bool color_enabled(std::FILE* stream);
// `text` in `color` when `stream` takes colours, else `text` unchanged.
std::string paint(std::FILE* stream, Color color, const std::string& text);

// Print `d` as `path:line:col: error: message [rule]` to `stream`.
void print_diagnostic(std::FILE* stream, const content::Diagnostic& d);
void print_diagnostics(std::FILE* stream, const std::vector<content::Diagnostic>& diagnostics);
// Print `diagnostics` in `format`: GitHub workflow commands for
// Format::github, else one compiler-style line each (json is the caller's).
void print_diagnostics(std::FILE* stream, const std::vector<content::Diagnostic>& diagnostics,
                       Format format);

// `text` escaped for the message of a GitHub workflow command: `%`, CR and LF
// become `%25`, `%0D` and `%0A`.
std::string github_escape_data(std::string_view text);
// `text` escaped for a property value of a GitHub workflow command: as
// github_escape_data, and `:` and `,` become `%3A` and `%2C`.
std::string github_escape_property(std::string_view text);
// `d` as a GitHub workflow command, so Actions annotates the file:
// `::error file=PATH,line=L,col=C,title=RULE::MESSAGE` (`::warning` for a
// warning), escaped as GitHub requires.
std::string github_annotation(const content::Diagnostic& d);

// `value` as pretty JSON on stdout, newline-terminated. Bytes that are not
// UTF-8 become U+FFFD (JSON cannot carry them).
void print_json(const nlohmann::json& value);

// Rows as an aligned table (first row is the header) on stdout; every cell
// passes through util::printable (cells hold text from the repository).
void print_table(const std::vector<std::vector<std::string>>& rows);

// `text` (a message, a reason: it may span lines) safe for a terminal: each
// line through util::printable, the line breaks kept.
std::string printable_lines(std::string_view text);

// The whole of the file at `path` (a file named on the command line);
// util::IoError naming the path and the reason when it cannot be read.
std::string read_text(const std::string& path);

// A line on stderr that says how far long work has got ("validating: 1200 of
// 5000 files (24%)"), rewritten in place (carriage return) and cleared when
// the object goes. Only for a person watching: shown when stderr is a
// terminal, the environment has no CI variable, the format is not JSON, and
// the work has at least k_min items; otherwise it prints nothing.
class ProgressLine {
public:
  static constexpr std::size_t k_min = 1000;

  // `what`: the work ("validating"); `unit`: what is counted, plural ("files").
  ProgressLine(std::string what, std::string unit, Format format);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // `done` of `total` items are done. Call from one thread at a time.
  void update(std::size_t done, std::size_t total);

private:
  bool m_enabled = false;
  std::string m_what;
  std::string m_unit;
  std::size_t m_width = 0; // of the line on screen, to clear it
};

// A failure as the user is told about it, mapped in one place for the CLI
// and `envflow serve` (docs/json.md, "errors"): the exit code; the code, a
// finer reason than the exit code ("forbidden", "lost-race", "gate",
// "unknown-environment", ..., else "refused", "usage" or "io"); the message;
// how to mend it when known ("" otherwise); the ref it concerns ("" when
// none); and for code "gate" which gate refused ("approvals", "hold", ...).
// A lost compare-and-swap is refused (code lost-race); util::Error says its
// own exit code and code; anything else is a repository or I/O error (3).
struct ErrorReport {
  util::Exit exit = util::Exit::io;
  std::string code = "io";
  std::string message;
  std::string hint;
  std::string ref;
  std::string gate;
  // What the exit code means, in words: "refused" (1), "usage" (2),
  // "repository" (3: the repository, the network or I/O).
  std::string kind() const;
  // A failure known by its exit code only: code "refused", "usage" or "io".
  static ErrorReport plain(util::Exit exit, std::string message);
};
ErrorReport error_report(std::exception_ptr error);

// The JSON error object (docs/json.md):
// {"error": {"code": "lost-race", "kind": "refused", "message": "...",
//            "hint": "...", "exit": 1, "ref": "..."}}
// (`hint`, `ref` and `gate` only when known).
nlohmann::json error_json(const ErrorReport& report);

} // namespace envflow::cli
