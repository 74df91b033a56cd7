#include "core/workspace/cache.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <unordered_map>
#include <vector>

#include <unistd.h>

#include "content/summary.h"
#include "git/repo.h"
#include "util/error.h"

namespace envflow::core::workspace {

namespace fs = std::filesystem;

namespace {

// Segment layout (integers little-endian):
//   "EFVC" | u8 format | u32 context size | context
//   entries: u32 path size | id (20 bytes) | path | u32 result size | result
//   u64 checksum of everything before it
constexpr std::string_view k_magic = "EFVC";
constexpr std::uint8_t k_format = 2;
constexpr std::string_view k_suffix = ".seg";
constexpr std::string_view k_temp_prefix = "tmp-";
constexpr std::size_t k_id_size = 20;
constexpr auto k_stale_temp = std::chrono::hours(1);
// Whole-snapshot reports: one file each under snapshots/, the newest kept.
// Layout: "EFVS" | u8 format | u32 context size | context | report | u64 checksum.
constexpr std::string_view k_snapshot_magic = "EFVS";
constexpr std::string_view k_snapshot_dir = "snapshots";
constexpr std::size_t k_max_snapshots = 32;

void put32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  }
}

void put64(std::string& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  }
}

std::uint64_t get(std::string_view in, std::size_t at, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    value |= std::uint64_t{static_cast<unsigned char>(in[at + static_cast<std::size_t>(i)])}
             << (8 * i);
  }
  return value;
}

// A fast 64-bit checksum over 8-byte words: catches truncation and bit rot,
// not an adversary (whoever can write the git dir can change hooks anyway).
// Fed in pieces, it gives what it gives on the whole.
class Checksum {
public:
  void update(std::string_view data) {
    m_size += data.size();
    if (m_carry_size > 0) {
      const std::size_t take = std::min(data.size(), 8 - m_carry_size);
      std::memcpy(m_carry + m_carry_size, data.data(), take);
      m_carry_size += take;
      data.remove_prefix(take);
      if (m_carry_size < 8) {
        return;
      }
      word(m_carry);
      m_carry_size = 0;
    }
    while (data.size() >= 8) {
      word(data.data());
      data.remove_prefix(8);
    }
    std::memcpy(m_carry, data.data(), data.size());
    m_carry_size = data.size();
  }

  std::uint64_t value() const {
    std::uint64_t hash = m_hash;
    for (std::size_t i = 0; i < m_carry_size; ++i) {
      hash = (hash ^ static_cast<unsigned char>(m_carry[i])) * 0x100000001b3ULL;
    }
    hash ^= m_size;
    return hash ^ (hash >> 32);
  }

private:
  void word(const char* bytes) {
    std::uint64_t w = 0;
    std::memcpy(&w, bytes, 8);
    m_hash = (m_hash ^ w) * 0x100000001b3ULL;
    m_hash ^= m_hash >> 29;
  }

  std::uint64_t m_hash = 0x9e3779b97f4a7c15ULL;
  std::uint64_t m_size = 0;
  char m_carry[8] = {};
  std::size_t m_carry_size = 0;
};

std::uint64_t checksum(std::string_view data) {
  Checksum sum;
  sum.update(data);
  return sum.value();
}

// 40 hex digits to 20 bytes; "" when `id` is not that.
std::string raw_id(std::string_view id) {
  static const auto k_values = [] {
    std::array<signed char, 256> values{};
    values.fill(-1);
    for (int c = '0'; c <= '9'; ++c) {
      values[static_cast<std::size_t>(c)] = static_cast<signed char>(c - '0');
    }
    for (int c = 'a'; c <= 'f'; ++c) {
      values[static_cast<std::size_t>(c)] = static_cast<signed char>(c - 'a' + 10);
      values[static_cast<std::size_t>(c - 'a' + 'A')] = static_cast<signed char>(c - 'a' + 10);
    }
    return values;
  }();
  if (id.size() != 2 * k_id_size) {
    return {};
  }
  std::string raw(k_id_size, '\0');
  for (std::size_t i = 0; i < k_id_size; ++i) {
    const int high = k_values[static_cast<unsigned char>(id[2 * i])];
    const int low = k_values[static_cast<unsigned char>(id[2 * i + 1])];
    if (high < 0 || low < 0) {
      return {};
    }
    raw[i] = static_cast<char>(high * 16 + low);
  }
  return raw;
}

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::string data;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) {
    return std::nullopt;
  }
  data.resize(static_cast<std::size_t>(size));
  in.seekg(0, std::ios::beg);
  in.read(data.data(), size);
  if (in.gcount() != size) {
    return std::nullopt;
  }
  return data;
}

std::string unique_suffix() {
  static std::atomic<unsigned> counter{0};
  std::random_device device;
  char text[64];
  std::snprintf(text, sizeof text, "%ld-%u-%08x", static_cast<long>(::getpid()), counter++,
                device());
  return text;
}

} // namespace

CacheLimits CacheLimits::from_env() {
  CacheLimits limits;
  if (const char* mb = std::getenv("ENVFLOW_CACHE_MAX_MB"); mb != nullptr && *mb != '\0') {
    char* end = nullptr;
    const unsigned long long value = std::strtoull(mb, &end, 10);
    if (end != nullptr && *end == '\0') {
      limits.max_bytes = static_cast<std::uint64_t>(value) << 20;
    }
  }
  return limits;
}

struct DiskCache::Impl {
  struct Segment {
    fs::path path;
    std::string data;
  };
  struct Slot {
    std::size_t segment;
    std::size_t key_at;   // id and path, contiguous
    std::size_t key_size;
    std::size_t result_at;
    std::size_t result_size;
  };
  struct Pending {
    std::string key;         // raw id + path
    std::string_view result; // the caller's, valid until close()
  };

  std::string dir;
  CacheLimits limits;
  std::string context;
  bool opened = false;

  std::deque<Segment> segments;           // this context's, newest first
  std::vector<fs::path> stale;            // other contexts' and corrupt segments
  std::uint64_t disk_bytes = 0;           // every segment file in the folder
  std::vector<Slot> slots;
  std::unordered_map<std::string_view, std::size_t> index; // key -> slot
  std::unique_ptr<std::atomic<bool>[]> used;

  std::mutex pending_mutex;
  std::vector<Pending> pending;

  // Segments are read on the first per-file lookup: a run answered by a
  // snapshot report never reads them.
  std::atomic<bool> loaded{false};
  std::mutex load_mutex;

  std::string snapshot_data;           // the file a snapshot hit came from
  std::string pending_snapshot_id;     // 40 hex digits, or ""
  std::string_view pending_snapshot;   // the caller's, valid until close()
  bool snapshot_hit = false;

  std::atomic<std::size_t> hits{0};
  std::atomic<std::size_t> misses{0};
  bool wrote = false;
  std::size_t entries_at_open = 0; // for stats() after close()
  std::size_t segment_count = 0;

  void reset() {
    segments.clear();
    stale.clear();
    disk_bytes = 0;
    slots.clear();
    index.clear();
    used.reset();
    pending.clear();
    loaded = false;
    snapshot_data.clear();
    pending_snapshot_id.clear();
    pending_snapshot = {};
    snapshot_hit = false;
    hits = 0;
    misses = 0;
    wrote = false;
  }

  // Parse `segment` into slots; false when it is corrupt or of another context.
  bool load(std::size_t number) {
    const std::string_view data = segments[number].data;
    const std::size_t header = k_magic.size() + 1 + 4;
    if (data.size() < header + 8 || data.substr(0, k_magic.size()) != k_magic ||
        static_cast<std::uint8_t>(data[k_magic.size()]) != k_format) {
      return false;
    }
    const std::size_t body = data.size() - 8;
    if (checksum(data.substr(0, body)) != get(data, body, 8)) {
      return false;
    }
    const std::size_t context_size = get(data, k_magic.size() + 1, 4);
    if (context_size > body - header || data.substr(header, context_size) != context) {
      return false;
    }
    std::vector<Slot> found;
    std::size_t at = header + context_size;
    while (at < body) {
      if (body - at < 4 + k_id_size) {
        return false;
      }
      const std::size_t path_size = get(data, at, 4);
      const std::size_t key_at = at + 4;
      if (path_size > body - key_at - k_id_size) {
        return false;
      }
      const std::size_t key_size = k_id_size + path_size;
      at = key_at + key_size;
      if (body - at < 4) {
        return false;
      }
      const std::size_t result_size = get(data, at, 4);
      at += 4;
      if (result_size > body - at) {
        return false;
      }
      found.push_back(Slot{number, key_at, key_size, at, result_size});
      at += result_size;
    }
    for (const Slot& slot : found) {
      const std::string_view key = data.substr(slot.key_at, slot.key_size);
      if (index.emplace(key, slots.size()).second) { // newer segments came first
        slots.push_back(slot);
      }
    }
    return true;
  }

  void open(const std::string& new_context) {
    reset();
    context = new_context;
    opened = true;
  }

  void ensure_loaded() {
    if (loaded.load(std::memory_order_acquire)) {
      return;
    }
    const std::lock_guard<std::mutex> lock(load_mutex);
    if (!loaded.load(std::memory_order_relaxed)) {
      load_segments();
      loaded.store(true, std::memory_order_release);
    }
  }

  void load_segments() {
    std::error_code ec;
    std::vector<fs::path> names;
    for (const auto& item : fs::directory_iterator(dir, ec)) {
      const std::string name = item.path().filename().string();
      if (name.size() > k_suffix.size() && name.ends_with(k_suffix)) {
        names.push_back(item.path());
      }
    }
    std::sort(names.begin(), names.end(), std::greater<>()); // newest first
    for (const auto& path : names) {
      std::optional<std::string> data = read_file(path);
      if (!data) {
        continue; // removed by a concurrent merge
      }
      disk_bytes += data->size();
      segments.push_back(Segment{path, std::move(*data)});
      if (!load(segments.size() - 1)) {
        stale.push_back(path);
        segments.pop_back();
      }
    }
    used = std::make_unique<std::atomic<bool>[]>(slots.size());
  }

  std::string_view key_of(const Slot& slot) const {
    return std::string_view(segments[slot.segment].data).substr(slot.key_at, slot.key_size);
  }

  std::string_view result_of(const Slot& slot) const {
    return std::string_view(segments[slot.segment].data).substr(slot.result_at, slot.result_size);
  }

  // Write `entries` (key, result) as a new segment; false when it cannot be
  // written. Streams: a segment can be as big as one tree's results.
  bool write(const std::vector<std::pair<std::string_view, std::string_view>>& entries) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    const std::string suffix = unique_suffix();
    const fs::path temp = fs::path(dir) / (std::string(k_temp_prefix) + suffix);
    {
      std::ofstream file(temp, std::ios::binary | std::ios::trunc);
      if (!file) {
        return false;
      }
      Checksum sum;
      std::string buffer;
      const auto flush = [&] {
        sum.update(buffer);
        file.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        buffer.clear();
      };
      buffer.append(k_magic);
      buffer.push_back(static_cast<char>(k_format));
      put32(buffer, static_cast<std::uint32_t>(context.size()));
      buffer.append(context);
      for (const auto& [key, result] : entries) {
        put32(buffer, static_cast<std::uint32_t>(key.size() - k_id_size));
        buffer.append(key);
        put32(buffer, static_cast<std::uint32_t>(result.size()));
        buffer.append(result);
        if (buffer.size() >= (std::size_t{1} << 20)) {
          flush();
        }
      }
      flush();
      put64(buffer, sum.value());
      file.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      if (!file.flush()) {
        file.close();
        fs::remove(temp, ec);
        return false;
      }
    }
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "%016llx",
                  static_cast<unsigned long long>(
                      std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()));
    const fs::path final = fs::path(dir) / (std::string(stamp) + "-" + suffix +
                                            std::string(k_suffix));
    fs::rename(temp, final, ec);
    if (ec) {
      fs::remove(temp, ec);
      return false;
    }
    wrote = true;
    return true;
  }

  // Temporary files a crashed run left behind.
  void remove_stale_temps() {
    std::error_code ec;
    const auto now = fs::file_time_type::clock::now();
    for (const auto& item : fs::recursive_directory_iterator(dir, ec)) {
      if (!item.path().filename().string().starts_with(k_temp_prefix)) {
        continue;
      }
      std::error_code time_ec;
      const auto time = fs::last_write_time(item.path(), time_ec);
      if (!time_ec && now - time > k_stale_temp) {
        fs::remove(item.path(), time_ec);
      }
    }
  }

  // Keep what was computed, then let go of the segments: nothing refers to
  // them once the run is over, and the process may go on (sync, hooks).
  void close() {
    if (!opened) {
      return;
    }
    opened = false;
    if (!pending.empty()) {
      ensure_loaded();
    }
    if (loaded) {
      finish();
    }
    write_snapshot();
    entries_at_open = slots.size();
    segment_count = segments.size();
    segments.clear();
    stale.clear();
    slots.clear();
    index.clear();
    used.reset();
    pending.clear();
    snapshot_data.clear();
  }

  // Named by the context too, so runs of two contexts (schemas, options)
  // keep their own report of the same tree.
  fs::path snapshot_path(std::string_view id) const {
    return fs::path(dir) / k_snapshot_dir /
           content::sha1_hex(context + "\n" + std::string(id));
  }

  std::optional<std::string_view> find_snapshot(std::string_view id) {
    if (!opened || raw_id(id).empty()) {
      return std::nullopt;
    }
    std::optional<std::string> data = read_file(snapshot_path(id));
    const std::size_t header = k_snapshot_magic.size() + 1 + 4;
    if (!data || data->size() < header + 8) {
      return std::nullopt;
    }
    const std::string_view text = *data;
    const std::size_t body = text.size() - 8;
    if (text.substr(0, k_snapshot_magic.size()) != k_snapshot_magic ||
        static_cast<std::uint8_t>(text[k_snapshot_magic.size()]) != k_format ||
        checksum(text.substr(0, body)) != get(text, body, 8)) {
      return std::nullopt;
    }
    const std::size_t context_size = get(text, k_snapshot_magic.size() + 1, 4);
    if (context_size > body - header || text.substr(header, context_size) != context) {
      return std::nullopt;
    }
    snapshot_data = std::move(*data);
    snapshot_hit = true;
    return std::string_view(snapshot_data).substr(header + context_size, body - header - context_size);
  }

  // The pending snapshot report, as its own file; the oldest beyond
  // k_max_snapshots go.
  void write_snapshot() {
    if (pending_snapshot_id.empty()) {
      return;
    }
    std::string out;
    out.append(k_snapshot_magic);
    out.push_back(static_cast<char>(k_format));
    put32(out, static_cast<std::uint32_t>(context.size()));
    out.append(context);
    out.append(pending_snapshot);
    put64(out, checksum(out));
    std::error_code ec;
    const fs::path folder = fs::path(dir) / k_snapshot_dir;
    fs::create_directories(folder, ec);
    const fs::path temp = folder / (std::string(k_temp_prefix) + unique_suffix());
    {
      std::ofstream file(temp, std::ios::binary | std::ios::trunc);
      if (!file) {
        return;
      }
      file.write(out.data(), static_cast<std::streamsize>(out.size()));
      if (!file.flush()) {
        file.close();
        fs::remove(temp, ec);
        return;
      }
    }
    fs::rename(temp, snapshot_path(pending_snapshot_id), ec);
    if (ec) {
      fs::remove(temp, ec);
      return;
    }
    std::vector<std::pair<fs::file_time_type, fs::path>> files;
    for (const auto& item : fs::directory_iterator(folder, ec)) {
      std::error_code time_ec;
      const auto time = fs::last_write_time(item.path(), time_ec);
      if (!time_ec && !item.path().filename().string().starts_with(k_temp_prefix)) {
        files.emplace_back(time, item.path());
      }
    }
    if (files.size() > k_max_snapshots) {
      std::sort(files.begin(), files.end());
      for (std::size_t i = 0; i + k_max_snapshots < files.size(); ++i) {
        fs::remove(files[i].second, ec);
      }
    }
  }

  void finish() {
    std::uint64_t pending_bytes = 0;
    for (const auto& p : pending) {
      pending_bytes += p.key.size() + p.result.size() + 8;
    }
    const bool merge = !stale.empty() || segments.size() + (pending.empty() ? 0 : 1) >
                                             limits.max_files ||
                       disk_bytes + pending_bytes > limits.max_bytes;
    if (!merge) {
      if (!pending.empty()) {
        std::vector<std::pair<std::string_view, std::string_view>> entries;
        entries.reserve(pending.size());
        for (const auto& p : pending) {
          entries.emplace_back(p.key, p.result);
        }
        write(entries);
      }
      return;
    }
    // Merge: what this run used or computed first, then the newest of the
    // rest, up to half the size limit; then drop every older segment.
    std::vector<std::pair<std::string_view, std::string_view>> entries;
    std::uint64_t bytes = 0;
    for (const auto& p : pending) {
      entries.emplace_back(p.key, p.result);
      bytes += p.key.size() + p.result.size() + 8;
    }
    std::vector<std::size_t> rest;
    for (std::size_t i = 0; i < slots.size(); ++i) {
      if (used[i].load(std::memory_order_relaxed)) {
        entries.emplace_back(key_of(slots[i]), result_of(slots[i]));
        bytes += slots[i].key_size + slots[i].result_size + 8;
      } else {
        rest.push_back(i); // in segment order: newest first
      }
    }
    const std::uint64_t budget = limits.max_bytes / 2;
    for (const std::size_t i : rest) {
      const std::uint64_t size = slots[i].key_size + slots[i].result_size + 8;
      if (bytes + size > budget) {
        break;
      }
      entries.emplace_back(key_of(slots[i]), result_of(slots[i]));
      bytes += size;
    }
    if (!entries.empty() && !write(entries)) {
      return; // cannot write: leave everything as it is
    }
    std::error_code ec;
    for (const auto& segment : segments) {
      fs::remove(segment.path, ec);
    }
    for (const auto& path : stale) {
      fs::remove(path, ec);
    }
    remove_stale_temps();
  }
};

DiskCache::DiskCache(std::string dir, CacheLimits limits) : m_impl(std::make_unique<Impl>()) {
  m_impl->dir = std::move(dir);
  m_impl->limits = limits;
}

DiskCache::~DiskCache() { close(); }

void DiskCache::open(const std::string& context) { m_impl->open(context); }

std::optional<std::string_view> DiskCache::find(std::string_view id, std::string_view path) {
  std::string key = raw_id(id);
  if (key.empty() || !m_impl->opened) {
    return std::nullopt;
  }
  m_impl->ensure_loaded();
  key.append(path);
  const auto it = m_impl->index.find(key);
  if (it == m_impl->index.end()) {
    ++m_impl->misses;
    return std::nullopt;
  }
  ++m_impl->hits;
  m_impl->used[it->second].store(true, std::memory_order_relaxed);
  return m_impl->result_of(m_impl->slots[it->second]);
}

void DiskCache::insert(std::string_view id, std::string_view path, std::string_view result) {
  std::string key = raw_id(id);
  if (key.empty() || !m_impl->opened) {
    return;
  }
  key.append(path);
  const std::lock_guard<std::mutex> lock(m_impl->pending_mutex);
  m_impl->pending.push_back(Impl::Pending{std::move(key), result});
}

std::optional<std::string_view> DiskCache::find_snapshot(std::string_view id) {
  return m_impl->find_snapshot(id);
}

void DiskCache::insert_snapshot(std::string_view id, std::string_view result) {
  if (m_impl->opened && !raw_id(id).empty()) {
    m_impl->pending_snapshot_id = std::string(id);
    m_impl->pending_snapshot = result;
  }
}

void DiskCache::close() noexcept {
  try {
    m_impl->close();
  } catch (...) {
    // A cache that cannot be written is no reason to fail a validation.
  }
}

DiskCache::Stats DiskCache::stats() const {
  Stats stats;
  stats.hits = m_impl->hits;
  stats.misses = m_impl->misses;
  stats.entries = m_impl->opened ? m_impl->slots.size() : m_impl->entries_at_open;
  stats.segments = m_impl->opened ? m_impl->segments.size() : m_impl->segment_count;
  stats.wrote = m_impl->wrote;
  stats.snapshot = m_impl->snapshot_hit;
  return stats;
}

const std::string& DiskCache::dir() const { return m_impl->dir; }

std::string cache_dir(const git::Repository& repo) {
  std::string common = repo.common_dir();
  if (!common.empty() && common.back() != '/') {
    common += '/';
  }
  return common + "envflow/cache/";
}

CacheUsage cache_usage(const std::string& folder) {
  CacheUsage usage;
  usage.dir = cache_dir(git::Repository::open(folder));
  std::error_code ec;
  for (const auto& item : fs::recursive_directory_iterator(usage.dir, ec)) {
    std::error_code size_ec;
    if (!item.is_regular_file(size_ec)) {
      continue;
    }
    const std::uintmax_t size = item.file_size(size_ec);
    if (!size_ec) {
      ++usage.files;
      usage.bytes += size;
    }
  }
  return usage;
}

ClearedCache clear_cache(const std::string& folder) {
  ClearedCache cleared;
  cleared.dir = cache_dir(git::Repository::open(folder));
  std::error_code ec;
  const std::uintmax_t removed = fs::remove_all(cleared.dir, ec);
  if (ec) {
    throw util::IoError("removing " + cleared.dir + ": " + ec.message());
  }
  cleared.removed = removed == static_cast<std::uintmax_t>(-1) || removed == 0
                        ? 0
                        : static_cast<std::size_t>(removed - 1); // the folder itself
  return cleared;
}

namespace {

bool env_set(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' && std::string_view(value) != "0";
}

// The cache of the repository the current directory belongs to, found on
// first use; a no-op when there is none or it cannot be opened.
class RepositoryCache : public content::ResultCache {
public:
  void open(const std::string& context) override {
    if (!m_resolved) {
      m_resolved = true;
      try {
        const git::Repository repo = git::Repository::open(".");
        m_disk = std::make_unique<DiskCache>(cache_dir(repo), CacheLimits::from_env());
      } catch (const std::exception&) {
        m_disk.reset(); // not in a repository: no cache
      }
    }
    if (m_disk) {
      m_disk->open(context);
    }
  }

  std::optional<std::string_view> find(std::string_view id, std::string_view path) override {
    return m_disk ? m_disk->find(id, path) : std::nullopt;
  }

  void insert(std::string_view id, std::string_view path, std::string_view result) override {
    if (m_disk) {
      m_disk->insert(id, path, result);
    }
  }

  std::optional<std::string_view> find_snapshot(std::string_view id) override {
    return m_disk ? m_disk->find_snapshot(id) : std::nullopt;
  }

  void insert_snapshot(std::string_view id, std::string_view result) override {
    if (m_disk) {
      m_disk->insert_snapshot(id, result);
    }
  }

  void close() noexcept override {
    if (!m_disk) {
      return;
    }
    m_disk->close();
    if (env_set("ENVFLOW_CACHE_TRACE")) {
      const DiskCache::Stats stats = m_disk->stats();
      if (stats.snapshot) {
        std::fprintf(stderr, "envflow: cache: snapshot seen before, 0 misses (%s)\n",
                     m_disk->dir().c_str());
        return;
      }
      std::fprintf(stderr, "envflow: cache: %zu hits, %zu misses, %zu results in %zu files%s (%s)\n",
                   stats.hits, stats.misses, stats.entries, stats.segments,
                   stats.wrote ? ", wrote one" : "", m_disk->dir().c_str());
    }
  }

private:
  bool m_resolved = false;
  std::unique_ptr<DiskCache> m_disk;
};

} // namespace

std::unique_ptr<content::ResultCache> repository_cache() {
  if (env_set("ENVFLOW_NO_CACHE")) {
    return nullptr;
  }
  return std::make_unique<RepositoryCache>();
}

} // namespace envflow::core::workspace
