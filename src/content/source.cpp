#include "content/source.h"

#include <algorithm>

namespace envflow::content {

void MemorySource::add(std::string path, std::string data, FileEntry::Type type) {
  FileEntry entry;
  entry.path = std::move(path);
  entry.type = type;
  entry.size = data.size();
  m_files.emplace_back(std::move(entry), std::move(data));
}

std::vector<FileEntry> MemorySource::list() {
  std::vector<FileEntry> entries;
  entries.reserve(m_files.size());
  for (const auto& [entry, data] : m_files) {
    entries.push_back(entry);
  }
  std::sort(entries.begin(), entries.end(),
            [](const FileEntry& a, const FileEntry& b) { return a.path < b.path; });
  return entries;
}

std::string MemorySource::read(const FileEntry& entry) {
  for (const auto& [candidate, data] : m_files) {
    if (candidate.path == entry.path) {
      return data;
    }
  }
  return {};
}

} // namespace envflow::content
