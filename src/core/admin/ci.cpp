#include "core/admin/ci.h"

#include <algorithm>
#include <stdexcept>

#include "util/embedded.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::core::admin {

namespace {

constexpr std::string_view k_ci_root = "templates/ci/";
constexpr std::string_view k_each_marker = "#@each-promotion";
constexpr std::string_view k_end_marker = "#@end";

// Where a template file goes in the repository.
std::string target_path(const std::string& ci, const std::string& name) {
  if (ci == "gitlab") {
    return "." + name; // gitlab-ci.yml -> .gitlab-ci.yml
  }
  return ".github/workflows/" + name;
}

std::string trimmed(const std::string& line) {
  const size_t first = line.find_first_not_of(" \t");
  const size_t last = line.find_last_not_of(" \t\r");
  return first == std::string::npos ? std::string() : line.substr(first, last - first + 1);
}

std::string substitute_globals(std::string text, const std::vector<std::string>& envs) {
  std::string next_json = "{";
  for (size_t i = 0; i + 1 < envs.size(); ++i) {
    next_json += (i == 0 ? "\"" : ",\"") + envs[i] + "\":\"" + envs[i + 1] + "\"";
  }
  next_json += "}";
  text = util::replace_all(std::move(text), "@@FIRST@@", envs.front());
  text = util::replace_all(std::move(text), "@@NEXT_JSON@@", next_json);
  return util::replace_all(std::move(text), "@@VERSION@@", ENVFLOW_VERSION);
}

} // namespace

void check_ci_system(const std::string& ci) {
  if (std::find(k_ci_systems.begin(), k_ci_systems.end(), ci) == k_ci_systems.end()) {
    throw util::UsageError("unknown CI system '" + ci + "' for --ci: use " +
                           util::join(k_ci_systems, " or "));
  }
}

std::string render_ci_template(const std::string& text, const std::vector<std::string>& envs) {
  std::string out;
  std::vector<std::string> block;
  bool in_block = false;
  const auto lines = util::split(text, '\n');
  for (size_t n = 0; n < lines.size(); ++n) {
    const std::string& line = lines[n];
    // split() leaves an empty last piece after the final newline.
    const bool last_piece = n + 1 == lines.size();
    if (trimmed(line) == k_each_marker) {
      if (in_block) {
        throw std::invalid_argument("nested " + std::string(k_each_marker));
      }
      in_block = true;
      block.clear();
    } else if (in_block && trimmed(line) == k_end_marker) {
      in_block = false;
      for (size_t i = 0; i + 1 < envs.size(); ++i) {
        for (const auto& item : block) {
          std::string rendered = util::replace_all(item, "@@ENV@@", envs[i]);
          out += util::replace_all(std::move(rendered), "@@NEXT@@", envs[i + 1]) + "\n";
        }
      }
    } else if (in_block) {
      block.push_back(line);
    } else {
      out += line;
      if (!last_piece) {
        out += "\n";
      }
    }
  }
  if (in_block) {
    throw std::invalid_argument(std::string(k_each_marker) + " without " +
                                std::string(k_end_marker));
  }
  return substitute_globals(std::move(out), envs);
}

std::map<std::string, std::string> ci_files(const std::string& ci,
                                            const std::vector<std::string>& envs) {
  std::map<std::string, std::string> files;
  if (ci.empty()) {
    return files;
  }
  check_ci_system(ci);
  const std::string prefix = std::string(k_ci_root) + ci + "/";
  for (const auto& file : util::embedded_files()) {
    if (!util::starts_with(file.path, prefix)) {
      continue;
    }
    const std::string name(file.path.substr(prefix.size()));
    files[target_path(ci, name)] = render_ci_template(std::string(file.data), envs);
  }
  if (files.empty()) {
    throw util::IoError("no CI templates for " + ci + " in this envflow binary");
  }
  return files;
}

} // namespace envflow::core::admin
