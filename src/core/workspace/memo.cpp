#include "core/workspace/memo.h"

#include <fstream>
#include <sstream>

#include "content/summary.h"
#include "content/validator.h"
#include "core/workspace/cache.h"
#include "util/files.h"
#include "util/json.h"
#include "util/strings.h"

namespace envflow::core::workspace {

namespace {

constexpr std::string_view k_header = "envflow memo 1\n";
// Above this many entries a save keeps only those this run used.
constexpr std::size_t k_max_entries = 200000;

} // namespace

ObjectMemo::ObjectMemo(const git::Repository& repo, std::string_view name,
                       const content::ResultCache* cache)
    : m_path(cache == nullptr ? std::string() : cache_dir(repo) + "memo/" + std::string(name)) {}

ObjectMemo::ObjectMemo(std::string path) : m_path(std::move(path)) {}

ObjectMemo::~ObjectMemo() { save(); }

void ObjectMemo::load() {
  m_loaded = true;
  if (m_path.empty()) {
    return;
  }
  std::ifstream in(m_path, std::ios::binary);
  if (!in) {
    return;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  // The last line is "sum <sha1 of everything before it>".
  const size_t last = text.rfind("\nsum ");
  if (!util::starts_with(text, k_header) || last == std::string::npos ||
      text.back() != '\n' ||
      text.substr(last + 5, text.size() - last - 6) !=
          content::sha1_hex(std::string_view(text).substr(0, last + 1))) {
    return; // not a whole memo file: everything is recomputed
  }
  std::map<std::string, std::string> raw;
  size_t pos = k_header.size();
  while (pos <= last) {
    const size_t end = text.find('\n', pos);
    const size_t tab = text.find('\t', pos);
    if (tab == std::string::npos || tab > end) {
      return;
    }
    raw.emplace(text.substr(pos, tab - pos), text.substr(tab + 1, end - tab - 1));
    pos = end + 1;
  }
  m_raw = std::move(raw);
}

const nlohmann::json* ObjectMemo::find(const std::string& id) {
  if (!m_loaded) {
    load();
  }
  auto it = m_entries.find(id);
  if (it == m_entries.end()) {
    const auto raw = m_raw.find(id);
    if (raw == m_raw.end()) {
      return nullptr;
    }
    try {
      it = m_entries.emplace(id, util::parse_json(raw->second)).first;
    } catch (const nlohmann::json::exception&) {
      return nullptr; // the checksum held, so only a bug writes this: a miss
    }
  }
  m_used[id] = true;
  return &it->second;
}

void ObjectMemo::insert(const std::string& id, nlohmann::json value) {
  if (m_path.empty()) {
    return;
  }
  if (!m_loaded) {
    load();
  }
  m_entries[id] = std::move(value);
  m_used[id] = true;
  m_dirty = true;
}

void ObjectMemo::save() noexcept {
  if (!m_dirty || m_path.empty()) {
    return;
  }
  m_dirty = false;
  try {
    std::string text(k_header);
    const bool prune = m_raw.size() + m_entries.size() > k_max_entries;
    std::map<std::string, std::string> lines = std::move(m_raw);
    for (const auto& [id, value] : m_entries) {
      lines[id] = util::dump_json(value, -1, util::BadUtf8::replace);
    }
    for (const auto& [id, line] : lines) {
      if (!prune || m_used.count(id) != 0) {
        text += id + "\t" + line + "\n";
      }
    }
    m_raw = std::move(lines);
    text += "sum " + content::sha1_hex(text) + "\n";
    util::write_file_atomically(m_path, text);
  } catch (...) {
    // A memo that cannot be written is no reason to fail a command.
  }
}

} // namespace envflow::core::workspace
