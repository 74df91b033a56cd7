#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace envflow::content {
class ResultCache;
}

namespace envflow::cli {

// `envflow __complete WORD...` (hidden; what the bash and zsh completions of
// completion/ call): WORDs are the command line after `envflow`, the last one
// the word being completed (empty for a new word). Prints the candidates that
// start with it, one a line: commands and subcommands, options of the command
// at hand and the global ones, the values an option lists (text|json|github),
// and for arguments named ENV or TAG (or described as an environment or a
// revision) the environment names and release tags of the repository at hand
// (read offline: completing never fetches). Nothing when the word is a file
// or free text, so the shell falls back to its own completion. Never fails:
// exit 0, errors swallowed. Release tags are read with `cache` (the run's).
int complete(const CLI::App& app, const std::vector<std::string>& words,
             content::ResultCache* cache);

} // namespace envflow::cli
