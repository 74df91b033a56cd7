#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "core/pipeline/session.h"
#include "core/records/hold.h"
#include "core/release/release.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::cli {

Runner setup_publish(CommandLine& app, Globals& globals) {
  auto bump = std::make_shared<std::string>("auto");
  auto version = std::make_shared<std::string>();
  auto options = std::make_shared<core::release::PublishOptions>();
  app.add_option("--bump", *bump,
                 "Version bump: auto (from the semantic diff), patch, minor, major")
      .option_text("auto|patch|minor|major")
      .capture_default_str();
  app.add_option("--version", *version, "Exact version for this release (e.g. v2.0.0)")
      .option_text("vX.Y.Z");
  app.add_option("-m,--message", options->message, "Text to put above the release notes")
      .option_text("MESSAGE");
  app.add_flag("--no-sign", options->no_sign, "Unsigned release (only when the policy allows)");
  app.add_flag("--force", options->force, "Make a rolled-back head live again (needs --reason)");
  app.add_option("--reason", options->reason, "Why (recorded in the audit trail)")
      .option_text("TEXT");
  app.add_flag("--dry-run", options->dry_run,
               "Say the version, the bump and the release notes; move nothing");
  return [bump, version, options, &globals] {
    options->bump = core::release::parse_bump(*bump);
    if (!version->empty()) {
      options->exact = core::release::Version::parse(*version);
      if (!options->exact) {
        throw util::UsageError("--version takes vMAJOR.MINOR.PATCH, not '" + *version + "'");
      }
    }
    core::pipeline::Session session = open_session(globals);
    const core::release::PublishResult result = core::release::publish(session, *options);
    const char* outcome =
        result.outcome == core::release::PublishResult::Outcome::published     ? "published"
        : result.outcome == core::release::PublishResult::Outcome::republished ? "republished"
                                                                               : "nothing";
    if (globals.format == Format::json) {
      print_result({{"outcome", outcome},
                    {"tag", result.tag},
                    {"commit", result.commit},
                    {"previous_live", result.previous_live},
                    {"bump", result.bump.empty() ? nlohmann::json(nullptr) : nlohmann::json(result.bump)},
                    {"dry_run", options->dry_run},
                    {"notes", result.notes}},
                   session, globals);
      return 0;
    }
    if (options->dry_run && result.outcome == core::release::PublishResult::Outcome::published) {
      std::printf("would publish %s at %s (%s bump); nothing moved\n\n%s", result.tag.c_str(),
                  result.commit.substr(0, 7).c_str(), result.bump.c_str(),
                  printable_lines(result.notes).c_str());
      return 0;
    }
    switch (result.outcome) {
    case core::release::PublishResult::Outcome::nothing:
      std::printf("nothing to publish: %s (%s) is already live\n", result.tag.c_str(),
                  result.commit.substr(0, 7).c_str());
      break;
    case core::release::PublishResult::Outcome::republished:
      std::printf("%s %s is live again (was %s)\n", paint(stdout, Color::green, "republished").c_str(),
                  result.tag.c_str(), result.previous_live.c_str());
      break;
    case core::release::PublishResult::Outcome::published:
      std::printf("%s %s at %s; live: %s -> %s\n", paint(stdout, Color::green, "published").c_str(),
                  result.tag.c_str(), result.commit.substr(0, 7).c_str(),
                  result.previous_live.empty() ? "(none)" : result.previous_live.c_str(),
                  result.tag.c_str());
      std::printf("\n%s", printable_lines(result.notes).c_str());
      break;
    }
    print_result(nullptr, session, globals);
    return 0;
  };
}

Runner setup_verify(CommandLine& app, Globals& globals) {
  auto tag = std::make_shared<std::string>();
  app.add_option("tag", *tag, "Release tag to check").required().option_text("TAG");
  return [tag, &globals] {
    core::pipeline::Session session = open_session(globals);
    const core::release::VerifyResult result =
        core::release::verify_release(session.pipeline(), *tag);
    if (globals.format == Format::json) {
      print_result({{"tag", result.tag},
                  {"ok", result.ok()},
                  {"signature_ok", result.signature_ok},
                  {"manifest_ok", result.manifest_ok},
                  {"signer", result.signer},
                  {"problems", result.problems}}, session, globals);
      return result.ok() ? 0 : 1;
    }
    if (result.ok()) {
      std::printf("%s %s: good signature by %s; manifest matches the tagged tree\n",
                  paint(stdout, Color::green, "verified").c_str(), result.tag.c_str(),
                  result.signer.c_str());
      return 0;
    }
    for (const auto& problem : result.problems) {
      std::printf("%s %s\n", paint(stdout, Color::red, "✗").c_str(),
                  util::printable(problem).c_str());
    }
    throw util::Refused(result.tag + " does not verify (" + std::to_string(result.problems.size()) +
                        " problem" + (result.problems.size() == 1 ? "" : "s") + ")");
  };
}

Runner setup_releases(CommandLine& app, Globals& globals) {
  auto limit = std::make_shared<std::size_t>(k_list_limit);
  auto all = std::make_shared<bool>(false);
  app.add_option("-n,--limit", *limit,
                 "Only the newest N releases (default " + std::to_string(k_list_limit) +
                     "); all when 0")
      .option_text("N");
  app.add_flag("--all", *all, "Every release ever made");
  return [limit, all, &globals] {
    core::pipeline::Session session = open_session(globals);
    const std::size_t shown = *all ? 0 : *limit; // 0: all
    const auto [releases, more] = newest_rows(shown, [&](std::optional<std::size_t> count) {
      return core::release::newest_releases(session.pipeline(), count);
    });
    if (globals.format == Format::json) {
      print_notes(session);
      nlohmann::json array = nlohmann::json::array();
      for (const auto& r : releases) {
        array.push_back(r.to_json());
      }
      print_result(array, session, globals);
      return 0;
    }
    if (releases.empty()) {
      std::printf("no releases yet: envflow publish makes the first one\n");
      return 0;
    }
    std::vector<std::vector<std::string>> rows{{"", "VERSION", "DATE", "BY", "COMMIT", "KIND"}};
    for (auto it = releases.rbegin(); it != releases.rend(); ++it) {
      char date[32];
      const std::time_t t = static_cast<std::time_t>(it->time);
      std::tm tm{};
      gmtime_r(&t, &tm);
      std::strftime(date, sizeof date, "%Y-%m-%d %H:%M", &tm);
      rows.push_back({it->live ? "live" : "", it->tag, date,
                      util::printable(session.config().person(it->tagger)),
                      it->commit.substr(0, 7),
                      std::string(it->hotfix ? "hotfix" : "release") +
                          (it->is_signed ? "" : " (unsigned)")});
    }
    print_table(rows);
    if (more) {
      std::fprintf(stderr, "the newest %zu releases; envflow releases --all lists every one\n",
                   shown);
    }
    return 0;
  };
}

Runner setup_rollback(CommandLine& app, Globals& globals) {
  auto tag = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  app.add_option("tag", *tag, "Earlier release to make live").required().option_text("TAG");
  app.add_option("--reason", *reason, "Why (recorded in the audit trail)").option_text("TEXT");
  return [tag, reason, &globals] {
    core::pipeline::Session session = open_session(globals);
    const core::release::RollbackResult result = core::release::rollback(session, *tag, *reason);
    if (globals.format == Format::json) {
      print_result({{"tag", result.tag},
                    {"previous_live", result.previous_live},
                    {"noop", result.noop},
                    {"hold", result.hold ? result.hold->to_json() : nlohmann::json(nullptr)}},
                   session, globals);
      return 0;
    }
    if (result.noop) {
      std::printf("%s is already live\n", util::printable(result.tag).c_str());
    } else {
      std::printf("%s live: %s -> %s\n", paint(stdout, Color::green, "rolled back").c_str(),
                  result.previous_live.empty() ? "(none)"
                                               : util::printable(result.previous_live).c_str(),
                  util::printable(result.tag).c_str());
      if (result.hold) {
        // The rollback also holds the last environment (core/records/hold.h): say so where it is
        // made.
        const std::string env = util::printable(result.hold->env);
        std::printf("auto-promotion into %s is held until envflow hold release %s\n",
                    env.c_str(), env.c_str());
      }
    }
    print_result(nullptr, session, globals);
    return 0;
  };
}

} // namespace envflow::cli
