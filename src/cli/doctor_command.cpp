#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "core/admin/doctor.h"
#include "core/pipeline/session.h"
#include "util/strings.h"

namespace envflow::cli {

namespace {

using Level = core::admin::Finding::Level;

std::string marker(Level level) {
  switch (level) {
  case Level::ok:
    return paint(stdout, Color::green, "✓");
  case Level::warning:
    return paint(stdout, Color::yellow, "!");
  case Level::error:
    return paint(stdout, Color::red, "✗");
  }
  return "?";
}

} // namespace

Runner setup_doctor(CommandLine& /*app*/, Globals& globals) {
  return [&globals] {
    core::pipeline::Session session = open_session(globals);
    if (globals.format == Format::json) {
      print_notes(session); // the output is an array: the notes go to stderr
    }
    const std::vector<core::admin::Finding> findings =
        core::admin::run_doctor(session);
    size_t errors = 0;
    size_t warnings = 0;
    for (const auto& f : findings) {
      errors += f.level == Level::error ? 1 : 0;
      warnings += f.level == Level::warning ? 1 : 0;
    }
    const int exit_code = errors == 0 ? 0 : 1;

    if (globals.format == Format::json) {
      nlohmann::json array = nlohmann::json::array();
      for (const auto& f : findings) {
        array.push_back(
            {{"check", f.check},
             {"level", core::admin::Finding::level_name(f.level)},
             {"message", f.message},
             {"mend", f.mend.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.mend)}});
      }
      print_json(array);
      return exit_code;
    }
    for (const auto& f : findings) {
      std::printf("%s %s %s\n", marker(f.level).c_str(),
                  paint(stdout, Color::bold, f.check + ":").c_str(),
                  printable_lines(f.message).c_str());
      if (f.level != Level::ok && !f.mend.empty()) {
        std::printf("    %s %s\n", paint(stdout, Color::dim, "mend:").c_str(),
                    util::printable(f.mend).c_str());
      }
    }
    if (errors == 0 && warnings == 0) {
      std::printf("%s\n", paint(stdout, Color::green, "all checks pass").c_str());
    } else {
      std::printf("%s\n",
                  paint(stdout, errors == 0 ? Color::yellow : Color::red,
                        std::to_string(errors) + " error" + (errors == 1 ? "" : "s") + ", " +
                            std::to_string(warnings) + " warning" + (warnings == 1 ? "" : "s"))
                      .c_str());
    }
    return exit_code;
  };
}

} // namespace envflow::cli
