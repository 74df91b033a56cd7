#include <algorithm>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "core/pipeline/session.h"
#include "core/policy/config.h"
#include "core/records/overrides.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::cli {

namespace {

struct VarArgs {
  std::string which; // set, unset, list
  std::string env;
  std::string name;
  std::string value;
};

// A value for a table cell: strings as they are (unless they hold control
// characters), anything else as JSON; "-" for none.
std::string cell(const std::optional<content::Value>& value) {
  if (!value) {
    return "-";
  }
  if (value->is_string()) {
    const bool plain = std::none_of(value->string.begin(), value->string.end(), [](char c) {
      return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    });
    if (plain && !value->string.empty()) {
      return value->string;
    }
  }
  return core::records::emit_value(*value);
}

nlohmann::json json_of(const std::optional<content::Value>& value) {
  return value ? value->to_json() : nlohmann::json(nullptr);
}

nlohmann::json json_of(const std::optional<std::string>& id) {
  return id ? nlohmann::json(*id) : nlohmann::json(nullptr);
}

int report_change(const core::records::OverrideChange& change, bool set,
                  const core::pipeline::Session& session, const Globals& globals) {
  if (globals.format == Format::json) {
    print_result({
        {"environment", change.env},
        {"name", change.name},
        {"before", json_of(change.before)},
        {"after", json_of(change.after)},
        {"changed", change.changed},
        {"old_local_ref", json_of(change.old_commit)},
        {"local_ref",
         change.changed ? nlohmann::json(change.new_commit) : json_of(change.old_commit)},
        {"pending_variable", change.pending},
        {"declared_on", change.declared_on.empty() ? nlohmann::json(nullptr)
                                                   : nlohmann::json(change.declared_on)},
    }, session, globals);
    return 0;
  }
  if (!change.changed) {
    if (set) {
      std::printf("%s on %s is already %s; nothing changed\n", util::printable(change.name).c_str(),
                  util::printable(change.env).c_str(), util::printable(cell(change.after)).c_str());
    } else {
      std::printf("%s has no override on %s; nothing changed\n",
                  util::printable(change.name).c_str(), util::printable(change.env).c_str());
    }
    return 0;
  }
  const std::string was = change.before ? " (was " + cell(change.before) + ")" : "";
  if (set) {
    std::printf("%s %s = %s on %s%s\n", paint(stdout, Color::green, "set").c_str(),
                util::printable(change.name).c_str(), util::printable(cell(change.after)).c_str(),
                util::printable(change.env).c_str(), util::printable(was).c_str());
  } else {
    std::printf("%s the override of %s on %s%s\n", paint(stdout, Color::green, "removed").c_str(),
                util::printable(change.name).c_str(), util::printable(change.env).c_str(),
                util::printable(was).c_str());
  }
  if (change.pending) {
    std::printf("%s is declared on %s and has not reached %s yet: the value waits for it\n",
                util::printable(change.name).c_str(), util::printable(change.declared_on).c_str(),
                util::printable(change.env).c_str());
  }
  std::printf("%s now at %s\n", util::printable(core::model::local_ref(change.env)).c_str(),
              change.new_commit.substr(0, 7).c_str());
  print_result(nullptr, session, globals);
  return 0;
}

int list_variables(const core::pipeline::Session& session, const std::string& env, Format format) {
  const core::records::EffectiveVariables result =
      core::records::effective_variables(session.pipeline(), env);
  if (format == Format::json) {
    print_notes(session);
    nlohmann::json array = nlohmann::json::array();
    for (const auto& v : result.variables) {
      array.push_back({
          {"name", v.name},
          {"type", v.type.empty() ? nlohmann::json(nullptr) : nlohmann::json(v.type)},
          {"default", json_of(v.default_value)},
          {"override", json_of(v.override_value)},
          {"effective", json_of(v.effective)},
          {"source", std::string(core::records::source_name(v.source))},
          {"problem", v.problem.empty() ? nlohmann::json(nullptr) : nlohmann::json(v.problem)},
      });
    }
    print_json(array);
    return 0;
  }
  std::vector<std::vector<std::string>> rows{
      {"NAME", "TYPE", "DEFAULT", "OVERRIDE", "EFFECTIVE", "SOURCE"}};
  for (const auto& v : result.variables) {
    rows.push_back({util::printable(v.name), v.type.empty() ? "-" : util::printable(v.type),
                    util::printable(cell(v.default_value)), util::printable(cell(v.override_value)),
                    util::printable(cell(v.effective)),
                    std::string(core::records::source_name(v.source))});
  }
  print_table(rows);
  for (const auto& v : result.variables) {
    if (!v.problem.empty()) {
      std::fprintf(stderr, "%s %s: %s\n", paint(stderr, Color::yellow, "warning:").c_str(),
                   util::printable(v.name).c_str(), util::printable(v.problem).c_str());
    }
  }
  return 0;
}

} // namespace

Runner setup_var(CommandLine& app, Globals& globals) {
  auto args = std::make_shared<VarArgs>();
  CommandLine set = app.add_choice(
      args, "set", "Override a variable's value on an environment (checked against its type)");
  CommandLine unset =
      app.add_choice(args, "unset", "Remove a variable's override on an environment");
  CommandLine list_app = app.add_choice(
      args, "list", "Every variable of an environment: type, default, override, effective value");
  for (CommandLine sub : {set, unset, list_app}) {
    sub.add_option("--env", args->env, "Environment whose local data to read or change")
        .option_text("ENV")
        .required();
  }
  set.add_option("name", args->name, "Variable name").option_text("NAME").required();
  set.add_option("value", args->value,
                 "Value: JSON for number, boolean and json; text for string, url and enum "
                 "(put -- before a value starting with '-')")
      .option_text("VALUE")
      .required();
  unset.add_option("name", args->name, "Variable name").option_text("NAME").required();

  return [args, &globals]() -> int {
    core::pipeline::Session session = open_session(globals);
    if (args->which == "list") {
      return list_variables(session, args->env, globals.format);
    }
    if (args->which == "set") {
      const core::records::OverrideChange change =
          core::records::set_override(session, args->env, args->name, args->value);
      return report_change(change, true, session, globals);
    }
    const core::records::OverrideChange change =
        core::records::unset_override(session, args->env, args->name);
    return report_change(change, false, session, globals);
  };
}

} // namespace envflow::cli
