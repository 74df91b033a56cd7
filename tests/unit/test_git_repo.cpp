#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>

#include <sys/stat.h>

#include "git/repo.h"
#include "support.h"
#include "util/error.h"
#include "util/process.h"
#include "util/strings.h"

using namespace envflow;
using envflow::test::git_in;

namespace {

std::string describe(const std::vector<git::Change>& changes) {
  std::string text;
  for (const auto& c : changes) {
    const char status = c.status == git::Change::Status::added     ? 'A'
                        : c.status == git::Change::Status::removed ? 'D'
                                                                   : 'M';
    text += std::string(1, status) + " " + c.path + " " + c.old_id + " " + c.new_id + "\n";
  }
  return text;
}

// What `git diff-tree -r` says, in the same form, sorted by path as diff_trees is.
std::string git_says(const std::string& dir, const std::string& from, const std::string& to) {
  const auto result = util::run_process({"git", "-C", dir, "diff-tree", "-r", "--no-renames",
                                         "--full-index", "--raw", from, to});
  REQUIRE(result.exit_code == 0);
  std::map<std::string, std::string> lines;
  std::istringstream in(result.out);
  std::string line;
  const std::string zero(40, '0');
  while (std::getline(in, line)) {
    // :100644 100644 OLD NEW M\tPATH
    const auto tab = line.find('\t');
    std::istringstream fields(line.substr(1, tab - 1));
    std::string old_mode, new_mode, old_id, new_id, status;
    fields >> old_mode >> new_mode >> old_id >> new_id >> status;
    const std::string path = line.substr(tab + 1);
    lines[path] = status + " " + path + " " + (old_id == zero ? "" : old_id) + " " +
                  (new_id == zero ? "" : new_id) + "\n";
  }
  std::string text;
  for (const auto& [path, l] : lines) {
    text += l;
  }
  return text;
}

} // namespace

TEST_CASE("git::Repository::diff_trees agrees with git diff-tree -r") {
  test::TempRepo temp;
  git::Repository& repo = temp.repo();
  const auto blob = [&](const std::string& text, git::Mode mode = git::Mode::regular) {
    return git::NewFile{repo.write_blob(text), mode};
  };
  std::map<std::string, git::NewFile> before{
      {"a.b", blob("1")},          {"a/x.yaml", blob("2")}, {"a/deep/y", blob("3")},
      {"same/s", blob("4")},       {"gone/g1", blob("5")},  {"gone/g2", blob("6")},
      {"file-then-dir", blob("7")}, {"dir-then-file/z", blob("8")}, {"mode", blob("9")},
  };
  for (int i = 0; i < 200; ++i) {
    // Named, not "v" + std::to_string(i): GCC 12 at -O3 sees a false overlap
    // (-Wrestrict) in libstdc++'s operator+(const char*, std::string&&).
    const std::string n = std::to_string(i);
    before.emplace("big/f" + n, blob("v" + n));
  }
  std::map<std::string, git::NewFile> after = before;
  after["a.b"] = blob("1 changed");
  after["a/deep/y"] = blob("3 changed");
  after.erase("gone/g1");
  after.erase("gone/g2");
  after["new/n"] = blob("10");
  after.erase("file-then-dir");
  after["file-then-dir/inside"] = blob("11");
  after.erase("dir-then-file/z");
  after["dir-then-file"] = blob("12");
  after["mode"] = blob("9", git::Mode::executable);
  after["big/f17"] = blob("changed");
  after.erase("big/f99");
  after["big/f200"] = blob("added");

  const std::string a = repo.write_tree(before);
  const std::string b = repo.write_tree(after);
  const auto forward = repo.diff_trees(a, b);
  CHECK(describe(forward) == git_says(temp.path(), a, b));
  CHECK(describe(repo.diff_trees(b, a)) == git_says(temp.path(), b, a));
  CHECK(repo.diff_trees(a, a).empty());
  // From nothing: every file added.
  CHECK(repo.diff_trees("", a).size() == before.size());
  for (const auto& change : forward) {
    if (change.path == "mode") {
      CHECK(change.status == git::Change::Status::modified);
      CHECK(change.mode == git::Mode::executable);
    }
  }
}

TEST_CASE("git::Repository::update_refs refuses a ref left locked, naming the lock file") {
  test::TempRepo t;
  git::Repository& repo = t.repo();
  const std::string a = t.commit({{"a", "1"}});
  const std::string b = t.commit({{"a", "2"}}, {a});
  repo.update_refs({git::RefUpdate{"refs/heads/test", std::nullopt, a}}, "create");
  // What a process killed inside its ref transaction leaves behind.
  const std::string lock = repo.common_dir() + "refs/heads/test.lock";
  std::ofstream(lock) << b << "\n";
  std::filesystem::last_write_time(lock, std::filesystem::file_time_type::clock::now() -
                                             std::chrono::minutes(1));
  const auto start = std::chrono::steady_clock::now();
  bool refused = false;
  try {
    repo.update_refs({git::RefUpdate{"refs/heads/test", a, b}}, "move");
  } catch (const util::RefLocked& e) {
    refused = true;
    CHECK(e.ref() == "refs/heads/test");
    CHECK(e.lock_files() == std::vector<std::string>{lock});
    CHECK(e.exit() == util::Exit::refused);
    CHECK(std::string(e.what()).find("remove " + lock + " and run the command again") !=
          std::string::npos);
  }
  CHECK(refused);
  // A lock older than the wait is not waited for.
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  CHECK(repo.ref_target("refs/heads/test") == a);
  CHECK(std::filesystem::exists(lock)); // never removed behind the user's back

  std::filesystem::remove(lock);
  repo.update_refs({git::RefUpdate{"refs/heads/test", a, b}}, "move");
  CHECK(repo.ref_target("refs/heads/test") == b);
}

TEST_CASE("git::Repository::update_refs names the refs a transaction stopped half-way left") {
  test::TempRepo t;
  git::Repository& repo = t.repo();
  const std::string a = t.commit({{"a", "1"}});
  const std::string b = t.commit({{"a", "2"}}, {a});
  std::vector<git::RefUpdate> create;
  std::vector<git::RefUpdate> move;
  for (const char* name : {"r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "z"}) {
    create.push_back(git::RefUpdate{std::string("refs/heads/") + name, std::nullopt, a});
    move.push_back(git::RefUpdate{std::string("refs/heads/") + name, a, b});
  }
  repo.update_refs(create, "create");
  // z's reflog is a folder with a file in it: libgit2 fails on z (reflog
  // first, then the ref) after committing the refs it took before it.
  const std::filesystem::path log = std::filesystem::path(repo.git_dir()) / "logs/refs/heads/z";
  std::filesystem::remove(log);
  std::filesystem::create_directories(log);
  std::ofstream(log / "keep") << "not a reflog\n";
  std::string message;
  try {
    repo.update_refs(move, "move");
  } catch (const util::IoError& e) {
    message = e.what();
  }
  INFO(message);
  REQUIRE_FALSE(message.empty());
  CHECK(repo.ref_target("refs/heads/z") == a);
  std::vector<std::string> moved;
  for (const auto& update : move) {
    if (repo.ref_target(update.name) == b) {
      moved.push_back(update.name);
    }
  }
  REQUIRE_FALSE(moved.empty()); // libgit2 1.5's order: z is not first
  CHECK(message.find("stopped half-way: " + util::join(moved, ", ") + " moved, ") !=
        std::string::npos);
  CHECK(message.find("refs/heads/z did not") != std::string::npos);
}

namespace {

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

} // namespace

TEST_CASE("git::Repository::read_index_stat") {
  test::TempRepo temp;
  const std::filesystem::path root = temp.path();
  const std::map<std::string, std::string> files{{"a.yaml", "a: 1\n"},
                                                 {"agents/b.yaml", "kind: Agent\n"}};
  for (const auto& [path, text] : files) {
    write_text(root / path, text);
  }
  git_in(temp.path(), {"add", "-A"});
  const git::IndexStat index = temp.repo().read_index_stat();
  REQUIRE(index.written);
  REQUIRE(index.entries.size() == files.size());
  for (const auto& entry : index.entries) {
    struct stat st {};
    REQUIRE(::lstat((root / entry.path).c_str(), &st) == 0);
    const auto blob = util::run_process({"git", "-C", temp.path(), "rev-parse", ":" + entry.path});
    CHECK(entry.id == util::trim(blob.out));
    CHECK(entry.mode == git::Mode::regular);
    CHECK(entry.size == st.st_size);
    CHECK(entry.mtime.seconds == static_cast<std::uint32_t>(st.st_mtim.tv_sec));
    CHECK(entry.mtime.nanoseconds == static_cast<std::uint32_t>(st.st_mtim.tv_nsec));
    CHECK(entry.ctime.seconds == static_cast<std::uint32_t>(st.st_ctim.tv_sec));
    CHECK(entry.ctime.nanoseconds == static_cast<std::uint32_t>(st.st_ctim.tv_nsec));
    CHECK(entry.ino == static_cast<std::uint32_t>(st.st_ino));
    CHECK(entry.uid == st.st_uid);
    CHECK(entry.gid == st.st_gid);
  }

  SUBCASE("read from disk each time: a later `git add` is seen") {
    write_text(root / "a.yaml", "a: 2\n");
    git_in(temp.path(), {"add", "a.yaml"});
    const auto blob = util::run_process({"git", "-C", temp.path(), "rev-parse", ":a.yaml"});
    CHECK(temp.repo().read_index_stat().entries.front().id == util::trim(blob.out));
  }

  SUBCASE("an intent-to-add entry has no blob: left out") {
    write_text(root / "c.yaml", "c: 1\n");
    git_in(temp.path(), {"add", "-N", "c.yaml"});
    CHECK(temp.repo().read_index_stat().entries.size() == files.size());
  }

  SUBCASE("index versions 2, 3 and 4 read alike; an executable and a link") {
    write_text(root / "run.sh", "#!/bin/sh\n");
    std::filesystem::permissions(root / "run.sh", std::filesystem::perms::owner_exec,
                                 std::filesystem::perm_options::add);
    std::filesystem::create_symlink("a.yaml", root / "link.yaml");
    git_in(temp.path(), {"add", "-A"});
    const auto text = [&] {
      std::string out;
      for (const auto& e : temp.repo().read_index_stat().entries) {
        out += e.path + " " + e.id + " " + std::to_string(static_cast<int>(e.mode)) + " " +
               std::to_string(e.mtime.seconds) + "." + std::to_string(e.mtime.nanoseconds) + " " +
               std::to_string(e.ino) + " " + std::to_string(e.size) + "\n";
      }
      return out;
    };
    git_in(temp.path(), {"update-index", "--index-version", "2"});
    const std::string v2 = text();
    CHECK(v2.find("run.sh") != std::string::npos);
    CHECK(v2.find("link.yaml") != std::string::npos);
    git_in(temp.path(), {"update-index", "--index-version", "3"});
    CHECK(text() == v2);
    git_in(temp.path(), {"update-index", "--index-version", "4"}); // read by libgit2
    CHECK(text() == v2);
  }

  SUBCASE("a damaged index is refused, whoever reads it") {
    const std::filesystem::path file = root / ".git/index";
    std::string data;
    {
      std::ifstream in(file, std::ios::binary);
      data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    data[data.size() / 2] = static_cast<char>(data[data.size() / 2] ^ 1);
    {
      std::ofstream out(file, std::ios::binary | std::ios::trunc);
      out << data;
    }
    CHECK_THROWS(temp.repo().read_index_stat());
  }

  SUBCASE("another index file; none at all") {
    const std::string other = (root / ".git/other-index").string();
    util::BoundedRun limits;
    limits.env = {{"GIT_INDEX_FILE", other}};
    REQUIRE(util::run_bounded({"git", "-C", temp.path(), "add", "a.yaml"}, limits).exit_code == 0);
    CHECK(temp.repo().read_index_stat(other).entries.size() == 1);
    const git::IndexStat none = temp.repo().read_index_stat((root / "no-index").string());
    CHECK(none.entries.empty());
    CHECK_FALSE(none.written);
  }
}

TEST_CASE("git::Repository::may_convert") {
  test::TempRepo temp;
  const std::filesystem::path root = temp.path();
  const std::vector<std::string> paths{"a.yaml", "agents/b.yaml", "agents/c.txt"};
  const auto says = [&] {
    const std::vector<bool> converts = temp.repo().may_convert(paths);
    std::string text;
    for (const bool c : converts) {
      text += c ? 'y' : 'n';
    }
    return text;
  };
  CHECK(says() == "nnn");
  write_text(root / ".gitattributes", "*.yaml diff=yaml linguist-generated\n*.png binary\n");
  CHECK(says() == "nnn"); // attributes, none that converts
  write_text(root / ".gitattributes", "*.yaml text\nagents/b.yaml -text\n");
  CHECK(says() == "ynn");
  write_text(root / "agents/.gitattributes", "*.txt filter=crypt\n");
  CHECK(says() == "yny");
  git_in(temp.path(), {"config", "core.autocrlf", "true"});
  CHECK(says() == "yny"); // b.yaml: -text
  std::filesystem::remove(root / ".gitattributes");
  std::filesystem::remove(root / "agents/.gitattributes");
  CHECK(says() == "yyy");
  git_in(temp.path(), {"config", "core.autocrlf", "false"});
  write_text(root / ".git/info/attributes", "a.yaml ident\n");
  CHECK(says() == "ynn");
}
