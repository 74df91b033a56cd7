#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "core/pipeline/compare.h"
#include "core/pipeline/session.h"
#include "core/workspace/diff.h"
#include "core/workspace/diff_values.h"
#include "util/json.h"
#include "util/strings.h"

namespace envflow::cli {

namespace {

constexpr std::size_t k_max_fields_shown = 8;
// Lines of one field's text diff shown on a terminal without --full.
constexpr std::size_t k_max_text_lines = 20;
// Field names wider than this are not padded to (one long key would push
// every value of the item off the screen).
constexpr std::size_t k_max_field_column = 32;

struct DiffArgs {
  std::string from;
  std::string to;
  bool values = false;    // --values: JSON gets each item's `values`
  bool no_values = false; // --no-values: the text lists field names only
  bool full = false;
};

// Columns `text` (no colour in it yet) takes on a terminal: its code points.
std::size_t columns(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// A value on one line, as JSON (strings quoted, controls escaped), safe for a
// terminal; "(none)" where the field does not exist.
std::string inline_value(const std::optional<content::Value>& value) {
  if (!value) {
    return "(none)";
  }
  return util::printable(
      util::dump_json(value->to_json(), -1, util::BadUtf8::replace));
}

// A value as lines of text to diff: a string as it is, anything else as
// indented JSON; nothing where the field does not exist.
std::string block_value(const std::optional<content::Value>& value) {
  if (!value) {
    return "";
  }
  if (value->is_string()) {
    return value->string;
  }
  return util::dump_json(value->to_json(), 2, util::BadUtf8::replace) + "\n";
}

std::string fields_text(const std::vector<std::string>& fields) {
  std::vector<std::string> shown;
  for (std::size_t i = 0; i < fields.size() && i < k_max_fields_shown; ++i) {
    shown.push_back(util::printable(fields[i]));
  }
  std::string text = util::join(shown, ", ");
  if (fields.size() > k_max_fields_shown) {
    text += ", … (" + std::to_string(fields.size() - k_max_fields_shown) + " more)";
  }
  return text;
}

class TextPrinter {
public:
  TextPrinter(const core::pipeline::Session& session, const core::workspace::SemanticDiff& diff,
              const DiffArgs& args)
      : m_session(session), m_diff(diff), m_args(args) {}

  void print() const {
    const std::string title =
        paint(stdout, Color::bold,
              "diff " + util::printable(m_args.from) + ".." + util::printable(m_args.to));
    if (m_diff.empty()) {
      std::printf("%s: no semantic differences\n", title.c_str());
      return;
    }
    std::printf("%s (%s)\n", title.c_str(), m_diff.summary().c_str());
    std::string kind;
    for (const core::workspace::ItemChange& item : m_diff.items) {
      if (!item.listed()) {
        continue; // shown with the removed side, as one rename
      }
      if (item.kind != kind) {
        kind = item.kind;
        std::printf("%s: %s\n", paint(stdout, Color::bold, util::printable(kind)).c_str(),
                    m_diff.counts(kind).text().c_str());
      }
      print_item(item);
    }
    if (m_cut) {
      std::printf("(long text cut at %zu lines; `envflow diff --full %s %s` or "
                  "--format json --values shows all)\n",
                  k_max_text_lines, util::printable(util::shell_quoted(m_args.from)).c_str(),
                  util::printable(util::shell_quoted(m_args.to)).c_str());
    }
  }

private:
  void print_item(const core::workspace::ItemChange& item) const {
    const Color color = item.renamed_to                                             ? Color::blue
                        : item.change == core::workspace::ItemChange::Change::added ? Color::green
                        : item.change == core::workspace::ItemChange::Change::removed
                            ? Color::red
                            : Color::yellow;
    std::string line =
        paint(stdout, color, std::string(item.mark()) + " " + util::printable(item.title()));
    if (!item.fields.empty()) {
      line += ": " + fields_text(item.fields);
    }
    if (item.breaking) {
      line += "  " + paint(stdout, Color::red, "BREAKING:") + " " + util::printable(item.reason);
    }
    std::printf("  %s\n", line.c_str());
    if (!m_args.no_values) {
      print_values(core::pipeline::field_values(m_session, m_diff, item));
    }
  }

  // Each field as `name  old → new`, names in one column; a value that does
  // not fit on a line as a unified diff under its name.
  void print_values(const std::vector<core::workspace::FieldValues>& values) const {
    std::size_t column = 0;
    for (const core::workspace::FieldValues& v : values) {
      const std::size_t width = columns(util::printable(v.field));
      if (width <= k_max_field_column) {
        column = std::max(column, width);
      }
    }
    for (const core::workspace::FieldValues& v : values) {
      const std::string field = util::printable(v.field);
      const std::string before = inline_value(v.before);
      const std::string after = inline_value(v.after);
      std::vector<std::string> lines = v.text_diff;
      const bool fits = lines.empty() && columns(before) <= core::workspace::k_inline_text_limit &&
                        columns(after) <= core::workspace::k_inline_text_limit;
      if (fits) {
        const std::size_t width = columns(field);
        const std::string pad(width < column ? column - width : 0, ' ');
        std::printf("      %s%s  %s → %s\n", field.c_str(), pad.c_str(), before.c_str(),
                    after.c_str());
        continue;
      }
      if (lines.empty()) {
        lines = core::workspace::text_diff(block_value(v.before), block_value(v.after));
      }
      const char* note = !v.before ? " (added)" : !v.after ? " (removed)" : "";
      std::printf("      %s%s\n", field.c_str(), note);
      print_text_diff(lines);
    }
  }

  void print_text_diff(const std::vector<std::string>& lines) const {
    const std::size_t shown = m_args.full ? lines.size() : std::min(lines.size(), k_max_text_lines);
    for (std::size_t i = 0; i < shown; ++i) {
      const std::string text = util::printable(lines[i]);
      const char op = lines[i].empty() ? ' ' : lines[i][0];
      const std::string painted = op == '+'   ? paint(stdout, Color::green, text)
                                  : op == '-' ? paint(stdout, Color::red, text)
                                  : op == '@' ? paint(stdout, Color::dim, text)
                                              : text;
      std::printf("        %s\n", painted.c_str());
    }
    if (shown < lines.size()) {
      const std::size_t more = lines.size() - shown;
      std::printf("        … %zu more line%s\n", more, more == 1 ? "" : "s");
      m_cut = true;
    }
  }

  const core::pipeline::Session& m_session;
  const core::workspace::SemanticDiff& m_diff;
  const DiffArgs& m_args;
  mutable bool m_cut = false;
};

// `envflow diff FROM TO --format json`: `diff` with the sides as given and,
// with --values, the old and new value of every changed field (opt-in, so
// scripts and `envflow serve` that do not ask read no more blobs than before).
nlohmann::json diff_document(const core::pipeline::Session& session,
                             const core::workspace::SemanticDiff& diff, const DiffArgs& args) {
  nlohmann::json json = diff.to_json();
  json["from_rev"] = args.from;
  json["to_rev"] = args.to;
  if (args.values) {
    for (std::size_t i = 0; i < diff.items.size(); ++i) {
      json["items"][i]["values"] = core::workspace::field_values_json(
          core::pipeline::field_values(session, diff, diff.items[i]));
    }
  }
  return json;
}

} // namespace

Runner setup_diff(CommandLine& app, Globals& globals) {
  auto args = std::make_shared<DiffArgs>();
  app.add_option("from", args->from, "Environment or revision to compare from")
      .required()
      .option_text("A");
  app.add_option("to", args->to, "Environment or revision to compare to")
      .required()
      .option_text("B");
  app.add_flag("--values", args->values,
               "JSON: add each changed field's old and new value (a `values` array per item); "
               "the text shows them always");
  app.add_flag("--no-values", args->no_values,
               "Text: list the changed fields' names only, not their old and new values");
  app.add_flag("--full", args->full,
               "Show long text diffs whole (on the terminal they are cut at " +
                   std::to_string(k_max_text_lines) + " lines)");
  app.footer("A and B are environment names (their branches) or any git revision. Exit 0 "
             "whether or not they differ; 2 when a side is unknown.");
  return [args, &globals] {
    // Environments are read through the session: in a clone, the server's view.
    const core::pipeline::Session session = open_session(globals);
    const core::workspace::SemanticDiff diff =
        core::pipeline::compare(session, args->from, args->to);
    if (globals.format == Format::json) {
      print_json(diff_document(session, diff, *args));
      return 0;
    }
    TextPrinter(session, diff, *args).print();
    return 0;
  };
}

} // namespace envflow::cli
