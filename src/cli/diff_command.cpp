#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/command.h"

#include "cli/output.h"
#include "core/config.h"
#include "core/diff.h"
#include "core/diff_values.h"
#include "core/session.h"
#include "git/repo.h"
#include "util/strings.h"

namespace envflow::cli {

namespace {

constexpr std::size_t k_max_fields_shown = 8;

struct DiffArgs {
  std::string from;
  std::string to;
  bool values = false;
};

constexpr std::size_t k_max_value_shown = 60;

// A value on one line for the terminal: YAML flow, cut at k_max_value_shown
// characters; "(none)" where the field does not exist.
std::string value_text(const std::optional<content::Value>& value) {
  if (!value) {
    return "(none)";
  }
  std::string text = value->to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > k_max_value_shown) {
    text = text.substr(0, k_max_value_shown) + "…";
  }
  return text;
}

std::string fields_text(const std::vector<std::string>& fields) {
  if (fields.size() <= k_max_fields_shown) {
    return util::join(fields, ", ");
  }
  const std::vector<std::string> shown(fields.begin(), fields.begin() + k_max_fields_shown);
  return util::join(shown, ", ") + ", … (" + std::to_string(fields.size() - k_max_fields_shown) +
         " more)";
}

std::string counts_text(const core::ChangeCounts& c) {
  std::vector<std::string> parts;
  if (c.added > 0) {
    parts.push_back(std::to_string(c.added) + " added");
  }
  if (c.removed > 0) {
    parts.push_back(std::to_string(c.removed) + " removed");
  }
  if (c.changed > 0) {
    parts.push_back(std::to_string(c.changed) + " changed");
  }
  if (c.breaking > 0) {
    parts.push_back(std::to_string(c.breaking) + " breaking");
  }
  return util::join(parts, ", ");
}

void print_text(const git::Repository& repo, const core::SemanticDiff& diff,
                const std::string& from, const std::string& to, bool values) {
  const std::string title = paint(stdout, Color::bold, "diff " + from + ".." + to);
  if (diff.empty()) {
    std::printf("%s: no semantic differences\n", title.c_str());
    return;
  }
  std::printf("%s (%s)\n", title.c_str(), diff.summary().c_str());
  std::string kind;
  for (const core::ItemChange& item : diff.items) {
    if (item.kind != kind) {
      kind = item.kind;
      std::printf("%s: %s\n", paint(stdout, Color::bold, kind).c_str(),
                  counts_text(diff.counts(kind)).c_str());
    }
    std::string line;
    switch (item.change) {
    case core::ItemChange::Change::added:
      line = paint(stdout, Color::green, "+ " + item.kind + " " + item.name);
      break;
    case core::ItemChange::Change::removed:
      line = paint(stdout, Color::red, "- " + item.kind + " " + item.name);
      break;
    case core::ItemChange::Change::changed:
      line = paint(stdout, Color::yellow, "~ " + item.kind + " " + item.name);
      if (!item.fields.empty()) {
        line += ": " + fields_text(item.fields);
      }
      break;
    }
    if (item.breaking) {
      line += "  " + paint(stdout, Color::red, "BREAKING:") + " " + item.reason;
    }
    std::printf("  %s\n", line.c_str());
    if (values) {
      for (const core::FieldValues& v : core::field_values(repo, diff, item)) {
        std::printf("      %s: %s → %s\n", v.field.c_str(), value_text(v.before).c_str(),
                    value_text(v.after).c_str());
      }
    }
  }
}

// `envflow diff FROM TO --format json`: `diff` with the sides as given and,
// with `values`, the old and new value of every changed field.
nlohmann::json diff_document(const git::Repository& repo, const core::SemanticDiff& diff,
                             const std::string& from_rev, const std::string& to_rev, bool values) {
  nlohmann::json json = diff.to_json();
  json["from_rev"] = from_rev;
  json["to_rev"] = to_rev;
  if (values) {
    for (std::size_t i = 0; i < diff.items.size(); ++i) {
      json["items"][i]["values"] = core::field_values_json(core::field_values(repo, diff, diff.items[i]));
    }
  }
  return json;
}

} // namespace


Runner setup_diff(CLI::App& app, Globals& globals) {
  auto args = std::make_shared<DiffArgs>();
  app.add_option("from", args->from, "Environment or revision to compare from")
      ->required()
      ->option_text("A");
  app.add_option("to", args->to, "Environment or revision to compare to")
      ->required()
      ->option_text("B");
  app.add_flag("--values", args->values,
               "Show each changed field's old and new value (JSON: a `values` array per item)");
  app.footer("A and B are environment names (their branches) or any git revision. Exit 0 "
             "whether or not they differ; 2 when a side is unknown.");
  return [args, &globals] {
    // Environments are read through the session: in a clone, the server's view.
    const core::Session session = open_session(globals);
    const git::Repository& repo = session.repo();
    const core::PipelineConfig* config = session.has_config() ? &session.config() : nullptr;
    const std::string from = core::resolve_side(repo, session.refs(), config, args->from);
    const std::string to = core::resolve_side(repo, session.refs(), config, args->to);
    const core::SemanticDiff diff = core::semantic_diff(repo, from, to);
    if (globals.format == Format::json) {
      print_json(diff_document(repo, diff, args->from, args->to, args->values));
      return 0;
    }
    print_text(repo, diff, args->from, args->to, args->values);
    return 0;
  };
}

} // namespace envflow::cli
