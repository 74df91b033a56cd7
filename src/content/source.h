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
