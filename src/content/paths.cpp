#include "content/paths.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <new>
#include <set>

#include <unicase.h>
#include <uninorm.h>

#include "content/kinds.h"
#include "util/strings.h"

// Case folding and normalisation come from GNU libunistring (Debian's
// libunistring-dev), which follows the Unicode Character Database of its
// release: hand-written tables would cover ASCII and a few accents and miss
// the rest (ſ, K, ß, Greek final sigma, decomposed Hangul).

namespace envflow::content {

namespace {

struct FreeDeleter {
  void operator()(std::uint8_t* p) const { std::free(p); }
};

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// `name` in normalisation form C, or itself when it is not UTF-8.
std::string nfc(std::string_view name) {
  if (is_ascii(name) || !util::is_valid_utf8(name)) {
    return std::string(name);
  }
  std::size_t length = 0;
  const std::unique_ptr<std::uint8_t, FreeDeleter> out(
      u8_normalize(UNINORM_NFC, reinterpret_cast<const std::uint8_t*>(name.data()), name.size(),
                   nullptr, &length));
  if (!out) {
    throw std::bad_alloc(); // the input is valid UTF-8: only memory can fail
  }
  return std::string(reinterpret_cast<const char*>(out.get()), length);
}

// The characters macOS ignores in names (HFS+), which git skips when it
// compares a name with ".git": U+200C-U+200F, U+202A-U+202E, U+206A-U+206F
// and U+FEFF.
std::string without_hfs_ignorables(std::string_view name) {
  std::string out;
  for (std::size_t i = 0; i < name.size();) {
    const auto byte = [&](std::size_t k) {
      return i + k < name.size() ? static_cast<unsigned char>(name[i + k]) : 0;
    };
    if (byte(0) == 0xE2 && ((byte(1) == 0x80 && ((byte(2) >= 0x8C && byte(2) <= 0x8F) ||
                                                 (byte(2) >= 0xAA && byte(2) <= 0xAE))) ||
                            (byte(1) == 0x81 && byte(2) >= 0xAA && byte(2) <= 0xAF))) {
      i += 3;
      continue;
    }
    if (byte(0) == 0xEF && byte(1) == 0xBB && byte(2) == 0xBF) {
      i += 3;
      continue;
    }
    out += name[i];
    ++i;
  }
  return out;
}

// Whether a checkout on some system would take `component` for ".git":
// git's own list (is_hfs_dotgit, is_ntfs_dotgit).
bool is_dotgit(std::string_view component) {
  std::string name = util::to_lower(without_hfs_ignorables(component));
  if (name.starts_with(".git:")) {
    return true; // an NTFS alternate data stream of .git
  }
  while (!name.empty() && (name.back() == ' ' || name.back() == '.')) {
    name.pop_back(); // NTFS drops trailing spaces and dots
  }
  return name == ".git" || name == "git~1";
}

bool has_control(std::string_view path) {
  for (std::size_t i = 0; i < path.size(); ++i) {
    const auto c = static_cast<unsigned char>(path[i]);
    if (c < 0x20 || c == 0x7F ||
        (c == 0xC2 && i + 1 < path.size() && static_cast<unsigned char>(path[i + 1]) <= 0x9F)) {
      return true;
    }
  }
  return false;
}

// `name` with every character outside ASCII written as its code point
// ("cafe<U+0301>"), so two spellings that look alike read apart.
std::string spelled_out(std::string_view name) {
  std::string out;
  for (std::size_t i = 0; i < name.size();) {
    const auto c = static_cast<unsigned char>(name[i]);
    const std::size_t length = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (length == 1 || i + length > name.size()) {
      out += name[i];
      ++i;
      continue;
    }
    std::uint32_t code = c & (0xFF >> (length + 1));
    for (std::size_t k = 1; k < length; ++k) {
      code = (code << 6) | (static_cast<unsigned char>(name[i + k]) & 0x3F);
    }
    char text[16];
    std::snprintf(text, sizeof text, "<U+%04X>", static_cast<unsigned>(code));
    out += text;
    i += length;
  }
  return out;
}

// How two names that fold alike differ, and where that makes them one, for
// the message: "differ only in letter case: a checkout on … ".
std::string difference(std::string_view a, std::string_view b) {
  if (a == b) {
    return "are one name for a file and a folder (a tree made by hand): a checkout anywhere ";
  }
  if (nfc(a) == nfc(b)) {
    return "differ only in Unicode normalisation (the same letters, composed differently: " +
           spelled_out(a) + " and " + spelled_out(b) +
           "): a checkout on macOS, whose filesystems ignore normalisation, ";
  }
  return std::string(nfc(a) == a && nfc(b) == b ? "differ only in letter case"
                                                : "differ only in letter case and Unicode "
                                                  "normalisation") +
         ": a checkout on a case-insensitive filesystem (macOS, Windows) ";
}

std::string single_quoted(std::string_view text) { return "'" + util::printable(text) + "'"; }

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    out += i == 0 ? "" : i + 1 == names.size() ? " and " : ", ";
    out += single_quoted(names[i]);
  }
  return out;
}

// A top-level name with a meaning: each content and runtime folder, and
// workspace.yaml.
struct Reserved {
  std::string name;
  bool folder = true;
  std::string_view what; // for the message
};

std::vector<Reserved> reserved_names() {
  std::vector<Reserved> names;
  for (const KindInfo& kind : kinds()) {
    names.push_back({std::string(kind.folder), true,
                     kind.scope == Scope::promoted ? "content folder" : "environment-local folder"});
  }
  for (const std::string_view folder : runtime_folders()) {
    names.push_back({std::string(folder), true, "runtime folder"});
  }
  names.push_back({std::string(k_workspace_file), false, "workspace descriptor"});
  return names;
}

// The message for a file under (or at) `spelled`, a top-level name that
// folds like `reserved` without being it.
std::string reserved_message(const std::string& path, const std::string& spelled,
                             bool spelled_folder, const Reserved& reserved) {
  std::string message = single_quoted(spelled + (spelled_folder ? "/" : "")) + " and the " +
                        std::string(reserved.what) + " " +
                        single_quoted(reserved.name + (reserved.folder ? "/" : "")) + " " +
                        difference(spelled, reserved.name) + "takes one for the other";
  if (!reserved.folder) {
    return message + ", so it could replace the workspace descriptor; rename it or remove it";
  }
  if (const std::string_view reason = runtime_folder_reason(reserved.name); !reason.empty()) {
    return message + ", so " + single_quoted(path) + " is in " + reserved.name +
           "/ there: " + std::string(reason);
  }
  return message + ", so " + single_quoted(path) + " would land in " + reserved.name +
         "/ without the checks that folder's files get; move the file to " + reserved.name +
         "/ (git mv) or rename the folder";
}

// One spelling of a folded name, with the files under it.
struct Spelling {
  std::string name;       // the path prefix as spelled (a folder) or the file's path
  bool folder = false;
  std::string first_file; // the first file under it (the file itself for a file)
  std::size_t files = 0;
};

} // namespace

std::string fold_name(std::string_view name) {
  if (is_ascii(name) || !util::is_valid_utf8(name)) {
    // libunistring would read bad bytes as U+FFFD: two different names
    // would fold alike.
    return util::to_lower(name);
  }
  std::size_t length = 0;
  // With a normalisation form, u8_casefold decomposes first and composes
  // after folding: NFC(toCasefold(NFD(name))).
  const std::unique_ptr<std::uint8_t, FreeDeleter> out(
      u8_casefold(reinterpret_cast<const std::uint8_t*>(name.data()), name.size(), nullptr,
                  UNINORM_NFC, nullptr, &length));
  if (!out) {
    throw std::bad_alloc(); // the input is valid UTF-8: only memory can fail
  }
  return std::string(reinterpret_cast<const char*>(out.get()), length);
}

bool folds_like_content_folder(std::string_view name) {
  const std::string key = fold_name(name);
  const auto folds = [&](std::string_view folder) { return fold_name(folder) == key; };
  return std::any_of(kinds().begin(), kinds().end(),
                     [&](const KindInfo& kind) { return folds(kind.folder); }) ||
         std::any_of(runtime_folders().begin(), runtime_folders().end(), folds);
}

std::string unsafe_path_reason(std::string_view path) {
  if (!util::is_valid_utf8(path)) {
    return "the path is not valid UTF-8: checkouts on macOS and Windows, and envflow's reports, "
           "cannot name it; rename it in UTF-8";
  }
  if (has_control(path)) {
    return "the path holds a control character, which terminals and logs would act on and "
           "Windows refuses; rename it";
  }
  if (path.find('\\') != std::string_view::npos) {
    return "the path holds a backslash, which Windows reads as a folder separator: a checkout "
           "there fails or writes elsewhere; rename it (use '/' for folders)";
  }
  for (const std::string& component : util::split(path, '/')) {
    if (component.empty() || component == "." || component == "..") {
      return "the path has " +
             (component.empty() ? std::string("an empty component")
                                : "a component " + single_quoted(component)) +
             ": git refuses to check it out, so every fresh clone would fail; remove the entry";
    }
    if (is_dotgit(component)) {
      return "the path has a component " + single_quoted(component) +
             " that a checkout takes for the .git folder (git refuses it, so every fresh clone "
             "would fail; on some systems it could overwrite the repository's own files); "
             "remove the entry";
    }
  }
  return {};
}

std::vector<Diagnostic> check_paths(const std::vector<FileEntry>& entries) {
  std::vector<Diagnostic> out;
  const auto report = [&](const std::string& path, std::string rule, std::string message) {
    out.push_back(Diagnostic{path, Mark{1, 1}, Severity::error, std::move(message),
                             std::move(rule)});
  };
  const std::vector<Reserved> reserved = reserved_names();
  std::map<std::string, const Reserved*> reserved_by_key;
  for (const Reserved& r : reserved) {
    reserved_by_key.emplace(fold_name(r.name), &r);
  }

  // Every folder and file, level by level, under its folded key.
  std::map<std::string, std::vector<Spelling>> levels; // spellings in order of appearance
  std::set<std::string> reserved_keys; // top-level keys the reserved-name rule reports
  for (const FileEntry& entry : entries) {
    if (const std::string why = unsafe_path_reason(entry.path); !why.empty()) {
      report(entry.path, "path-unsafe", single_quoted(entry.path) + ": " + why);
    }
    std::string key;
    std::size_t start = 0;
    while (start <= entry.path.size()) {
      const std::size_t slash = entry.path.find('/', start);
      const bool last = slash == std::string::npos;
      const std::size_t end = last ? entry.path.size() : slash;
      const std::string_view component = std::string_view(entry.path).substr(start, end - start);
      key += (start == 0 ? "" : "/") + fold_name(component);
      const std::string spelled = entry.path.substr(0, end);
      if (start == 0) {
        if (const auto it = reserved_by_key.find(key);
            it != reserved_by_key.end() && component != it->second->name) {
          reserved_keys.insert(key);
          report(entry.path, "case-collision", reserved_message(entry.path, spelled, !last, *it->second));
        }
      }
      std::vector<Spelling>& spellings = levels[key];
      auto spelling = std::find_if(spellings.begin(), spellings.end(), [&](const Spelling& s) {
        return s.name == spelled && s.folder == !last;
      });
      if (spelling == spellings.end()) {
        spellings.push_back(Spelling{spelled, !last, entry.path, 0});
        spelling = spellings.end() - 1;
      }
      ++spelling->files;
      if (last) {
        break;
      }
      start = slash + 1;
    }
  }

  // Collisions, the shallowest only: under two spellings of a folder, every
  // name differs by that folder already.
  std::set<std::string> colliding; // keys with two spellings or more
  for (const auto& [key, spellings] : levels) {
    if (spellings.size() < 2) {
      continue;
    }
    bool under_collision = false;
    for (std::size_t slash = key.find('/'); slash != std::string::npos && !under_collision;
         slash = key.find('/', slash + 1)) {
      under_collision = colliding.contains(key.substr(0, slash));
    }
    colliding.insert(key);
    if (under_collision || reserved_keys.contains(key)) {
      continue;
    }
    for (const Spelling& spelling : spellings) {
      std::vector<std::string> others;
      for (const Spelling& other : spellings) {
        if (&other != &spelling) {
          others.push_back(other.name + (other.folder ? "/" : ""));
        }
      }
      const std::string how = difference(spelling.name, others.front());
      if (!spelling.folder) {
        report(spelling.name, "case-collision",
               single_quoted(spelling.name) + " and " + quoted_list(others) + " " + how +
                   "keeps one of them and loses the other; rename or remove one");
        continue;
      }
      report(spelling.first_file, "case-collision",
             "folder " + single_quoted(spelling.name + "/") + " (" +
                 std::to_string(spelling.files) + " file" + (spelling.files == 1 ? "" : "s") +
                 ", this one first) and " + quoted_list(others) + " " + how +
                 "makes them one and mixes their files; spell the folder one way (git mv)");
    }
  }
  return out;
}

} // namespace envflow::content
