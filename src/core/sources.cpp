#include "core/sources.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "content/paths.h"
#include "git/repo.h"
#include "util/error.h"

namespace envflow::core {

namespace fs = std::filesystem;
using content::FileEntry;

namespace {

FileEntry::Type type_of(git::Mode mode) {
  switch (mode) {
  case git::Mode::executable:
    return FileEntry::Type::executable;
  case git::Mode::symlink:
    return FileEntry::Type::symlink;
  case git::Mode::submodule:
    return FileEntry::Type::submodule;
  case git::Mode::tree:
    return FileEntry::Type::other;
  case git::Mode::regular:
    break;
  }
  return FileEntry::Type::regular;
}

std::vector<FileEntry> entries_of(const std::vector<git::TreeEntry>& tree) {
  std::vector<FileEntry> entries;
  entries.reserve(tree.size());
  for (const auto& e : tree) {
    entries.push_back(FileEntry{e.path, type_of(e.mode), e.size, e.id});
  }
  return entries;
}

// Folders of the working tree worth descending into: the content and
// runtime folders, and any spelling of them (`Agents/`), which validation
// must see to refuse.
bool content_folder(const std::string& name) { return content::folds_like_content_folder(name); }

} // namespace

TreeSource::TreeSource(const git::Repository& repo, std::string commit_or_tree)
    : m_repo(repo), m_tree(std::move(commit_or_tree)) {}

// Without sizes: reading every blob's header would inflate the whole pack
// for the few files a cached run ever reads.
std::vector<FileEntry> TreeSource::list() { return entries_of(m_repo.list_tree_ids(m_tree)); }

std::string TreeSource::snapshot_id() { return m_repo.tree_of(m_tree); }

std::uint64_t TreeSource::size(const FileEntry& entry) {
  return entry.size != 0 || entry.id.empty() ? entry.size : m_repo.blob_size(entry.id);
}

std::string TreeSource::read(const FileEntry& entry) { return m_repo.read_blob(entry.id); }

IndexSource::IndexSource(const git::Repository& repo) : m_repo(repo) {}

std::vector<FileEntry> IndexSource::list() {
  const char* index_file = std::getenv("GIT_INDEX_FILE");
  return entries_of(m_repo.list_index(index_file != nullptr ? index_file : ""));
}

std::string IndexSource::read(const FileEntry& entry) { return m_repo.read_blob(entry.id); }

WorktreeSource::WorktreeSource(std::string root, const git::Repository* repo)
    : m_root(std::move(root)), m_repo(repo) {}

std::vector<FileEntry> WorktreeSource::list() {
  std::vector<FileEntry> entries;
  std::error_code ec;
  const auto add = [&](const fs::path& path, const std::string& relative) {
    if (m_repo != nullptr && m_repo->is_ignored(relative)) {
      return;
    }
    const fs::file_status status = fs::symlink_status(path, ec);
    FileEntry entry;
    entry.path = relative;
    if (fs::is_symlink(status)) {
      entry.type = FileEntry::Type::symlink;
    } else if (fs::is_regular_file(status)) {
      entry.type = (status.permissions() & fs::perms::owner_exec) != fs::perms::none
                       ? FileEntry::Type::executable
                       : FileEntry::Type::regular;
      entry.size = fs::file_size(path, ec);
    } else {
      entry.type = FileEntry::Type::other;
    }
    entries.push_back(std::move(entry));
  };
  for (const auto& top : fs::directory_iterator(m_root, ec)) {
    const std::string name = top.path().filename().string();
    if (name == ".git") {
      continue;
    }
    const fs::file_status status = top.symlink_status(ec);
    if (fs::is_directory(status)) {
      if (!content_folder(name) || (m_repo != nullptr && m_repo->is_ignored(name + "/"))) {
        continue;
      }
      for (auto it = fs::recursive_directory_iterator(top.path(), ec);
           it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) {
          throw util::IoError("reading " + it->path().string() + ": " + ec.message());
        }
        if (it->is_directory(ec) && !it->is_symlink(ec)) {
          continue;
        }
        add(it->path(), it->path().lexically_relative(m_root).generic_string());
      }
    } else if (fs::is_regular_file(status) || fs::is_symlink(status)) {
      add(top.path(), name);
    }
  }
  if (ec) {
    throw util::IoError("reading " + m_root + ": " + ec.message());
  }
  std::sort(entries.begin(), entries.end(),
            [](const FileEntry& a, const FileEntry& b) { return a.path < b.path; });
  return entries;
}

std::string WorktreeSource::read(const FileEntry& entry) {
  const std::string path = m_root + entry.path;
  if (entry.type == FileEntry::Type::symlink) {
    std::error_code ec;
    return fs::read_symlink(path, ec).string();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw util::IoError("cannot read " + path);
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

} // namespace envflow::core
