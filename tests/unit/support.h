#pragma once
// Fixtures shared by the unit tests.

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "git/repo.h"

namespace envflow::test {

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

private:
  TempDir m_dir;
  git::Repository m_repo;
};

} // namespace envflow::test
