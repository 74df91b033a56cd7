#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/documents.h"
#include "cli/output.h"
#include "core/context.h"
#include "core/release.h"
#include "git/repo.h"
#include "util/error.h"

namespace envflow::cli {

core::PublishOptions publish_options(const std::string& bump, const std::string& version) {
  core::PublishOptions options;
  options.bump = core::parse_bump(bump);
  if (!version.empty()) {
    options.exact = core::Version::parse(version);
    if (!options.exact) {
      throw util::UsageError("--version takes vMAJOR.MINOR.PATCH, not '" + version + "'");
    }
  }
  return options;
}

nlohmann::json publish_document(const core::PublishResult& result) {
  const char* outcome = result.outcome == core::PublishResult::Outcome::published ? "published"
                        : result.outcome == core::PublishResult::Outcome::republished
                            ? "republished"
                            : "nothing";
  return {{"outcome", outcome},
          {"tag", result.tag},
          {"commit", result.commit},
          {"previous_live", result.previous_live},
          {"notes", result.notes}};
}

nlohmann::json releases_document(const std::vector<core::Release>& releases) {
  nlohmann::json array = nlohmann::json::array();
  for (const auto& r : releases) {
    array.push_back({{"tag", r.tag},
                     {"commit", r.commit},
                     {"tag_id", r.tag_id},
                     {"time", r.time},
                     {"tagger", r.tagger},
                     {"hotfix", r.hotfix},
                     {"signed", r.is_signed},
                     {"live", r.live}});
  }
  return array;
}

nlohmann::json rollback_document(const core::RollbackResult& result) {
  return {{"tag", result.tag}, {"previous_live", result.previous_live}, {"noop", result.noop}};
}

Runner setup_publish(CLI::App& app, Globals& globals) {
  auto bump = std::make_shared<std::string>("auto");
  auto version = std::make_shared<std::string>();
  auto options = std::make_shared<core::PublishOptions>();
  app.add_option("--bump", *bump, "Version bump: auto (from the semantic diff), patch, minor, major")
      ->option_text("auto|patch|minor|major")
      ->capture_default_str();
  app.add_option("--version", *version, "Exact version for this release (e.g. v2.0.0)")
      ->option_text("vX.Y.Z");
  app.add_option("-m,--message", options->message, "Text to put above the release notes")
      ->option_text("MESSAGE");
  app.add_flag("--no-sign", options->no_sign, "Unsigned release (only when the policy allows)");
  app.add_flag("--force", options->force, "Make a rolled-back head live again (needs --reason)");
  app.add_option("--reason", options->reason, "Why (recorded in the audit trail)")
      ->option_text("TEXT");
  return [bump, version, options, &globals] {
    git::Repository repo = git::Repository::open(".");
    const core::PipelineConfig config = core::require_config(repo);
    const core::PublishOptions words = publish_options(*bump, *version);
    options->bump = words.bump;
    options->exact = words.exact;
    options->actor = core::resolve_actor(globals.actor, &repo);
    const core::PublishResult result = core::publish(repo, config, *options);
    if (globals.format == Format::json) {
      print_json(publish_document(result));
      return 0;
    }
    switch (result.outcome) {
    case core::PublishResult::Outcome::nothing:
      std::printf("nothing to publish: %s (%s) is already live\n", result.tag.c_str(),
                  result.commit.substr(0, 7).c_str());
      break;
    case core::PublishResult::Outcome::republished:
      std::printf("%s %s is live again (was %s)\n", paint(stdout, Color::green, "republished").c_str(),
                  result.tag.c_str(), result.previous_live.c_str());
      break;
    case core::PublishResult::Outcome::published:
      std::printf("%s %s at %s; live: %s -> %s\n", paint(stdout, Color::green, "published").c_str(),
                  result.tag.c_str(), result.commit.substr(0, 7).c_str(),
                  result.previous_live.empty() ? "(none)" : result.previous_live.c_str(),
                  result.tag.c_str());
      std::printf("\n%s", result.notes.c_str());
      break;
    }
    return 0;
  };
}

Runner setup_verify(CLI::App& app, Globals& globals) {
  auto tag = std::make_shared<std::string>();
  app.add_option("tag", *tag, "Release tag to check")->required()->option_text("TAG");
  return [tag, &globals] {
    const git::Repository repo = git::Repository::open(".");
    const core::PipelineConfig config = core::require_config(repo);
    const core::VerifyResult result = core::verify_release(repo, config, *tag);
    if (globals.format == Format::json) {
      print_json({{"tag", result.tag},
                  {"ok", result.ok()},
                  {"signature_ok", result.signature_ok},
                  {"manifest_ok", result.manifest_ok},
                  {"signer", result.signer},
                  {"problems", result.problems}});
      return result.ok() ? 0 : 1;
    }
    if (result.ok()) {
      std::printf("%s %s: good signature by %s; manifest matches the tagged tree\n",
                  paint(stdout, Color::green, "verified").c_str(), result.tag.c_str(),
                  result.signer.c_str());
      return 0;
    }
    for (const auto& problem : result.problems) {
      std::printf("%s %s\n", paint(stdout, Color::red, "✗").c_str(), problem.c_str());
    }
    throw util::Refused(result.tag + " does not verify (" + std::to_string(result.problems.size()) +
                        " problem" + (result.problems.size() == 1 ? "" : "s") + ")");
  };
}

Runner setup_releases(CLI::App& /*app*/, Globals& globals) {
  return [&globals] {
    const git::Repository repo = git::Repository::open(".");
    const auto releases = core::list_releases(repo);
    if (globals.format == Format::json) {
      print_json(releases_document(releases));
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
      rows.push_back({it->live ? "live" : "", it->tag, date, it->tagger, it->commit.substr(0, 7),
                      std::string(it->hotfix ? "hotfix" : "release") +
                          (it->is_signed ? "" : " (unsigned)")});
    }
    print_table(rows);
    return 0;
  };
}

Runner setup_rollback(CLI::App& app, Globals& globals) {
  auto tag = std::make_shared<std::string>();
  app.add_option("tag", *tag, "Earlier release to make live")->required()->option_text("TAG");
  return [tag, &globals] {
    git::Repository repo = git::Repository::open(".");
    const core::PipelineConfig config = core::require_config(repo);
    const std::string actor = core::resolve_actor(globals.actor, &repo);
    const core::RollbackResult result = core::rollback(repo, config, *tag, actor);
    if (globals.format == Format::json) {
      print_json(rollback_document(result));
      return 0;
    }
    if (result.noop) {
      std::printf("%s is already live\n", result.tag.c_str());
    } else {
      std::printf("%s live: %s -> %s\n", paint(stdout, Color::green, "rolled back").c_str(),
                  result.previous_live.empty() ? "(none)" : result.previous_live.c_str(),
                  result.tag.c_str());
      // The rollback record is also a hold (core/hold.h): say so where it is made.
      std::printf("auto-promotion into %s is held until envflow hold release %s\n",
                  config.last().name.c_str(), config.last().name.c_str());
    }
    return 0;
  };
}

} // namespace envflow::cli
