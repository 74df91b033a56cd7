#pragma once
// Fixtures shared by the unit tests.

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "content/diagnostic.h"
#include "core/policy/config.h"
#include "git/repo.h"
#include "util/process.h"
#include "util/strings.h"

namespace envflow::test {

// Object ids for records that name commits no test repository holds.
inline const std::string k_a(40, 'a');
inline const std::string k_b(40, 'b');
inline const std::string k_zero(git::k_zero_id);

// The source tree (templates/, schemas/, docs/).
inline const std::filesystem::path k_source_dir = ENVFLOW_SOURCE_DIR;

inline const std::string k_alice = "alice@example.com";

// Whether `text` contains `part`.
inline bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// `diagnostics` as text, one a line.
inline std::string dump(const std::vector<content::Diagnostic>& diagnostics) {
  std::string text;
  for (const auto& d : diagnostics) {
    text += d.to_text() + "\n";
  }
  return text;
}

// The diagnostics of parsing `text` as envflow.yaml for `use`, one a line.
inline std::string problems_of(const std::string& text,
                               core::policy::ConfigUse use = core::policy::ConfigUse::new_config) {
  std::vector<content::Diagnostic> problems;
  core::policy::parse_config(text, "envflow.yaml", problems, use);
  return dump(problems);
}

// A Variable file's text.
inline std::string variable(const std::string& name, const std::string& type,
                            const std::string& default_yaml) {
  return "kind: Variable\nname: " + name + "\ntype: " + type + "\ndefault: " + default_yaml + "\n";
}

// The bytes of the file at `path` ("" when it cannot be read).
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Write `text` to `path`, making its folder first.
inline void write_file(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Every string of at most `count` of `pieces` put end to end (a piece may
// repeat), shortest first, "" included: inputs that make a hand-written
// matcher's corners meet, for comparing it with the regex it replaces.
inline std::vector<std::string> joined_pieces(const std::vector<std::string>& pieces, int count) {
  std::vector<std::string> texts = {""};
  std::size_t shorter = 0; // where the strings one piece shorter start
  for (int length = 1; length <= count; ++length) {
    const std::size_t known = texts.size();
    for (std::size_t i = shorter; i < known; ++i) {
      for (const std::string& piece : pieces) {
        texts.push_back(texts[i] + piece);
      }
    }
    shorter = known;
  }
  return texts;
}

// `git ARGS` in `dir`, away from the host's configuration, with `env` added
// to the environment; must succeed.
inline void git_in(const std::string& dir, const std::vector<std::string>& args,
                   const std::vector<std::pair<std::string, std::string>>& env = {}) {
  std::vector<std::string> argv{"git", "-C", dir};
  argv.insert(argv.end(), args.begin(), args.end());
  util::BoundedRun limits;
  limits.env = {{"GIT_CONFIG_GLOBAL", "/dev/null"}, {"GIT_CONFIG_NOSYSTEM", "1"}};
  limits.env.insert(limits.env.end(), env.begin(), env.end());
  const auto result = util::run_bounded(argv, limits);
  INFO("git " << util::join(args, " ") << ": " << result.output);
  REQUIRE(result.exit_code == 0);
}

// A fresh folder under the system's temporary directory, removed afterwards.
class TempDir {
public:
  TempDir() : m_path(make()) {}
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  const std::filesystem::path& path() const { return m_path; }
  // The path with a trailing slash.
  std::string str() const { return m_path.string() + "/"; }

private:
  static std::filesystem::path make() {
    std::string pattern = (std::filesystem::temp_directory_path() / "envflow-unit.XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    return pattern;
  }
  std::filesystem::path m_path;
};

// A fresh repository (HEAD on `dev`) in a temporary folder.
class TempRepo {
public:
  explicit TempRepo(bool bare = false)
      : m_repo(git::Repository::init(m_dir.path().string(), bare, "dev")) {}

  git::Repository& repo() { return m_repo; }
  std::string path() const { return m_dir.path().string(); }

  // A commit holding exactly `files` (path -> contents), on top of `parents`.
  std::string commit(const std::map<std::string, std::string>& files,
                     const std::vector<std::string>& parents = {},
                     const std::string& message = "test\n") {
    std::map<std::string, git::NewFile> tree;
    for (const auto& [path, text] : files) {
      tree.emplace(path, git::NewFile{m_repo.write_blob(text), git::Mode::regular});
    }
    return m_repo.write_commit(m_repo.write_tree(tree), parents, message,
                               git::Person{"Test", "test@example.com"}, 1'700'000'000);
  }

  // Point `name` at `id`.
  void set_ref(const std::string& name, const std::string& id) {
    m_repo.update_refs({{name, m_repo.ref_target(name), id}}, "test");
  }

private:
  TempDir m_dir;
  git::Repository m_repo;
};

} // namespace envflow::test
