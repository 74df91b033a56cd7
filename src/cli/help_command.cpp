// envflow help [COMMAND [SUBCOMMAND]]: what `envflow [COMMAND...] --help`
// prints, for those who type it as git's users do (`git help`, `envflow help`).
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::cli {

namespace {

// The visible subcommand of `app` closest to `word` (at most 2 edits), or "".
std::string closest_subcommand(const CLI::App& app, const std::string& word) {
  std::string best;
  size_t best_distance = 3;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App* s) {
         return !s->get_group().empty();
       })) {
    const size_t d = util::edit_distance(word, sub->get_name());
    if (d < best_distance) {
      best_distance = d;
      best = sub->get_name();
    }
  }
  return best;
}

} // namespace

Runner setup_help(CommandLine& app, Globals& /*globals*/) {
  auto words = std::make_shared<std::vector<std::string>>();
  app.add_option("command", *words, "The command (and subcommand) to explain")
      .option_text("[COMMAND [SUBCOMMAND]]");
  return [command = &app.app(), words] {
    const CLI::App* root = command->get_parent();
    const CLI::App* target = root;
    // CLI11's --help on a subcommand prints sub->help(<the names before it>),
    // so the same call gives the same text.
    std::string path = root->get_name();
    for (const std::string& word : *words) {
      const auto subs = target->get_subcommands([&](const CLI::App* sub) {
        return sub->get_name() == word && !sub->get_group().empty();
      });
      const std::string where = target == root ? path : path + " " + target->get_name();
      if (subs.empty()) {
        std::string text = "'" + word + "' is not a command of " + where;
        if (const std::string best = closest_subcommand(*target, word); !best.empty()) {
          text += "; did you mean '" + best + "'?";
        } else {
          text += "; see " + where + " --help";
        }
        throw util::UsageError(text);
      }
      path = where;
      target = subs.front();
    }
    if (target == root) {
      // root->help() would describe the selected subcommand: `help` itself.
      std::cout << root->get_formatter()->make_help(root, path, CLI::AppFormatMode::Normal);
    } else {
      std::cout << target->help(path);
    }
    return 0;
  };
}

} // namespace envflow::cli
