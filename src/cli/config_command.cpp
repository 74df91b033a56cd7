#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "cli/command.h"
#include "cli/output.h"
#include "content/yaml.h"
#include "core/pipeline/session.h"
#include "core/policy/config.h"
#include "core/policy/context.h"
#include "core/records/config_edit.h"
#include "util/error.h"
#include "util/process.h"
#include "util/strings.h"

namespace envflow::cli {

namespace {

// What the new policy grants nobody: legal, so a warning (stderr) only.
void warn_about_grants(const std::string& text) {
  std::vector<content::Diagnostic> problems;
  if (const auto config = core::policy::parse_config(text, core::model::k_config_file, problems)) {
    for (const auto& warning : core::policy::policy_warnings(*config)) {
      std::fprintf(stderr, "envflow: warning: %s\n", warning.c_str());
    }
  }
}

std::string editor() {
  for (const char* name : {"VISUAL", "EDITOR"}) {
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') {
      return value;
    }
  }
  return "vi";
}

} // namespace

Runner setup_config(CommandLine& app, Globals& globals) {
  app.require_subcommand(1);
  auto which = std::make_shared<std::string>();
  auto file = std::make_shared<std::string>();
  app.add_choice(which, "show", "Print envflow.yaml");
  CommandLine edit = app.add_choice(
      which, "edit",
      "Edit envflow.yaml in $EDITOR (or take --file); validated, committed, audited");
  edit.add_option("--file", *file, "Take the new config from FILE (- for stdin) instead of $EDITOR")
      .option_text("FILE");
  auto put_name = std::make_shared<std::string>();
  auto put_file = std::make_shared<std::string>();
  CommandLine put = app.add_choice(
      which, "put", "Store a file on the config ref (e.g. the release allowed-signers file)");
  put.add_option("name", *put_name, "Name on the config ref").required().option_text("NAME");
  put.add_option("file", *put_file, "Local file to store").required().option_text("FILE");
  return [which, file, put_name, put_file, &globals] {
    core::pipeline::Session session = open_session(globals);
    if (*which == "put") {
      const bool changed = core::records::put_config_file(session, *put_name, read_text(*put_file));
      std::printf("%s %s on %s\n",
                  changed ? "stored" : "unchanged:", util::printable(*put_name).c_str(),
                  core::model::k_config_ref);
      print_result(nullptr, session, globals);
      return 0;
    }
    if (*which == "show") {
      const std::string text = core::records::config_text(session);
      if (globals.format == Format::json) {
        const auto loaded = content::load_yaml(text, core::model::k_config_file);
        print_json(loaded.value ? loaded.value->to_json() : nlohmann::json(nullptr));
      } else {
        std::fputs(text.c_str(), stdout);
      }
      return 0;
    }
    std::string text;
    if (*file == "-") {
      std::ostringstream buffer;
      buffer << std::cin.rdbuf();
      text = buffer.str();
    } else if (!file->empty()) {
      text = read_text(*file);
    } else {
      const auto started_at = session.refs().target(core::model::k_config_ref);
      const std::string path = core::records::config_edit_file(session);
      {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << core::records::config_text(session);
      }
      const int rc = util::run_interactive({"sh", "-c", editor() + " \"$1\"", "sh", path});
      if (rc != 0) {
        throw util::Refused("the editor exited with " + std::to_string(rc) +
                            "; nothing changed (your text is in " + path + ")");
      }
      text = read_text(path);
      try {
        if (!core::records::write_config(session, text, started_at)) {
          std::printf("no change\n");
          return 0;
        }
      } catch (const util::Refused& e) {
        throw util::Refused(std::string(e.what()) + "\nyour text is in " + path +
                                "; fix it and run envflow config edit --file " + path,
                            e.code(), e.hint());
      }
      std::filesystem::remove(path);
      std::printf("pipeline config updated\n");
      warn_about_grants(text);
      print_result(nullptr, session, globals);
      return 0;
    }
    if (!core::records::write_config(session, text)) {
      std::printf("no change\n");
      return 0;
    }
    std::printf("pipeline config updated\n");
    warn_about_grants(text);
    print_result(nullptr, session, globals);
    return 0;
  };
}

} // namespace envflow::cli
