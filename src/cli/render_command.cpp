#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/command.h"
#include "cli/output.h"
#include "core/pipeline/session.h"
#include "core/policy/config.h"
#include "core/release/render.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::cli {

namespace {

struct RenderArgs {
  std::vector<std::string> args; // ENV, or the bundles with --check
  std::string out;
  bool check = false;
  std::string expect;     // --expect ENV (with --check)
  core::release::RenderAt at; // --head, --release TAG
};

// The environment this consumer runs in: --expect, else ENVFLOW_EXPECT_ENV,
// else APP_ENV ("" when none says).
std::string expected_environment(const std::string& flag) {
  if (!flag.empty()) {
    return flag;
  }
  for (const char* name : {"ENVFLOW_EXPECT_ENV", "APP_ENV"}) {
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') {
      return value;
    }
  }
  return "";
}

// Write `text` to `path` through a temporary file in the same folder and a
// rename, so a reader sees the old bundle or the new one, never half of one.
void write_atomically(const std::string& path, const std::string& text) {
  std::string temp = path + ".tmp-XXXXXX";
  const int fd = mkstemp(temp.data());
  if (fd < 0) {
    throw util::IoError("cannot write " + path + ": " + std::strerror(errno));
  }
  const auto fail = [&](const std::string& what) {
    const std::string cause = std::strerror(errno);
    close(fd);
    unlink(temp.c_str());
    throw util::IoError(what + " " + path + ": " + cause);
  };
  // mkstemp creates the file 0600; give it the mode a plain create would.
  const mode_t mask = umask(0);
  umask(mask);
  if (fchmod(fd, 0666 & ~mask) != 0) {
    fail("cannot set the mode of");
  }
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = write(fd, text.data() + written, text.size() - written);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      fail("cannot write");
    }
    written += static_cast<std::size_t>(n);
  }
  if (fsync(fd) != 0) {
    fail("cannot write");
  }
  if (close(fd) != 0) {
    const std::string cause = std::strerror(errno);
    unlink(temp.c_str());
    throw util::IoError("cannot write " + path + ": " + cause);
  }
  if (rename(temp.c_str(), path.c_str()) != 0) {
    const std::string cause = std::strerror(errno);
    unlink(temp.c_str());
    throw util::IoError("cannot write " + path + ": " + cause);
  }
}

int check(const std::vector<std::string>& files, const std::string& expected, Format format) {
  std::vector<core::release::BundleFile> bundles;
  for (const auto& file : files) {
    bundles.push_back(core::release::BundleFile{file, read_text(file)});
  }
  const core::release::BundleCheck result = core::release::check_bundles(bundles, expected);
  if (format == Format::json) {
    print_json({
        {"ok", result.ok},
        {"environment",
         result.environment.empty() ? nlohmann::json(nullptr) : nlohmann::json(result.environment)},
        {"commit", result.commit.empty() ? nlohmann::json(nullptr) : nlohmann::json(result.commit)},
        {"reference",
         result.reference.empty() ? nlohmann::json(nullptr) : nlohmann::json(result.reference)},
        {"expected", expected.empty() ? nlohmann::json(nullptr) : nlohmann::json(expected)},
        {"differences", result.differences},
    });
    return result.ok ? 0 : 1;
  }
  if (!result.ok) {
    for (const auto& line : result.differences) {
      std::fprintf(stderr, "envflow: error: %s\n", util::printable(line).c_str());
    }
    return 1;
  }
  std::printf("%s %zu bundle%s name environment %s, commit %s\n",
              paint(stdout, Color::green, "ok:").c_str(), files.size(),
              files.size() == 1 ? "" : "s", util::printable(result.environment).c_str(),
              result.commit.substr(0, 7).c_str());
  return 0;
}

} // namespace

Runner setup_render(CommandLine& app, Globals& globals) {
  auto args = std::make_shared<RenderArgs>();
  app.add_option("args", args->args,
                 "The environment to render; with --check, the bundle files to compare")
      .option_text("ENV | BUNDLE...");
  app.add_option("--out", args->out,
                 "Write the bundle to FILE (atomically) instead of standard output")
      .option_text("FILE");
  app.add_flag("--check", args->check,
               "Check that the bundles given name the same environment and commit");
  app.add_option("--expect", args->expect,
                 "With --check: the environment the bundles must be for (default: "
                 "$ENVFLOW_EXPECT_ENV, else $APP_ENV)")
      .option_text("ENV");
  app.add_flag("--head", args->at.head,
               "Render the branch head (the last environment renders its live release by "
               "default)");
  app.add_option("--release", args->at.release, "Render the content of release TAG")
      .option_text("TAG");
  return [args, &globals]() -> int {
    if (args->check) {
      if (!args->out.empty()) {
        throw util::UsageError("render --check takes no --out");
      }
      if (args->args.empty()) {
        throw util::UsageError("render --check needs one or more BUNDLE files");
      }
      return check(args->args, expected_environment(args->expect), globals.format);
    }
    if (!args->expect.empty()) {
      throw util::UsageError("--expect goes with --check BUNDLE...");
    }
    if (args->at.head && !args->at.release.empty()) {
      throw util::UsageError("render takes --head or --release TAG, not both");
    }
    if (args->args.size() != 1) {
      throw util::UsageError("render takes one environment (or --check BUNDLE...)");
    }
    core::pipeline::Session session = open_session(globals);
    if (globals.format == Format::json) {
      print_notes(session); // the bundle is the output, whatever the format
    }
    const std::string text = core::release::bundle_text(
        core::release::render_bundle(session.pipeline(), args->args[0], args->at));
    if (args->out.empty() || args->out == "-") {
      std::fwrite(text.data(), 1, text.size(), stdout);
    } else {
      write_atomically(args->out, text);
    }
    return 0;
  };
}

} // namespace envflow::cli
