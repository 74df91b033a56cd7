#include "core/workspace/sources.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "content/paths.h"
#include "content/summary.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::core::workspace {

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

// GIT_INDEX_FILE, as git sets it for `git commit -a` and `git commit PATH`
// in hooks, or "" for the repository's index.
std::string index_file() {
  const char* path = std::getenv("GIT_INDEX_FILE");
  return path != nullptr ? path : "";
}

bool same_time(const git::FileTime& recorded, const timespec& now) {
  return recorded.seconds == static_cast<std::uint32_t>(now.tv_sec) &&
         recorded.nanoseconds == static_cast<std::uint32_t>(now.tv_nsec);
}

// Whether a file, as `st` (its lstat) shows it, still holds the blob its
// index entry `known` names, without reading it: git's ie_match_stat. Its
// stat data is what the index recorded (size, mtime and ctime to the
// nanosecond, inode, owner, type and executable bit), and it is not "racy":
// the kernel stamps files with a coarse clock, so a file changed again
// within the tick in which git hashed it keeps the same stat data, and only
// a file modified before the index was written is sure to be the blob
// recorded. Judged to the second, as git built without nanosecond times
// (Debian's) judges: a file modified in the second the index was written
// or later is read. An entry whose size is 0 while its blob is not empty
// was marked racy by git when it wrote the index.
bool unchanged_since_indexed(const git::IndexStatEntry& known, const struct stat& st,
                             const git::FileTime& written) {
  constexpr std::string_view k_empty_blob = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391";
  bool same_type = false;
  switch (known.mode) {
  case git::Mode::regular:
  case git::Mode::executable:
    same_type = S_ISREG(st.st_mode) &&
                ((st.st_mode & S_IXUSR) != 0) == (known.mode == git::Mode::executable);
    break;
  case git::Mode::symlink:
    same_type = S_ISLNK(st.st_mode);
    break;
  case git::Mode::submodule:
  case git::Mode::tree:
    break;
  }
  return same_type && known.size == static_cast<std::uint32_t>(st.st_size) &&
         (known.size != 0 || known.id == k_empty_blob) && same_time(known.mtime, st.st_mtim) &&
         same_time(known.ctime, st.st_ctim) && known.ino == static_cast<std::uint32_t>(st.st_ino) &&
         known.uid == static_cast<std::uint32_t>(st.st_uid) &&
         known.gid == static_cast<std::uint32_t>(st.st_gid) && st.st_mtim.tv_sec < written.seconds;
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

std::vector<FileEntry> IndexSource::list() { return entries_of(m_repo.list_index(index_file())); }

std::string IndexSource::read(const FileEntry& entry) { return m_repo.read_blob(entry.id); }

WorktreeSource::WorktreeSource(std::string root, const git::Repository* repo, Ids ids)
    : m_root(std::move(root)), m_repo(repo), m_ids(ids) {}

std::vector<FileEntry> WorktreeSource::list() {
  git::IndexStat index;
  if (m_repo != nullptr) {
    try {
      index = m_repo->read_index_stat(index_file());
    } catch (const util::IoError&) {
      // An index libgit2 cannot read (a split or sparse index): every file
      // is untracked to this listing, and read.
      index = {};
    }
  }
  if (m_ids == Ids::none) {
    index.written.reset(); // tracked files are still known, their ids not taken
  }
  // Folders are walked in the index's order (git's: a folder sorts as its
  // name with a '/'), so most lookups find the entry after the last one.
  std::size_t next = 0;
  const auto tracked = [&](const std::string& path) -> const git::IndexStatEntry* {
    if (next < index.entries.size() && index.entries[next].path == path) {
      return &index.entries[next++];
    }
    const auto it = std::lower_bound(
        index.entries.begin(), index.entries.end(), path,
        [](const git::IndexStatEntry& e, const std::string& p) { return e.path < p; });
    if (it == index.entries.end() || it->path != path) {
      return nullptr;
    }
    next = static_cast<std::size_t>(it - index.entries.begin()) + 1;
    return &*it;
  };
  // Whether a folder (with its trailing '/') holds a tracked file.
  const auto tracks_under = [&](const std::string& folder) {
    const auto it = std::lower_bound(
        index.entries.begin(), index.entries.end(), folder,
        [](const git::IndexStatEntry& e, const std::string& p) { return e.path < p; });
    return it != index.entries.end() && util::starts_with(it->path, folder);
  };

  std::vector<FileEntry> entries;
  std::vector<std::size_t> unchanged; // entries listed with the index's id, to confirm
  // `st`: the file's lstat data; `known`: its index entry (tracked()).
  const auto add = [&](const std::string& relative, const struct stat& st,
                       const git::IndexStatEntry* known) {
    FileEntry entry;
    entry.path = relative;
    if (S_ISLNK(st.st_mode)) {
      entry.type = FileEntry::Type::symlink;
    } else if (S_ISREG(st.st_mode)) {
      entry.type =
          (st.st_mode & S_IXUSR) != 0 ? FileEntry::Type::executable : FileEntry::Type::regular;
      entry.size = static_cast<std::uint64_t>(st.st_size);
    } else {
      entry.type = FileEntry::Type::other;
    }
    if (known != nullptr && index.written && unchanged_since_indexed(*known, st, *index.written)) {
      entry.id = known->id;
      unchanged.push_back(entries.size());
    }
    entries.push_back(std::move(entry));
  };
  // Every file under the folder `prefix` ("" for the root, else ending in
  // '/'), open as `dir`; at the root only the content folders are entered.
  // With readdir and fstatat on the folder's descriptor, as git does: the
  // kernel resolves one name per file, not its whole path.
  const auto walk = [&](const auto& self, int dir, const std::string& prefix) -> void {
    DIR* stream = ::fdopendir(dir);
    if (stream == nullptr) {
      const int error = errno;
      ::close(dir);
      throw util::IoError("reading " + m_root + prefix + ": " + std::strerror(error));
    }
    const std::unique_ptr<DIR, int (*)(DIR*)> closer(stream, ::closedir);
    struct Child {
      std::string name;
      bool folder = false;
    };
    std::vector<Child> children;
    errno = 0;
    while (const dirent* d = ::readdir(stream)) {
      const std::string_view name = d->d_name;
      if (name == "." || name == ".." || (prefix.empty() && name == ".git")) {
        continue;
      }
      bool folder = d->d_type == DT_DIR;
      if (d->d_type == DT_UNKNOWN) { // a file system without types in folders
        struct stat st {};
        folder = ::fstatat(dir, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
      }
      children.push_back(Child{std::string(name), folder});
      errno = 0;
    }
    if (errno != 0) {
      throw util::IoError("reading " + m_root + prefix + ": " + std::strerror(errno));
    }
    // git's order: a folder sorts as its name followed by '/'.
    std::sort(children.begin(), children.end(), [](const Child& a, const Child& b) {
      const std::size_t common = std::min(a.name.size(), b.name.size());
      if (const int c = a.name.compare(0, common, b.name, 0, common); c != 0) {
        return c < 0;
      }
      const auto after = [common](const Child& x) {
        return x.name.size() > common ? static_cast<unsigned char>(x.name[common])
                                      : (x.folder ? '/' : 0);
      };
      return after(a) < after(b);
    });
    for (const Child& child : children) {
      const std::string relative = prefix + child.name;
      if (child.folder) {
        if (prefix.empty() && (!content_folder(child.name) ||
                               (m_repo != nullptr && m_repo->is_ignored(relative + '/') &&
                                !tracks_under(relative + '/')))) {
          continue;
        }
        const int sub =
            ::openat(dir, child.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) {
          if (errno == ENOENT) {
            continue; // removed since the folder was read
          }
          throw util::IoError("reading " + m_root + relative + ": " + std::strerror(errno));
        }
        self(self, sub, relative + '/');
        continue;
      }
      const git::IndexStatEntry* known = tracked(relative);
      // .gitignore applies to untracked files only, as in git.
      if (known == nullptr && m_repo != nullptr && m_repo->is_ignored(relative)) {
        continue;
      }
      struct stat st {};
      if (::fstatat(dir, child.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
          continue; // removed since the folder was read
        }
        throw util::IoError("reading " + m_root + relative + ": " + std::strerror(errno));
      }
      // At the root, only the workspace file and links count (a stray
      // socket or fifo there is no file of the workspace).
      if (prefix.empty() && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
        continue;
      }
      add(relative, st, known);
    }
  };
  const int root = ::open(m_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) {
    throw util::IoError("reading " + m_root + ": " + std::strerror(errno));
  }
  walk(walk, root, "");
  // A file git converts (line endings, a filter) differs from its blob: its
  // own bytes are what is validated, so it is hashed as read.
  if (!unchanged.empty()) {
    std::vector<std::string> paths;
    paths.reserve(unchanged.size());
    for (const std::size_t i : unchanged) {
      paths.push_back(entries[i].path);
    }
    const std::vector<bool> converted = m_repo->may_convert(paths);
    for (std::size_t k = 0; k < unchanged.size(); ++k) {
      if (converted[k]) {
        entries[unchanged[k]].id.clear();
      }
    }
  }
  const auto by_path = [](const FileEntry& a, const FileEntry& b) { return a.path < b.path; };
  if (!std::is_sorted(entries.begin(), entries.end(), by_path)) {
    std::sort(entries.begin(), entries.end(), by_path); // not walked in order: never expected
  }
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
  std::string data = buffer.str();
  if (!entry.id.empty() && m_repo != nullptr && content::git_blob_id(data) != entry.id) {
    return m_repo->read_blob(entry.id); // changed since it was listed
  }
  return data;
}

} // namespace envflow::core::workspace
