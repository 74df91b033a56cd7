#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace envflow::content {

// One file of a workspace snapshot: a working tree, the index, or a commit's tree.
struct FileEntry {
  enum class Type { regular, executable, symlink, submodule, other };
  std::string path; // relative to the workspace root, '/'-separated
  Type type = Type::regular;
  std::uint64_t size = 0;
  std::string id; // git blob id (hex) when known, else ""
};

// A snapshot of files the validator reads. Implementations live in core/
// (they adapt the working tree, the index and git trees).
class FileSource {
public:
  virtual ~FileSource() = default;
  // Every file, sorted by path.
  virtual std::vector<FileEntry> list() = 0;
  // The contents of `entry`. For a symlink, its target.
  virtual std::string read(const FileEntry& entry) = 0;
  // The size of `entry` in bytes, without reading it: `list()` may leave
  // sizes unknown (0) when finding them costs a read per file (a git tree).
  virtual std::uint64_t size(const FileEntry& entry) { return entry.size; }
  // 40 hex digits naming exactly this snapshot's listing, known without
  // listing it (a git tree's id), or "" (the validator then digests the
  // listing). A validation report is kept under it.
  virtual std::string snapshot_id() { return {}; }
};

// An in-memory source, for tests and for content assembled by hand.
class MemorySource : public FileSource {
public:
  void add(std::string path, std::string data, FileEntry::Type type = FileEntry::Type::regular);
  std::vector<FileEntry> list() override;
  std::string read(const FileEntry& entry) override;

private:
  std::vector<std::pair<FileEntry, std::string>> m_files;
};

} // namespace envflow::content
