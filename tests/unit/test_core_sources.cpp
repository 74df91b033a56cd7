#include <doctest/doctest.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>

#include "content/schema.h"
#include "content/summary.h"
#include "content/validator.h"
#include "core/workspace/cache.h"
#include "core/workspace/sources.h"
#include "git/repo.h"
#include "support.h"
#include "util/process.h"
#include "util/strings.h"

using namespace envflow;
using namespace envflow::test;

namespace {

// A TreeSource that counts what the validator asks of it.
class CountingTree : public core::workspace::TreeSource {
public:
  using TreeSource::TreeSource;
  std::vector<content::FileEntry> list() override {
    ++lists;
    return TreeSource::list();
  }
  std::string read(const content::FileEntry& entry) override {
    reads.push_back(entry.path);
    return TreeSource::read(entry);
  }
  int lists = 0;
  std::vector<std::string> reads;
};

const std::map<std::string, std::string> k_files{
    {"workspace.yaml", "kind: Workspace\nname: w\nschema_version: 1\n"},
    {"agents/a.yaml", "kind: Agent\nname: a\ninstructions: Help.\n"},
    {"agents/big.yaml",
     "kind: Agent\nname: big\ninstructions: |\n  " + std::string(5000, 'x') + "\n"},
    {"workflows/w.yaml", "kind: Workflow\nname: w\ntrigger: {type: manual}\nsteps:\n"
                         "  - {id: s1, agent: missing}\n"},
};

bool has_rule(const content::ValidationReport& report, const std::string& path,
              const std::string& rule) {
  return std::any_of(report.diagnostics.begin(), report.diagnostics.end(),
                     [&](const content::Diagnostic& d) { return d.path == path && d.rule == rule; });
}

} // namespace

TEST_CASE("core::workspace::TreeSource") {
  test::TempRepo temp;
  const std::string commit = temp.commit(k_files);

  SUBCASE("lists without sizes, answers size() from the blob header") {
    core::workspace::TreeSource source(temp.repo(), commit);
    const auto entries = source.list();
    REQUIRE(entries.size() == k_files.size());
    for (const auto& entry : entries) {
      CHECK(entry.size == 0);
      CHECK(source.size(entry) == k_files.at(entry.path).size());
    }
    CHECK(source.snapshot_id() == temp.repo().tree_of(commit));
  }

  SUBCASE("a file over the size limit is refused without being read") {
    CountingTree source(temp.repo(), commit);
    content::ValidateOptions options;
    options.max_file_size = 1024;
    const auto report = content::validate(source, options, content::SchemaSet::builtin());
    CHECK(has_rule(report, "agents/big.yaml", "file-too-large"));
    CHECK(std::find(source.reads.begin(), source.reads.end(), "agents/big.yaml") ==
          source.reads.end());
    CHECK(report.files == k_files.size());
  }

  SUBCASE("a tree validated before is answered by its id, without listing it") {
    test::TempDir dir;
    core::workspace::DiskCache cache((dir.path() / "cache").string());
    content::ValidateOptions options;
    options.cache = &cache;
    CountingTree first(temp.repo(), commit);
    const auto cold = content::validate(first, options, content::SchemaSet::builtin());
    CHECK(first.lists == 1);
    CHECK(cold.cached == 0);
    CHECK(has_rule(cold, "workflows/w.yaml", "ref-agent"));

    CountingTree second(temp.repo(), commit);
    const auto warm = content::validate(second, options, content::SchemaSet::builtin());
    CHECK(second.lists == 0);
    CHECK(second.reads.empty());
    CHECK(cache.stats().snapshot);
    CHECK(warm.files == cold.files);
    CHECK(warm.cached == warm.files);
    REQUIRE(warm.diagnostics.size() == cold.diagnostics.size());
    for (std::size_t i = 0; i < warm.diagnostics.size(); ++i) {
      CHECK(warm.diagnostics[i].to_text() == cold.diagnostics[i].to_text());
    }

    SUBCASE("and `only` still filters the stored report") {
      options.only = {"agents/"};
      CountingTree third(temp.repo(), commit);
      const auto filtered = content::validate(third, options, content::SchemaSet::builtin());
      CHECK(third.lists == 0);
      CHECK_FALSE(has_rule(filtered, "workflows/w.yaml", "ref-agent"));
    }
  }
}

namespace {

// Set the modification time of `path` (the access time too).
void set_mtime(const std::string& path, timespec when) {
  const timespec times[2] = {when, when};
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
}

timespec mtime_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mtim;
}

// Rewrite the stat data of `path`'s entry in the (version 2) index file
// `index` to `st`, keeping its blob id, as if git had recorded `st` for that
// blob: what git's own index holds when a file changes within the timestamp
// tick git recorded it in. The file's checksum is made again.
void restat(const std::string& index, const std::string& path, const struct stat& st) {
  std::ifstream in(index, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  const auto get = [&](std::size_t at) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      v = v << 8 | static_cast<unsigned char>(data[at + i]);
    }
    return v;
  };
  const auto put = [&](std::size_t at, std::uint64_t value) {
    for (int i = 0; i < 4; ++i) {
      data[at + i] = static_cast<char>(value >> (24 - 8 * i) & 0xff);
    }
  };
  REQUIRE(data.substr(0, 4) == "DIRC");
  REQUIRE(get(4) == 2);
  std::size_t at = 12;
  bool found = false;
  for (std::uint32_t n = get(8); n > 0 && !found; --n) {
    const std::string name = data.c_str() + at + 62;
    if (name == path) {
      put(at, static_cast<std::uint64_t>(st.st_ctim.tv_sec));
      put(at + 4, static_cast<std::uint64_t>(st.st_ctim.tv_nsec));
      put(at + 8, static_cast<std::uint64_t>(st.st_mtim.tv_sec));
      put(at + 12, static_cast<std::uint64_t>(st.st_mtim.tv_nsec));
      put(at + 16, st.st_dev);
      put(at + 20, st.st_ino);
      put(at + 28, st.st_uid);
      put(at + 32, st.st_gid);
      put(at + 36, static_cast<std::uint64_t>(st.st_size));
      found = true;
    }
    at += (62 + name.size() + 8) / 8 * 8;
  }
  REQUIRE(found);
  const std::string sum = content::sha1_hex(data.substr(0, data.size() - 20));
  for (std::size_t i = 0; i < 20; ++i) {
    data[data.size() - 20 + i] = static_cast<char>(std::stoi(sum.substr(2 * i, 2), nullptr, 16));
  }
  std::ofstream(index, std::ios::binary | std::ios::trunc) << data;
}

// A working tree of `k_files` staged with plain git. The files' times are set
// back a day first, so that none is "racy" (modified as late as the index).
class Staged {
public:
  Staged() {
    for (const auto& [path, text] : k_files) {
      write(path, text);
    }
    add({"-A"});
  }
  std::string file(const std::string& path) const { return m_temp.path() + "/" + path; }
  void write(const std::string& path, const std::string& text) {
    write_file(file(path), text);
    set_mtime(file(path), timespec{::time(nullptr) - 86400, 123456789});
  }
  void add(const std::vector<std::string>& paths) {
    std::vector<std::string> args{"add"};
    args.insert(args.end(), paths.begin(), paths.end());
    git_in(m_temp.path(), args);
  }
  void git(const std::vector<std::string>& args) { git_in(m_temp.path(), args); }
  git::Repository& repo() { return m_temp.repo(); }
  std::string index_file() const { return m_temp.path() + "/.git/index"; }
  // The working tree's listing, by path.
  std::map<std::string, content::FileEntry> list() {
    core::workspace::WorktreeSource source(m_temp.path() + "/", &m_temp.repo());
    std::map<std::string, content::FileEntry> entries;
    for (auto& entry : source.list()) {
      entries.emplace(entry.path, entry);
    }
    return entries;
  }
  // The blob id the index holds for `path`.
  std::string staged(const std::string& path) {
    for (const auto& entry : m_temp.repo().read_index_stat().entries) {
      if (entry.path == path) {
        return entry.id;
      }
    }
    return "";
  }

private:
  test::TempRepo m_temp;
};

// A WorktreeSource that records what the validator reads.
class CountingWorktree : public core::workspace::WorktreeSource {
public:
  using WorktreeSource::WorktreeSource;
  std::string read(const content::FileEntry& entry) override {
    reads.push_back(entry.path);
    return WorktreeSource::read(entry);
  }
  std::vector<std::string> reads;
};

} // namespace

TEST_CASE("core::workspace::WorktreeSource takes the index's blob id when the stat data matches") {
  Staged tree;

  SUBCASE("every unchanged file: the index's id, and a warm validation reads none") {
    auto entries = tree.list();
    REQUIRE(entries.size() == k_files.size());
    for (const auto& [path, entry] : entries) {
      CHECK(entry.id == content::git_blob_id(k_files.at(path)));
      CHECK(entry.size == k_files.at(path).size());
    }
    test::TempDir dir;
    core::workspace::DiskCache cache((dir.path() / "cache").string());
    content::ValidateOptions options;
    options.cache = &cache;
    CountingWorktree cold(tree.file(""), &tree.repo());
    const auto first = content::validate(cold, options, content::SchemaSet::builtin());
    CHECK(has_rule(first, "workflows/w.yaml", "ref-agent"));
    CountingWorktree warm(tree.file(""), &tree.repo());
    const auto second = content::validate(warm, options, content::SchemaSet::builtin());
    CHECK(warm.reads.empty());
    CHECK(second.diagnostics.size() == first.diagnostics.size());
  }

  SUBCASE("racy: a file modified in the second the index was written, or later, is read") {
    const timespec file_time = mtime_of(tree.file("agents/a.yaml"));
    set_mtime(tree.index_file(), file_time); // the same instant
    CHECK(tree.list().at("agents/a.yaml").id.empty());
    set_mtime(tree.index_file(), timespec{file_time.tv_sec - 1, 0}); // before it
    CHECK(tree.list().at("agents/a.yaml").id.empty());
    set_mtime(tree.index_file(), timespec{file_time.tv_sec, 999'999'999}); // the same second
    CHECK(tree.list().at("agents/a.yaml").id.empty());
    set_mtime(tree.index_file(), timespec{file_time.tv_sec + 1, 0}); // the next second
    CHECK_FALSE(tree.list().at("agents/a.yaml").id.empty());
  }

  SUBCASE("the same size and mtime restored: the ctime differs") {
    const std::string path = tree.file("agents/a.yaml");
    const timespec before = mtime_of(path);
    write_file(path, "kind: Agent\nname: a\ninstructions: Hack.\n");
    set_mtime(path, before);
    const auto entry = tree.list().at("agents/a.yaml");
    CHECK(entry.id.empty());
    CHECK(entry.size == k_files.at("agents/a.yaml").size());
  }

  SUBCASE("chmod +x: the executable bit differs") {
    std::filesystem::permissions(tree.file("agents/a.yaml"), std::filesystem::perms::owner_exec,
                                 std::filesystem::perm_options::add);
    const auto entry = tree.list().at("agents/a.yaml");
    CHECK(entry.id.empty());
    CHECK(entry.type == content::FileEntry::Type::executable);
  }

  SUBCASE("staged, then modified: read") {
    tree.write("agents/a.yaml", "kind: Agent\nname: a\ninstructions: Changed after add.\n");
    CHECK(tree.list().at("agents/a.yaml").id.empty());
  }

  SUBCASE("staged again: the new blob's id") {
    const std::string text = "kind: Agent\nname: a\ninstructions: Changed and added.\n";
    tree.write("agents/a.yaml", text);
    tree.add({"agents/a.yaml"});
    CHECK(tree.list().at("agents/a.yaml").id == content::git_blob_id(text));
  }

  SUBCASE("changed within the tick the index recorded it in: read while racy") {
    // The stat data git recorded is the file's, the blob is not its bytes:
    // nothing but the racy rule can tell.
    const std::string path = tree.file("agents/a.yaml");
    write_file(path, "kind: Agent\nname: a\ninstructions: Hack.\n");
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    restat(tree.index_file(), "agents/a.yaml", st);
    set_mtime(tree.index_file(), st.st_mtim); // written in the same tick
    CHECK(tree.list().at("agents/a.yaml").id.empty());
    set_mtime(tree.index_file(), timespec{st.st_mtim.tv_sec - 5, 0}); // the file is newer
    CHECK(tree.list().at("agents/a.yaml").id.empty());
    // Once the index is newer than the file, git trusts the stat data too
    // (`git status` says nothing changed), and so does the listing.
    set_mtime(tree.index_file(), timespec{st.st_mtim.tv_sec + 5, 0});
    CHECK(tree.list().at("agents/a.yaml").id == content::git_blob_id(k_files.at("agents/a.yaml")));
  }

  SUBCASE("an empty file whose entry names another blob (git's mark of a racy entry): read") {
    const std::string path = tree.file("agents/a.yaml");
    write_file(path, "");
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    restat(tree.index_file(), "agents/a.yaml", st);
    set_mtime(tree.index_file(), timespec{st.st_mtim.tv_sec + 5, 0});
    CHECK(tree.list().at("agents/a.yaml").id.empty());
    tree.add({"agents/a.yaml"}); // now the empty blob
    set_mtime(tree.index_file(), timespec{st.st_mtim.tv_sec + 5, 0});
    CHECK(tree.list().at("agents/a.yaml").id == content::git_blob_id(""));
  }

  SUBCASE("changed after it was listed: read gives the blob it was listed with") {
    core::workspace::WorktreeSource source(tree.file(""), &tree.repo());
    const auto entries = source.list();
    const auto it = std::find_if(entries.begin(), entries.end(),
                                 [](const auto& e) { return e.path == "agents/a.yaml"; });
    REQUIRE(it != entries.end());
    REQUIRE_FALSE(it->id.empty());
    write_file(tree.file("agents/a.yaml"), "kind: Agent\nname: a\ninstructions: Later.\n");
    CHECK(source.read(*it) == k_files.at("agents/a.yaml"));
  }

  SUBCASE("untracked files have no id; ignored ones are skipped unless tracked") {
    tree.write(".gitignore", "agents/ignored*.yaml\nchannels/\n");
    tree.write("agents/new.yaml", "kind: Agent\nname: new\ninstructions: New.\n");
    tree.write("agents/ignored.yaml", "kind: Agent\nname: ignored\ninstructions: I.\n");
    tree.write("agents/ignored-tracked.yaml", "kind: Agent\nname: x\ninstructions: T.\n");
    tree.write("channels/untracked.yaml", "kind: Channel\nname: untracked\n");
    tree.write("channels/tracked.yaml", "kind: Channel\nname: tracked\n");
    tree.add({"-f", "agents/ignored-tracked.yaml", "channels/tracked.yaml"});
    const auto entries = tree.list();
    CHECK(entries.at("agents/new.yaml").id.empty());
    CHECK(entries.count("agents/ignored.yaml") == 0);
    CHECK(entries.count("channels/untracked.yaml") == 0);
    CHECK_FALSE(entries.at("agents/ignored-tracked.yaml").id.empty());
    CHECK_FALSE(entries.at("channels/tracked.yaml").id.empty());
  }

  SUBCASE("GIT_INDEX_FILE names the index") {
    const std::string other = tree.file(".git/other-index");
    const std::string text = "kind: Agent\nname: a\ninstructions: Only in the other index.\n";
    tree.write("agents/a.yaml", text);
    git_in(tree.file(""), {"add", "-A"}, {{"GIT_INDEX_FILE", other}});
    CHECK(tree.list().at("agents/a.yaml").id.empty()); // the repository's index: stale
    REQUIRE(::setenv("GIT_INDEX_FILE", other.c_str(), 1) == 0);
    const auto entries = tree.list();
    ::unsetenv("GIT_INDEX_FILE");
    CHECK(entries.at("agents/a.yaml").id == content::git_blob_id(text));
  }

  SUBCASE("a file git converts (line endings, filters) is read") {
    tree.write(".gitattributes", "workflows/*.yaml text eol=crlf\nagents/a.yaml -text\n");
    auto entries = tree.list();
    CHECK(entries.at("workflows/w.yaml").id.empty());
    CHECK_FALSE(entries.at("agents/a.yaml").id.empty());
    CHECK_FALSE(entries.at("workspace.yaml").id.empty());
    tree.git({"config", "core.autocrlf", "input"});
    entries = tree.list();
    CHECK(entries.at("workspace.yaml").id.empty());
    CHECK_FALSE(entries.at("agents/a.yaml").id.empty()); // -text
    std::filesystem::remove(tree.file(".gitattributes"));
    CHECK(tree.list().at("agents/a.yaml").id.empty());
  }

  SUBCASE("a .gitattributes in a content folder counts too") {
    tree.write("agents/.gitattributes", "*.yaml filter=crypt\n");
    const auto entries = tree.list();
    CHECK(entries.at("agents/a.yaml").id.empty());
    CHECK_FALSE(entries.at("workspace.yaml").id.empty());
  }

  SUBCASE("Ids::none (no cache to use them): no ids, the same files") {
    tree.write(".gitignore", "agents/a.yaml\n"); // tracked: listed all the same
    core::workspace::WorktreeSource source(tree.file(""), &tree.repo(),
                                           core::workspace::WorktreeSource::Ids::none);
    const auto entries = source.list();
    CHECK(entries.size() == k_files.size() + 1);
    for (const auto& entry : entries) {
      CHECK(entry.id.empty());
    }
  }

  SUBCASE("without a repository: no ids") {
    core::workspace::WorktreeSource source(tree.file(""), nullptr);
    for (const auto& entry : source.list()) {
      CHECK(entry.id.empty());
    }
  }
}
