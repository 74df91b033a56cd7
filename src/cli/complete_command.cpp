// envflow __complete: the candidates shell completion offers. The rules are
// the command table's own (names, options, option_text), so a new command or
// option completes without touching the shell scripts in completion/.
#include <filesystem>
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>

#include "cli/complete.h"
#include "core/pipeline/session.h"
#include "core/release/release.h"

namespace envflow::cli {

namespace {

bool visible(const CLI::App* app) {
  return !app->get_group().empty();
}

// What a value slot (an option's value or a positional) takes.
struct Slot {
  std::vector<std::string> listed; // "text|json|github"
  bool environments = false;
  bool tags = false;
};

Slot slot_of(const CLI::Option& option) {
  Slot slot;
  const std::string& text = option.get_option_text();
  const std::string& about = option.get_description();
  if (text.find('|') != std::string::npos &&
      text.find_first_not_of("abcdefghijklmnopqrstuvwxyz-|") == std::string::npos) {
    size_t start = 0;
    for (size_t bar = text.find('|'); ; bar = text.find('|', start)) {
      slot.listed.push_back(text.substr(start, bar - start));
      if (bar == std::string::npos) {
        break;
      }
      start = bar + 1;
    }
    return slot;
  }
  const std::string first = text.substr(0, text.find(' '));
  slot.environments = first == "ENV" || about.starts_with("Environment");
  slot.tags = first == "TAG" || first == "REV" || about.find("revision") != std::string::npos;
  return slot;
}

// The repository's environment names (pipeline order) and release tags,
// read once; nothing outside a repository or without a pipeline.
class RepositoryNames {
public:
  // Releases are read with `cache` (the run's: remembered tags).
  explicit RepositoryNames(content::ResultCache* cache) : m_cache(cache) {}

  const std::vector<std::string>& environments() {
    read();
    return m_environments;
  }
  const std::vector<std::string>& tags() {
    read();
    return m_tags;
  }

private:
  void read() {
    if (m_read) {
      return;
    }
    m_read = true;
    try {
      core::pipeline::SessionOptions options;
      options.offline = true;
      options.cache = m_cache;
      const core::pipeline::Session session = core::pipeline::Session::open(".", options);
      if (!session.has_config()) {
        return;
      }
      for (const auto& env : session.config().environments) {
        m_environments.push_back(env.name);
      }
      for (const auto& release : core::release::list_releases(session.pipeline())) {
        m_tags.push_back(release.tag);
      }
    } catch (...) {
      // Completion offers what it can read; an error here is no error to show.
    }
  }

  content::ResultCache* m_cache;
  bool m_read = false;
  std::vector<std::string> m_environments;
  std::vector<std::string> m_tags;
};

// The option of `app` or of an app above it (the global options) named
// `name` ("--format", "-C"), or nullptr.
const CLI::Option* find_option(const CLI::App* app, const std::string& name) {
  for (; app != nullptr; app = app->get_parent()) {
    for (const CLI::Option* option : app->get_options()) {
      if (option->nonpositional() && option->check_name(name)) {
        return option;
      }
    }
  }
  return nullptr;
}

bool takes_value(const CLI::Option& option) {
  return option.get_type_size_max() > 0;
}

std::vector<const CLI::Option*> positionals(const CLI::App* app) {
  std::vector<const CLI::Option*> out;
  for (const CLI::Option* option : app->get_options()) {
    if (!option->nonpositional() && option->get_positional()) {
      out.push_back(option);
    }
  }
  return out;
}

void add_slot(const Slot& slot, RepositoryNames& names, std::vector<std::string>& out) {
  out.insert(out.end(), slot.listed.begin(), slot.listed.end());
  if (slot.environments) {
    out.insert(out.end(), names.environments().begin(), names.environments().end());
  }
  if (slot.tags) {
    out.insert(out.end(), names.tags().begin(), names.tags().end());
  }
}

} // namespace

int complete(const CLI::App& root, const std::vector<std::string>& words,
             content::ResultCache* cache) {
  if (words.empty()) {
    return 0;
  }
  // bash splits `--format=js` into `--format`, `=`, `js`.
  std::string current = words.back() == "=" ? "" : words.back();
  const CLI::App* app = &root;
  const CLI::Option* awaiting = nullptr; // the option whose value comes next
  size_t positional = 0;                 // arguments of `app` seen
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    const std::string& word = words[i];
    if (awaiting != nullptr && word == "=") {
      continue;
    }
    if (awaiting != nullptr) {
      if (awaiting->check_name("-C")) {
        std::error_code ec;
        std::filesystem::current_path(word, ec); // the names come from that repository
      }
      awaiting = nullptr;
      continue;
    }
    if (word.size() > 1 && word[0] == '-') {
      const CLI::Option* option = find_option(app, word.substr(0, word.find('=')));
      if (option != nullptr && takes_value(*option) && word.find('=') == std::string::npos) {
        awaiting = option;
      }
      continue;
    }
    const auto subs = app->get_subcommands(
        [&](const CLI::App* sub) { return sub->get_name() == word && visible(sub); });
    if (positional == 0 && !subs.empty()) {
      app = subs.front();
      continue;
    }
    ++positional;
  }

  RepositoryNames names(cache);
  std::vector<std::string> candidates;
  if (awaiting != nullptr) {
    add_slot(slot_of(*awaiting), names, candidates);
  } else if (current.starts_with("-")) {
    for (const CLI::App* at = app; at != nullptr; at = at->get_parent()) {
      for (const CLI::Option* option : at->get_options()) {
        for (const std::string& name : option->get_lnames()) {
          candidates.push_back("--" + name);
        }
        for (const std::string& name : option->get_snames()) {
          candidates.push_back("-" + name);
        }
      }
    }
  } else {
    if (positional == 0) {
      for (const CLI::App* sub : app->get_subcommands(visible)) {
        candidates.push_back(sub->get_name());
      }
    }
    // The argument this word fills: the next positional, or the last one
    // when it takes many.
    const auto args = positionals(app);
    size_t seen = positional;
    for (const CLI::Option* arg : args) {
      const int many = arg->get_items_expected_max();
      if (seen == 0 || many > 1) {
        add_slot(slot_of(*arg), names, candidates);
        break;
      }
      --seen;
    }
  }
  for (const std::string& candidate : candidates) {
    if (candidate.starts_with(current)) {
      std::cout << candidate << '\n';
    }
  }
  return 0;
}

} // namespace envflow::cli
