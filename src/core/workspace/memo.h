#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace envflow::content {
class ResultCache;
}

namespace envflow::git {
class Repository;
}

namespace envflow::core::workspace {

// Facts derived from immutable git objects (a release tag, a back-port
// issue's blob), remembered by the object's id so that a command reads and
// parses each object once, not on every run: with 1,000 release tags or
// back-port issues, listing them costs a lookup each instead of a parse each.
// An object id names its content for ever, so an entry can never be stale;
// a new object is a miss, computed and added. See docs/architecture.md
// ("Derived state").
//
// One file per kind under the repository's cache folder (memo/<name>),
// written whole under a temporary name and renamed, so a reader sees the
// old file or the new one; a file whose checksum or any line does not read
// back is ignored as a whole (everything recomputed), so a crash or a hand
// edit can cost time, never a wrong answer. Off (every find a miss, nothing
// written) when the run keeps no cache (--no-cache, ENVFLOW_NO_CACHE).
class ObjectMemo {
public:
  // The memo `name` of `repo`, on when the run keeps a cache (`cache`, the
  // one model::Pipeline::cache names; nullptr: off).
  ObjectMemo(const git::Repository& repo, std::string_view name, const content::ResultCache* cache);
  // A memo in the file `path` ("" for off): for tests.
  explicit ObjectMemo(std::string path);
  ~ObjectMemo(); // save()
  ObjectMemo(const ObjectMemo&) = delete;
  ObjectMemo& operator=(const ObjectMemo&) = delete;

  // What was remembered for `id`, or nullopt.
  const nlohmann::json* find(const std::string& id);
  void insert(const std::string& id, nlohmann::json value);
  // Write the file when this run added to it. Never throws: a memo that
  // cannot be written is skipped.
  void save() noexcept;

private:
  void load();

  std::string m_path;
  std::map<std::string, std::string> m_raw;         // as read: JSON text, parsed when found
  std::map<std::string, nlohmann::json> m_entries;  // parsed or inserted
  std::map<std::string, bool> m_used; // ids found or inserted by this run
  bool m_loaded = false;
  bool m_dirty = false;
};

} // namespace envflow::core::workspace
