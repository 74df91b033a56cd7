#include "git/repo.h"

#include <algorithm>
#include <fstream>
#include <iterator>

#include <sys/stat.h>

#include "git/handle.h"
#include "util/crypto.h"

namespace envflow::git {

using namespace detail;

std::vector<TreeEntry> Repository::list_index(const std::string& path) const {
  IndexPtr index;
  if (path.empty()) {
    check(git_repository_index(out(index), m_impl->get()), "opening the index");
  } else {
    check(git_index_open(out(index), path.c_str()), "opening the index " + path);
  }
  std::vector<TreeEntry> entries;
  const size_t count = git_index_entrycount(index.get());
  for (size_t i = 0; i < count; ++i) {
    const git_index_entry* entry = git_index_get_byindex(index.get(), i);
    if (GIT_INDEX_ENTRY_STAGE(entry) != 0) {
      continue;
    }
    entries.push_back(TreeEntry{entry->path, mode_of(static_cast<git_filemode_t>(entry->mode)),
                                to_hex(entry->id), entry->file_size});
  }
  std::sort(entries.begin(), entries.end(),
            [](const TreeEntry& a, const TreeEntry& b) { return a.path < b.path; });
  return entries;
}

namespace {

FileTime file_time(const git_index_time& time) {
  return FileTime{static_cast<std::uint32_t>(time.seconds), time.nanoseconds};
}

// The big-endian number of `bytes` bytes at `at`.
std::uint32_t be(const unsigned char* at, int bytes) {
  std::uint32_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    value = (value << 8) | at[i];
  }
  return value;
}

// The stage-0 entries of the index file `data` (version 2 or 3, as git
// writes it unless told otherwise), read straight from its bytes: libgit2
// builds a whole index object (an allocation and a hash-map entry per file)
// where a listing needs only the stat data. nullopt for anything else (a
// bad checksum, version 4's compressed paths, a split or sparse index, a
// mode this does not know): the caller asks libgit2, which decides.
std::optional<std::vector<IndexStatEntry>> parse_index_stat(std::string_view data) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  constexpr std::size_t k_header = 12;
  constexpr std::size_t k_sum = 20;
  if (data.size() < k_header + k_sum || data.substr(0, 4) != "DIRC") {
    return std::nullopt;
  }
  const std::uint32_t version = be(bytes + 4, 4);
  const std::uint32_t count = be(bytes + 8, 4);
  const std::size_t end = data.size() - k_sum;
  if ((version != 2 && version != 3) ||
      util::sha1_hex(data.substr(0, end)) !=
          to_hex(*reinterpret_cast<const git_oid*>(bytes + end))) {
    return std::nullopt;
  }
  std::vector<IndexStatEntry> entries;
  entries.reserve(count);
  std::size_t pos = k_header;
  for (std::uint32_t i = 0; i < count; ++i) {
    constexpr std::size_t k_fixed = 62; // stat data, id and flags
    if (pos + k_fixed > end) {
      return std::nullopt;
    }
    const unsigned char* e = bytes + pos;
    const std::uint32_t flags = be(e + 60, 2);
    std::size_t name = pos + k_fixed;
    std::uint32_t extended = 0;
    if ((flags & 0x4000) != 0) {
      if (version < 3 || name + 2 > end) {
        return std::nullopt;
      }
      extended = be(bytes + name, 2);
      name += 2;
    }
    const std::size_t nul = data.find('\0', name);
    if (nul == std::string_view::npos || nul >= end) {
      return std::nullopt;
    }
    // Padded with 1 to 8 NULs to a multiple of 8 bytes from the entry's start.
    const std::size_t next = pos + ((name - pos + (nul - name) + 8) & ~std::size_t{7});
    const auto known =
        std::find_if(std::begin(k_filemodes), std::end(k_filemodes),
                     [mode = be(e + 24, 4)](const auto& entry) { return entry.second == mode; });
    if (known == std::end(k_filemodes) || known->first == Mode::tree) {
      return std::nullopt; // a sparse index's folder, or something stranger
    }
    const Mode kind = known->first;
    const bool stage0 = ((flags >> 12) & 3) == 0;
    const bool intent_to_add = (extended & 0x2000) != 0;
    if (stage0 && !intent_to_add) {
      entries.push_back(IndexStatEntry{std::string(data.substr(name, nul - name)),
                                       to_hex(*reinterpret_cast<const git_oid*>(e + 40)), kind,
                                       FileTime{be(e, 4), be(e + 4, 4)},
                                       FileTime{be(e + 8, 4), be(e + 12, 4)}, be(e + 16, 4),
                                       be(e + 20, 4), be(e + 28, 4), be(e + 32, 4), be(e + 36, 4)});
    }
    pos = next;
  }
  // Extensions: a split index keeps its entries elsewhere, a sparse one
  // folds folders into one entry.
  while (pos + 8 <= end) {
    const std::string_view signature = data.substr(pos, 4);
    if (signature == "link" || signature == "sdir") {
      return std::nullopt;
    }
    pos += 8 + be(bytes + pos + 4, 4);
  }
  if (pos != end) {
    return std::nullopt;
  }
  return entries;
}

} // namespace

IndexStat Repository::read_index_stat(const std::string& path) const {
  std::string file = path;
  if (file.empty()) {
    git_buf buf = GIT_BUF_INIT;
    check(git_repository_item_path(&buf, m_impl->get(), GIT_REPOSITORY_ITEM_INDEX),
          "finding the index");
    file = buf.ptr;
    git_buf_dispose(&buf);
  }
  IndexStat result;
  // Stat before reading: should the index be replaced in between, its
  // entries are then judged against an older time, which only makes more of
  // them racy (read again), never fewer.
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    return result; // no index yet: nothing is known of any file
  }
  result.written = FileTime{st.st_mtim.tv_sec, static_cast<std::uint32_t>(st.st_mtim.tv_nsec)};
  const auto by_path = [](const IndexStatEntry& a, const IndexStatEntry& b) {
    return a.path < b.path;
  };
  {
    std::ifstream in(file, std::ios::binary | std::ios::ate);
    std::string data;
    if (in) {
      data.resize(static_cast<std::size_t>(in.tellg()));
      in.seekg(0);
      in.read(data.data(), static_cast<std::streamsize>(data.size()));
    }
    if (auto entries = in ? parse_index_stat(data) : std::nullopt) {
      result.entries = std::move(*entries);
      if (!std::is_sorted(result.entries.begin(), result.entries.end(), by_path)) {
        std::sort(result.entries.begin(), result.entries.end(), by_path);
      }
      return result;
    }
  }
  // A fresh index object, read from the file now (git_index_open reads with
  // force); the repository's own index object would be the one it read first.
  IndexPtr index;
  check(git_index_open(out(index), file.c_str()), "reading the index " + file);
  const size_t count = git_index_entrycount(index.get());
  result.entries.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const git_index_entry* entry = git_index_get_byindex(index.get(), i);
    if (GIT_INDEX_ENTRY_STAGE(entry) != 0 ||
        (entry->flags_extended & GIT_INDEX_ENTRY_INTENT_TO_ADD) != 0) {
      continue;
    }
    result.entries.push_back(IndexStatEntry{
        entry->path, to_hex(entry->id), mode_of(static_cast<git_filemode_t>(entry->mode)),
        file_time(entry->ctime), file_time(entry->mtime), entry->dev, entry->ino, entry->uid,
        entry->gid, entry->file_size});
  }
  // In the index's own order already, unless it sorts names ignoring case.
  if (!std::is_sorted(result.entries.begin(), result.entries.end(), by_path)) {
    std::sort(result.entries.begin(), result.entries.end(), by_path);
  }
  return result;
}

} // namespace envflow::git
