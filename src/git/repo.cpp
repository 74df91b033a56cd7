#include "git/repo.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <thread>
#include <utility>

#include <sys/stat.h>
#include <sys/statvfs.h>

#include "git/handle.h"
#include "util/crypto.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/strings.h"

namespace envflow::git {

using namespace detail;

namespace detail {

std::string to_hex(const git_oid& oid) {
  char buffer[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buffer, sizeof buffer, &oid);
  return buffer;
}

git_oid from_hex(const std::string& hex) {
  git_oid oid;
  if (hex.size() != GIT_OID_HEXSZ || git_oid_fromstr(&oid, hex.c_str()) < 0) {
    throw util::IoError("invalid object id '" + hex + "'");
  }
  return oid;
}

} // namespace detail

namespace {

struct LibraryInit {
  LibraryInit() {
    git_libgit2_init();
    // Keep big trees cached: path lookups in large folders otherwise re-parse them.
    git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE, size_t{1} << 20);
  }
  ~LibraryInit() { git_libgit2_shutdown(); }
};

void ensure_library() { static LibraryInit init; }

// Each Mode and the filemode git stores it as.
constexpr std::pair<Mode, git_filemode_t> k_filemodes[] = {
    {Mode::regular, GIT_FILEMODE_BLOB},  {Mode::executable, GIT_FILEMODE_BLOB_EXECUTABLE},
    {Mode::symlink, GIT_FILEMODE_LINK},  {Mode::submodule, GIT_FILEMODE_COMMIT},
    {Mode::tree, GIT_FILEMODE_TREE}};

// Any other filemode (group-writable, unreadable) reads as a regular file.
Mode mode_of(git_filemode_t mode) {
  for (const auto& [ours, theirs] : k_filemodes) {
    if (theirs == mode) {
      return ours;
    }
  }
  return Mode::regular;
}

git_filemode_t filemode_of(Mode mode) {
  for (const auto& [ours, theirs] : k_filemodes) {
    if (ours == mode) {
      return theirs;
    }
  }
  return GIT_FILEMODE_BLOB;
}

std::string with_slash(const char* path) {
  std::string s = path != nullptr ? path : "";
  if (!s.empty() && s.back() != '/') {
    s += '/';
  }
  return s;
}

} // namespace

struct Repository::Impl {
  RepositoryPtr repo;

  git_repository* get() const { return repo.get(); }

  TreePtr tree(const std::string& commit_or_tree) const {
    ObjectPtr object;
    const git_oid oid = from_hex(commit_or_tree);
    check(git_object_lookup(out(object), get(), &oid, GIT_OBJECT_ANY),
          "reading object " + commit_or_tree);
    ObjectPtr peeled;
    check(git_object_peel(out(peeled), object.get(), GIT_OBJECT_TREE),
          "reading tree of " + commit_or_tree);
    return TreePtr(reinterpret_cast<git_tree*>(peeled.release()));
  }

  SignaturePtr signature(const Person& person, std::optional<std::int64_t> time) const {
    SignaturePtr sig;
    if (time) {
      check(git_signature_new(out(sig), person.name.c_str(), person.email.c_str(), *time, 0),
            "creating signature");
    } else {
      check(git_signature_now(out(sig), person.name.c_str(), person.email.c_str()),
            "creating signature");
    }
    return sig;
  }
};

Repository::Repository(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Repository::Repository(Repository&&) noexcept = default;
Repository& Repository::operator=(Repository&&) noexcept = default;
Repository::~Repository() = default;

Repository Repository::open(const std::string& path, Open how) {
  ensure_library();
  auto impl = std::make_unique<Impl>();
  int rc = 0;
  if (how == Open::from_env) {
    rc = git_repository_open_ext(out(impl->repo), nullptr, GIT_REPOSITORY_OPEN_FROM_ENV, nullptr);
  } else {
    rc = git_repository_open_ext(out(impl->repo), path.c_str(), 0, nullptr);
  }
  if (rc < 0) {
    throw util::IoError("not a git repository (or any parent): " +
                            (how == Open::from_env ? std::string("$GIT_DIR") : path) + ": " +
                            last_error(),
                        "not-a-repository",
                        "run it inside a git repository, or name one with -C DIR (envflow init "
                        "makes a new one)");
  }
  return Repository(std::move(impl));
}

Repository Repository::init(const std::string& path, bool bare, const std::string& branch) {
  ensure_library();
  auto impl = std::make_unique<Impl>();
  git_repository_init_options options = GIT_REPOSITORY_INIT_OPTIONS_INIT;
  options.flags = GIT_REPOSITORY_INIT_MKPATH | GIT_REPOSITORY_INIT_MKDIR;
  if (bare) {
    options.flags |= GIT_REPOSITORY_INIT_BARE;
  }
  options.initial_head = branch.c_str();
  check(git_repository_init_ext(out(impl->repo), path.c_str(), &options),
        "creating repository at " + path);
  return Repository(std::move(impl));
}

bool Repository::is_bare() const { return git_repository_is_bare(m_impl->get()) != 0; }
std::string Repository::git_dir() const { return with_slash(git_repository_path(m_impl->get())); }
std::string Repository::workdir() const { return with_slash(git_repository_workdir(m_impl->get())); }
std::string Repository::common_dir() const {
  return with_slash(git_repository_commondir(m_impl->get()));
}
std::string Repository::root() const { return is_bare() ? git_dir() : workdir(); }

std::optional<std::string> Repository::resolve_commit(const std::string& rev) const {
  ObjectPtr object;
  if (git_revparse_single(out(object), m_impl->get(), rev.c_str()) < 0) {
    return std::nullopt;
  }
  ObjectPtr commit;
  if (git_object_peel(out(commit), object.get(), GIT_OBJECT_COMMIT) < 0) {
    return std::nullopt;
  }
  return to_hex(*git_object_id(commit.get()));
}

std::optional<std::string> Repository::ref_target(const std::string& name) const {
  git_oid oid;
  const int rc = git_reference_name_to_id(&oid, m_impl->get(), name.c_str());
  if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC) {
    return std::nullopt;
  }
  check(rc, "reading " + name);
  return to_hex(oid);
}

std::vector<std::string> Repository::list_refs(const std::string& glob) const {
  ReferenceIteratorPtr iterator;
  check(git_reference_iterator_glob_new(out(iterator), m_impl->get(), glob.c_str()),
        "listing references");
  std::vector<std::string> names;
  const char* name = nullptr;
  while (git_reference_next_name(&name, iterator.get()) == 0) {
    names.emplace_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string Repository::head_branch() const {
  ReferencePtr head;
  const int rc = git_reference_lookup(out(head), m_impl->get(), "HEAD");
  if (rc < 0 || git_reference_type(head.get()) != GIT_REFERENCE_SYMBOLIC) {
    return {};
  }
  std::string target = git_reference_symbolic_target(head.get());
  const std::string prefix = "refs/heads/";
  return target.starts_with(prefix) ? target.substr(prefix.size()) : target;
}

bool Repository::head_unborn() const { return git_repository_head_unborn(m_impl->get()) == 1; }

CommitInfo Repository::commit(const std::string& id) const {
  CommitPtr commit;
  const git_oid oid = from_hex(id);
  check(git_commit_lookup(out(commit), m_impl->get(), &oid), "reading commit " + id);
  CommitInfo info;
  info.id = id;
  info.tree = to_hex(*git_commit_tree_id(commit.get()));
  for (unsigned i = 0; i < git_commit_parentcount(commit.get()); ++i) {
    info.parents.push_back(to_hex(*git_commit_parent_id(commit.get(), i)));
  }
  const char* summary = git_commit_summary(commit.get());
  info.summary = summary != nullptr ? summary : "";
  const char* message = git_commit_message(commit.get());
  info.message = message != nullptr ? message : "";
  const git_signature* author = git_commit_author(commit.get());
  info.author = Person{author->name, author->email};
  info.time = git_commit_time(commit.get());
  return info;
}

std::string Repository::tree_of(const std::string& commit_or_tree) const {
  return to_hex(*git_tree_id(m_impl->tree(commit_or_tree).get()));
}

std::vector<TreeEntry> Repository::list_tree(const std::string& commit_or_tree) const {
  OdbPtr odb;
  check(git_repository_odb(out(odb), m_impl->get()), "opening object database");
  std::vector<TreeEntry> entries;
  std::function<void(const git_tree*, const std::string&)> walk = [&](const git_tree* tree,
                                                                       const std::string& prefix) {
    const size_t count = git_tree_entrycount(tree);
    for (size_t i = 0; i < count; ++i) {
      const git_tree_entry* entry = git_tree_entry_byindex(tree, i);
      const std::string path = prefix + git_tree_entry_name(entry);
      const Mode mode = mode_of(git_tree_entry_filemode(entry));
      if (mode == Mode::tree) {
        TreePtr sub;
        check(git_tree_lookup(out(sub), m_impl->get(), git_tree_entry_id(entry)),
              "reading tree " + path);
        walk(sub.get(), path + "/");
        continue;
      }
      TreeEntry e{path, mode, to_hex(*git_tree_entry_id(entry)), 0};
      if (mode != Mode::submodule) {
        size_t size = 0;
        git_object_t type = GIT_OBJECT_INVALID;
        check(git_odb_read_header(&size, &type, odb.get(), git_tree_entry_id(entry)),
              "reading " + path);
        e.size = size;
      }
      entries.push_back(std::move(e));
    }
  };
  const TreePtr root = m_impl->tree(commit_or_tree);
  walk(root.get(), "");
  std::sort(entries.begin(), entries.end(),
            [](const TreeEntry& a, const TreeEntry& b) { return a.path < b.path; });
  return entries;
}

std::optional<std::string> Repository::read_path(const std::string& commit,
                                                 const std::string& path) const {
  const TreePtr tree = m_impl->tree(commit);
  TreeEntryPtr entry;
  // The out() adapter fills `entry` only once the whole statement is done.
  const int rc = git_tree_entry_bypath(out(entry), tree.get(), path.c_str());
  if (rc < 0 || git_tree_entry_type(entry.get()) != GIT_OBJECT_BLOB) {
    return std::nullopt;
  }
  return read_blob(to_hex(*git_tree_entry_id(entry.get())));
}

std::string Repository::read_blob(const std::string& id) const {
  BlobPtr blob;
  const git_oid oid = from_hex(id);
  check(git_blob_lookup(out(blob), m_impl->get(), &oid), "reading blob " + id);
  return std::string(static_cast<const char*>(git_blob_rawcontent(blob.get())),
                     static_cast<size_t>(git_blob_rawsize(blob.get())));
}

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

bool Repository::is_ignored(const std::string& path) const {
  int ignored = 0;
  check(git_ignore_path_is_ignored(&ignored, m_impl->get(), path.c_str()), "reading .gitignore");
  return ignored != 0;
}

namespace {

FileTime file_time(const git_index_time& time) {
  return FileTime{static_cast<std::uint32_t>(time.seconds), time.nanoseconds};
}

// The directories libgit2 searches at config level `level` (':'-separated).
std::vector<std::string> search_path(int level) {
  git_buf buf = GIT_BUF_INIT;
  std::vector<std::string> dirs;
  if (git_libgit2_opts(GIT_OPT_GET_SEARCH_PATH, level, &buf) == 0 && buf.ptr != nullptr) {
    dirs = util::split(buf.ptr, ':');
  }
  git_buf_dispose(&buf);
  return dirs;
}

// The attributes that make git convert a file between its blob and the
// working tree (gitattributes(5), "Effects").
constexpr const char* k_conversions[] = {"text",  "crlf",   "eol",
                                         "ident", "filter", "working-tree-encoding"};

// True when an attributes file that could apply to one of `paths` names an
// attribute of k_conversions (or cannot be read): the system's, the user's,
// core.attributesFile, info/attributes, a .gitattributes in the working
// tree's root or in a folder of `paths`. A macro that sets one names it too.
bool attributes_may_convert(git_repository* repo, const std::string& workdir,
                            const std::vector<std::string>& paths) {
  std::vector<std::string> files{"/etc/gitattributes"};
  for (const auto& dir : search_path(GIT_CONFIG_LEVEL_SYSTEM)) {
    files.push_back(dir + "/gitattributes");
  }
  for (const auto& dir : search_path(GIT_CONFIG_LEVEL_XDG)) {
    files.push_back(dir + "/attributes");
  }
  ConfigPtr config;
  check(git_repository_config_snapshot(out(config), repo), "reading git config");
  git_buf buf = GIT_BUF_INIT;
  if (git_config_get_path(&buf, config.get(), "core.attributesfile") == 0) {
    files.emplace_back(buf.ptr);
  }
  git_buf_dispose(&buf);
  check(git_repository_item_path(&buf, repo, GIT_REPOSITORY_ITEM_INFO), "finding info/");
  files.push_back(std::string(buf.ptr) + "attributes");
  git_buf_dispose(&buf);
  std::vector<std::string> folders{""};
  for (const auto& path : paths) {
    for (std::size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      folders.push_back(path.substr(0, slash + 1));
    }
  }
  std::sort(folders.begin(), folders.end());
  folders.erase(std::unique(folders.begin(), folders.end()), folders.end());
  for (const auto& folder : folders) {
    files.push_back(workdir + folder + ".gitattributes");
  }
  const auto names_a_conversion = [](const std::string& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {
      return false; // none there
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      return true; // there, but unreadable to us: assume the worst
    }
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return std::any_of(std::begin(k_conversions), std::end(k_conversions),
                       [&](const char* name) { return text.find(name) != std::string::npos; });
  };
  return std::any_of(files.begin(), files.end(), names_a_conversion);
}

// True when `value` may set a conversion: set, or set to a value.
bool is_set(const char* value) {
  const git_attr_value_t kind = git_attr_value(value);
  return kind == GIT_ATTR_VALUE_TRUE || kind == GIT_ATTR_VALUE_STRING;
}

} // namespace

namespace {

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

std::vector<bool> Repository::may_convert(const std::vector<std::string>& paths) const {
  if (paths.empty()) {
    return {};
  }
  bool autocrlf = false;
  if (const auto value = config_string("core.autocrlf")) {
    int on = 0;
    // "input" converts on add; a value git cannot read either counts as on.
    autocrlf = git_config_parse_bool(&on, value->c_str()) < 0 || on != 0;
  }
  if (!attributes_may_convert(m_impl->get(), workdir(), paths)) {
    return std::vector<bool>(paths.size(), autocrlf);
  }
  std::vector<bool> converts(paths.size(), false);
  constexpr size_t k_names = std::size(k_conversions);
  const char* names[k_names]; // libgit2 takes them as `const char**`
  std::copy(std::begin(k_conversions), std::end(k_conversions), names);
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const char* values[k_names] = {};
    check(git_attr_get_many(values, m_impl->get(), GIT_ATTR_CHECK_FILE_THEN_INDEX, paths[i].c_str(),
                            k_names, names),
          "reading the attributes of " + paths[i]);
    const bool text_unset = git_attr_value(values[0]) == GIT_ATTR_VALUE_FALSE ||
                            git_attr_value(values[1]) == GIT_ATTR_VALUE_FALSE;
    converts[i] =
        (autocrlf && !text_unset) || std::any_of(std::begin(values), std::end(values), is_set);
  }
  return converts;
}

namespace {

// One side of a file-level change, from a tree entry.
void side_of(const git_tree_entry* entry, std::string& id, Mode& mode) {
  id = to_hex(*git_tree_entry_id(entry));
  mode = mode_of(git_tree_entry_filemode(entry));
}

bool is_tree(const git_tree_entry* entry) {
  return git_tree_entry_type(entry) == GIT_OBJECT_TREE;
}

// Every file of two trees that differs, as `git diff-tree -r` finds them:
// a merge walk of both entry lists in git's order, descending only into
// subtrees whose ids differ. (libgit2's tree diff builds an iterator entry
// with a full path for every file of every changed folder: 10 times slower
// on folders of tens of thousands of files.)
class TreeDiff {
public:
  TreeDiff(git_repository* repo, std::vector<Change>& out) : m_repo(repo), m_out(out) {}

  void walk(const git_tree* a, const git_tree* b, const std::string& prefix) {
    const size_t na = a != nullptr ? git_tree_entrycount(a) : 0;
    const size_t nb = b != nullptr ? git_tree_entrycount(b) : 0;
    size_t i = 0;
    size_t j = 0;
    while (i < na || j < nb) {
      const git_tree_entry* x = i < na ? git_tree_entry_byindex(a, i) : nullptr;
      const git_tree_entry* y = j < nb ? git_tree_entry_byindex(b, j) : nullptr;
      int order = 0;
      if (x == nullptr) {
        order = 1;
      } else if (y == nullptr) {
        order = -1;
      } else {
        order = git_tree_entry_cmp(x, y); // git's order: a folder sorts as "name/"
      }
      if (order < 0) {
        one_side(x, nullptr, prefix);
        ++i;
      } else if (order > 0) {
        one_side(nullptr, y, prefix);
        ++j;
      } else {
        both(x, y, prefix);
        ++i;
        ++j;
      }
    }
  }

private:
  TreePtr lookup(const git_tree_entry* entry) {
    TreePtr tree;
    check(git_tree_lookup(out(tree), m_repo, git_tree_entry_id(entry)), "reading tree");
    return tree;
  }

  // An entry only one side has (the other is nullptr): every file under it.
  void one_side(const git_tree_entry* x, const git_tree_entry* y, const std::string& prefix) {
    const git_tree_entry* entry = x != nullptr ? x : y;
    const std::string path = prefix + git_tree_entry_name(entry);
    if (is_tree(entry)) {
      const TreePtr tree = lookup(entry);
      walk(x != nullptr ? tree.get() : nullptr, y != nullptr ? tree.get() : nullptr, path + "/");
      return;
    }
    Change change;
    change.path = path;
    if (x != nullptr) {
      change.status = Change::Status::removed;
      side_of(x, change.old_id, change.mode);
    } else {
      change.status = Change::Status::added;
      side_of(y, change.new_id, change.mode);
    }
    m_out.push_back(std::move(change));
  }

  // The same name on both sides.
  void both(const git_tree_entry* x, const git_tree_entry* y, const std::string& prefix) {
    if (git_oid_equal(git_tree_entry_id(x), git_tree_entry_id(y)) &&
        git_tree_entry_filemode(x) == git_tree_entry_filemode(y)) {
      return;
    }
    if (is_tree(x) != is_tree(y)) { // a file became a folder or back: both sides in full
      one_side(x, nullptr, prefix);
      one_side(nullptr, y, prefix);
      return;
    }
    const std::string path = prefix + git_tree_entry_name(x);
    if (is_tree(x)) {
      const TreePtr ta = lookup(x);
      const TreePtr tb = lookup(y);
      walk(ta.get(), tb.get(), path + "/");
      return;
    }
    Change change;
    change.status = Change::Status::modified;
    change.path = path;
    Mode old_mode = Mode::regular;
    side_of(x, change.old_id, old_mode);
    side_of(y, change.new_id, change.mode);
    m_out.push_back(std::move(change));
  }

  git_repository* m_repo;
  std::vector<Change>& m_out;
};

} // namespace

std::vector<Change> Repository::diff_trees(const std::string& from, const std::string& to) const {
  TreePtr a;
  TreePtr b;
  if (!from.empty()) {
    a = m_impl->tree(from);
  }
  if (!to.empty()) {
    b = m_impl->tree(to);
  }
  std::vector<Change> changes;
  if (a != nullptr && b != nullptr && git_oid_equal(git_tree_id(a.get()), git_tree_id(b.get()))) {
    return changes;
  }
  TreeDiff(m_impl->get(), changes).walk(a.get(), b.get(), "");
  std::sort(changes.begin(), changes.end(),
            [](const Change& x, const Change& y) { return x.path < y.path; });
  return changes;
}

bool Repository::is_ancestor(const std::string& ancestor, const std::string& descendant) const {
  if (ancestor == descendant) {
    return true; // libgit2 does not count a commit as its own descendant
  }
  const git_oid a = from_hex(ancestor);
  const git_oid d = from_hex(descendant);
  const int rc = git_graph_descendant_of(m_impl->get(), &d, &a);
  check(rc, "comparing " + descendant + " with " + ancestor);
  return rc == 1;
}

namespace {

// A walk of the history of commit `to`, newest first, parents after children.
RevwalkPtr walk_from(git_repository* repo, const std::string& to) {
  RevwalkPtr walk;
  check(git_revwalk_new(out(walk), repo), "walking history");
  git_revwalk_sorting(walk.get(), GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME);
  const git_oid to_oid = from_hex(to);
  check(git_revwalk_push(walk.get(), &to_oid), "walking from " + to);
  return walk;
}

// The ids `walk` yields, in its order.
std::vector<std::string> walked_ids(git_revwalk* walk) {
  std::vector<std::string> ids;
  git_oid oid;
  while (git_revwalk_next(&oid, walk) == 0) {
    ids.push_back(to_hex(oid));
  }
  return ids;
}

} // namespace

std::vector<std::string> Repository::commits_between(const std::string& from,
                                                     const std::string& to) const {
  const RevwalkPtr walk = walk_from(m_impl->get(), to);
  if (!from.empty()) {
    const git_oid from_oid = from_hex(from);
    check(git_revwalk_hide(walk.get(), &from_oid), "walking to " + from);
  }
  return walked_ids(walk.get());
}

std::vector<std::string> Repository::commits_excluding(const std::string& to,
                                                       const std::vector<std::string>& hidden) const {
  const RevwalkPtr walk = walk_from(m_impl->get(), to);
  for (const auto& id : hidden) {
    const git_oid oid = from_hex(id);
    ObjectPtr object;
    if (git_object_lookup(out(object), m_impl->get(), &oid, GIT_OBJECT_COMMIT) < 0) {
      continue; // a ref may point at a tag, tree or blob: nothing to hide
    }
    check(git_revwalk_hide(walk.get(), &oid), "walking to " + id);
  }
  return walked_ids(walk.get());
}

std::string Repository::write_blob(std::string_view data) {
  git_oid oid;
  check(git_blob_create_from_buffer(&oid, m_impl->get(), data.data(), data.size()),
        "writing blob");
  util::fault_point("blob-written");
  return to_hex(oid);
}

std::string Repository::write_tree(const std::map<std::string, NewFile>& files) {
  return update_tree("", files);
}

std::string Repository::update_tree(const std::string& base,
                                    const std::map<std::string, NewFile>& files,
                                    const std::vector<std::string>& removed) {
  TreePtr baseline;
  if (base.empty()) {
    TreeBuilderPtr builder;
    check(git_treebuilder_new(out(builder), m_impl->get(), nullptr), "building tree");
    git_oid empty;
    check(git_treebuilder_write(&empty, builder.get()), "writing empty tree");
    check(git_tree_lookup(out(baseline), m_impl->get(), &empty), "reading empty tree");
  } else {
    baseline = m_impl->tree(base);
  }
  std::vector<git_tree_update> updates;
  updates.reserve(files.size() + removed.size());
  for (const auto& [path, file] : files) {
    git_tree_update u{};
    u.action = GIT_TREE_UPDATE_UPSERT;
    u.id = from_hex(file.id);
    u.filemode = filemode_of(file.mode);
    u.path = path.c_str();
    updates.push_back(u);
  }
  for (const auto& path : removed) {
    git_tree_update u{};
    u.action = GIT_TREE_UPDATE_REMOVE;
    u.path = path.c_str();
    updates.push_back(u);
  }
  git_oid oid;
  check(git_tree_create_updated(&oid, m_impl->get(), baseline.get(), updates.size(),
                                updates.data()),
        "writing tree");
  util::fault_point("tree-written");
  return to_hex(oid);
}

std::string Repository::write_commit(const std::string& tree,
                                     const std::vector<std::string>& parents,
                                     const std::string& message, const Person& author,
                                     std::optional<std::int64_t> time) {
  const SignaturePtr sig = m_impl->signature(author, time);
  const TreePtr tree_object = m_impl->tree(tree);
  std::vector<CommitPtr> parent_objects;
  std::vector<const git_commit*> parent_pointers;
  for (const auto& parent : parents) {
    CommitPtr commit;
    const git_oid oid = from_hex(parent);
    check(git_commit_lookup(out(commit), m_impl->get(), &oid), "reading commit " + parent);
    parent_pointers.push_back(commit.get());
    parent_objects.push_back(std::move(commit));
  }
  // The commit's text, then an odb write: libgit2 1.5's git_commit_create
  // returns 0 when the object database fails to store it (a read-only or
  // full objects folder), and a ref would then point at a missing commit.
  git_buf text = GIT_BUF_INIT;
  const int rc = git_commit_create_buffer(&text, m_impl->get(), sig.get(), sig.get(), nullptr,
                                          message.c_str(), tree_object.get(),
                                          parent_pointers.size(), parent_pointers.data());
  std::unique_ptr<git_buf, Deleter<git_buf_dispose>> owned(&text);
  check(rc, "writing commit");
  OdbPtr odb;
  check(git_repository_odb(out(odb), m_impl->get()), "opening object database");
  git_oid oid;
  check(git_odb_write(&oid, odb.get(), text.ptr, text.size, GIT_OBJECT_COMMIT), "writing commit");
  util::fault_point("commit-written");
  return to_hex(oid);
}

std::string Repository::write_tag_object(std::string_view raw) {
  OdbPtr odb;
  check(git_repository_odb(out(odb), m_impl->get()), "opening object database");
  git_oid oid;
  check(git_odb_write(&oid, odb.get(), raw.data(), raw.size(), GIT_OBJECT_TAG), "writing tag");
  util::fault_point("tag-written");
  return to_hex(oid);
}

std::optional<TagInfo> Repository::tag(const std::string& id) const {
  OdbPtr odb;
  check(git_repository_odb(out(odb), m_impl->get()), "opening object database");
  git_oid oid;
  if (id.size() != GIT_OID_HEXSZ || git_oid_fromstr(&oid, id.c_str()) < 0) {
    return std::nullopt;
  }
  std::unique_ptr<git_odb_object, Deleter<git_odb_object_free>> object;
  const int rc = git_odb_read(out(object), odb.get(), &oid);
  if (rc < 0 || git_odb_object_type(object.get()) != GIT_OBJECT_TAG) {
    return std::nullopt;
  }
  TagInfo info;
  info.id = id;
  info.raw.assign(static_cast<const char*>(git_odb_object_data(object.get())),
                  git_odb_object_size(object.get()));
  const size_t blank = info.raw.find("\n\n");
  const std::string headers = info.raw.substr(0, blank);
  info.message = blank == std::string::npos ? "" : info.raw.substr(blank + 2);
  size_t start = 0;
  while (start < headers.size()) {
    size_t end = headers.find('\n', start);
    if (end == std::string::npos) {
      end = headers.size();
    }
    const std::string line = headers.substr(start, end - start);
    start = end + 1;
    const size_t space = line.find(' ');
    const std::string key = line.substr(0, space);
    const std::string value = space == std::string::npos ? "" : line.substr(space + 1);
    if (key == "object") {
      info.target = value;
    } else if (key == "type") {
      info.target_type = value;
    } else if (key == "tag") {
      info.name = value;
    } else if (key == "tagger") {
      const size_t lt = value.find(" <");
      const size_t gt = value.find("> ");
      if (lt != std::string::npos && gt != std::string::npos) {
        info.tagger.name = value.substr(0, lt);
        info.tagger.email = value.substr(lt + 2, gt - lt - 2);
        info.time = std::strtoll(value.c_str() + gt + 2, nullptr, 10);
      }
    }
  }
  return info;
}

namespace {

// The lock file libgit2 (and git) create to update `ref`.
std::string lock_file_of(const Repository& repo, const std::string& ref) {
  const bool shared = ref.starts_with("refs/");
  return (shared ? repo.common_dir() : repo.git_dir()) + ref + ".lock";
}

// True when `lock` was last written longer ago than update_refs waits.
bool older_than_wait(const std::string& lock) {
  std::error_code error;
  const auto written = std::filesystem::last_write_time(lock, error);
  return !error && std::filesystem::file_time_type::clock::now() - written > std::chrono::seconds(5);
}

// A ref transaction needs a little room (a lock file and a reflog line per
// ref). libgit2 commits ref by ref, so running out of space half-way would
// leave some refs moved and others not: refuse before the first lock instead.
void require_room(const std::string& dir, std::size_t refs) {
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) {
    return; // nothing to go by: let the writes report
  }
  const std::uint64_t need = (64 + 16 * std::uint64_t{refs}) * 1024;
  const std::uint64_t free = std::uint64_t{fs.f_bavail} * fs.f_frsize;
  const bool inodes = fs.f_files == 0 || fs.f_favail >= 2 * refs + 8;
  if (free < need || !inodes) {
    throw util::IoError("cannot move refs: No space left on device (" +
                        std::to_string(free / 1024) + " KiB free on the file system of " + dir +
                        (inodes ? "" : ", no inodes left") + "; a ref update needs " +
                        std::to_string(need / 1024) + " KiB so that it cannot stop half-way); " +
                        "free some space and run the command again; no ref was changed");
  }
}

} // namespace

void Repository::update_refs(const std::vector<RefUpdate>& updates,
                             const std::string& reflog_message) {
  require_room(common_dir(), updates.size());
  TransactionPtr tx;
  check(git_transaction_new(out(tx), m_impl->get()), "starting ref transaction");
  for (auto update = updates.begin(); update != updates.end(); ++update) {
    // Another envflow (or git) holds the lock only for the moment of its own
    // transaction: wait for it, with growing pauses, for up to ~5 seconds;
    // a lock already older than that is not going away by waiting.
    const std::string lock = lock_file_of(*this, update->name);
    int rc = 0;
    for (int attempt = 0;; ++attempt) {
      rc = git_transaction_lock_ref(tx.get(), update->name.c_str());
      if (rc != GIT_ELOCKED || attempt >= 60 || (attempt == 0 && older_than_wait(lock))) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(5 + attempt * 5, 150)));
    }
    if (rc == GIT_ELOCKED) {
      // Name every lock in the way, not one per run (the earlier ones are ours).
      std::vector<std::string> locks{lock};
      for (auto later = update + 1; later != updates.end(); ++later) {
        std::string other = lock_file_of(*this, later->name);
        if (std::filesystem::exists(other)) {
          locks.push_back(std::move(other));
        }
      }
      throw util::RefLocked(update->name, std::move(locks));
    }
    check(rc, "locking " + update->name);
  }
  // Every ref is locked: what we read now cannot change before we commit.
  for (const auto& update : updates) {
    const std::optional<std::string> current = ref_target(update.name);
    if (current != update.expected) {
      throw util::RefConflict(update.name, update.name + " moved: expected " +
                                               update.expected.value_or("(absent)") + ", found " +
                                               current.value_or("(absent)"));
    }
  }
  const SignaturePtr sig = m_impl->signature(default_person(), std::nullopt);
  for (const auto& update : updates) {
    if (update.target) {
      const git_oid oid = from_hex(*update.target);
      check(git_transaction_set_target(tx.get(), update.name.c_str(), &oid, sig.get(),
                                       reflog_message.c_str()),
            "updating " + update.name);
    } else {
      check(git_transaction_remove(tx.get(), update.name.c_str()), "deleting " + update.name);
    }
  }
  util::fault_point("refs-locked"); // lock files written, no ref moved yet
  if (git_transaction_commit(tx.get()) < 0) {
    // libgit2 commits ref by ref: say which moved if it stopped half-way.
    const std::string cause = "committing ref transaction: " + last_error();
    std::vector<std::string> moved;
    std::vector<std::string> kept;
    for (const auto& update : updates) {
      (ref_target(update.name) == update.target ? moved : kept).push_back(update.name);
    }
    if (moved.empty()) {
      throw util::IoError(cause);
    }
    throw util::IoError(cause + "; it stopped half-way: " + util::join(moved, ", ") +
                        " moved, " + util::join(kept, ", ") + " did not; envflow doctor says " +
                        "how to mend it");
  }
  util::fault_point("refs-committed");
}

void Repository::checkout_branch(const std::string& branch, const std::string& baseline) {
  const std::string ref = "refs/heads/" + branch;
  const auto target = ref_target(ref);
  if (!target) {
    throw util::IoError("checking out " + branch + ": no such branch");
  }
  // Like git: update the working tree and index from what they match now
  // (HEAD's tree, or `baseline`) to the branch's tree, and only then move
  // HEAD; the other order would leave the old files staged on the branch.
  std::string from = baseline;
  if (from.empty() && !head_unborn()) {
    from = resolve_commit("HEAD").value_or("");
  }
  git_checkout_options options = GIT_CHECKOUT_OPTIONS_INIT;
  options.checkout_strategy = GIT_CHECKOUT_SAFE;
  TreePtr base_tree;
  if (!from.empty()) {
    base_tree = m_impl->tree(from);
    options.baseline = base_tree.get();
  }
  const TreePtr tree = m_impl->tree(*target);
  check(git_checkout_tree(m_impl->get(), reinterpret_cast<const git_object*>(tree.get()), &options),
        "checking out " + branch);
  util::fault_point("worktree-written"); // files and index updated, HEAD not moved yet
  check(git_repository_set_head(m_impl->get(), ref.c_str()), "switching to " + branch);
}

std::vector<std::string> Repository::dirty_paths() const {
  git_status_options options = GIT_STATUS_OPTIONS_INIT;
  options.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
  options.flags = GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
  StatusListPtr list;
  check(git_status_list_new(out(list), m_impl->get(), &options), "reading status");
  std::vector<std::string> paths;
  const size_t count = git_status_list_entrycount(list.get());
  for (size_t i = 0; i < count; ++i) {
    const git_status_entry* entry = git_status_byindex(list.get(), i);
    const git_diff_delta* delta =
        entry->head_to_index != nullptr ? entry->head_to_index : entry->index_to_workdir;
    if (delta != nullptr && delta->new_file.path != nullptr) {
      paths.emplace_back(delta->new_file.path);
    }
  }
  return paths;
}

std::optional<std::string> Repository::config_string(const std::string& key) const {
  ConfigPtr config;
  check(git_repository_config_snapshot(out(config), m_impl->get()), "reading git config");
  const char* value = nullptr;
  if (git_config_get_string(&value, config.get(), key.c_str()) < 0 || value == nullptr) {
    return std::nullopt;
  }
  return std::string(value);
}

void Repository::set_config_string(const std::string& key, const std::string& value) {
  ConfigPtr config;
  check(git_repository_config(out(config), m_impl->get()), "opening git config");
  check(git_config_set_string(config.get(), key.c_str(), value.c_str()), "writing " + key);
}

Person Repository::default_person() const {
  Person person{config_string("user.name").value_or(""), config_string("user.email").value_or("")};
  if (person.email.empty()) {
    person.email = "envflow@localhost";
  }
  if (person.name.empty()) {
    person.name = person.email;
  }
  return person;
}

MergeResult Repository::merge_commits(const std::string& ours, const std::string& theirs) {
  CommitPtr our_commit;
  CommitPtr their_commit;
  const git_oid our_oid = from_hex(ours);
  const git_oid their_oid = from_hex(theirs);
  check(git_commit_lookup(out(our_commit), m_impl->get(), &our_oid), "reading commit " + ours);
  check(git_commit_lookup(out(their_commit), m_impl->get(), &their_oid),
        "reading commit " + theirs);
  git_merge_options options = GIT_MERGE_OPTIONS_INIT;
  IndexPtr index;
  check(git_merge_commits(out(index), m_impl->get(), our_commit.get(), their_commit.get(),
                          &options),
        "merging " + theirs + " into " + ours);
  MergeResult result;
  if (git_index_has_conflicts(index.get()) != 0) {
    std::unique_ptr<git_index_conflict_iterator, Deleter<git_index_conflict_iterator_free>>
        iterator;
    check(git_index_conflict_iterator_new(out(iterator), index.get()), "listing conflicts");
    const git_index_entry* ancestor = nullptr;
    const git_index_entry* our = nullptr;
    const git_index_entry* their = nullptr;
    while (git_index_conflict_next(&ancestor, &our, &their, iterator.get()) == 0) {
      const git_index_entry* any = our != nullptr ? our : their != nullptr ? their : ancestor;
      if (any != nullptr && any->path != nullptr) {
        result.conflicts.emplace_back(any->path);
      }
    }
    std::sort(result.conflicts.begin(), result.conflicts.end());
    result.conflicts.erase(std::unique(result.conflicts.begin(), result.conflicts.end()),
                           result.conflicts.end());
    return result;
  }
  git_oid tree;
  check(git_index_write_tree_to(&tree, index.get(), m_impl->get()), "writing the merged tree");
  util::fault_point("tree-written");
  result.tree = to_hex(tree);
  return result;
}

void Repository::checkout_commit_over(const std::string& commit, const std::string& baseline) {
  const TreePtr target = m_impl->tree(commit);
  const TreePtr base = m_impl->tree(baseline);
  git_checkout_options options = GIT_CHECKOUT_OPTIONS_INIT;
  options.checkout_strategy = GIT_CHECKOUT_SAFE;
  options.baseline = base.get();
  check(git_checkout_tree(m_impl->get(), reinterpret_cast<const git_object*>(target.get()),
                          &options),
        "checking out " + commit);
  util::fault_point("worktree-written");
}

std::vector<TreeEntry> Repository::list_tree_ids(const std::string& commit_or_tree) const {
  std::vector<TreeEntry> entries;
  std::string path;
  std::function<void(const git_tree*)> walk = [&](const git_tree* tree) {
    const std::size_t prefix = path.size();
    const size_t count = git_tree_entrycount(tree);
    for (size_t i = 0; i < count; ++i) {
      const git_tree_entry* entry = git_tree_entry_byindex(tree, i);
      path.resize(prefix);
      path += git_tree_entry_name(entry);
      const Mode mode = mode_of(git_tree_entry_filemode(entry));
      if (mode == Mode::tree) {
        TreePtr sub;
        check(git_tree_lookup(out(sub), m_impl->get(), git_tree_entry_id(entry)),
              "reading tree " + path);
        path += '/';
        walk(sub.get());
        continue;
      }
      entries.push_back(TreeEntry{path, mode, to_hex(*git_tree_entry_id(entry)), 0});
    }
    path.resize(prefix);
  };
  const TreePtr root = m_impl->tree(commit_or_tree);
  walk(root.get());
  std::sort(entries.begin(), entries.end(),
            [](const TreeEntry& a, const TreeEntry& b) { return a.path < b.path; });
  return entries;
}

std::uint64_t Repository::blob_size(const std::string& id) const {
  OdbPtr odb;
  check(git_repository_odb(out(odb), m_impl->get()), "opening object database");
  const git_oid oid = from_hex(id);
  size_t size = 0;
  git_object_t type = GIT_OBJECT_INVALID;
  check(git_odb_read_header(&size, &type, odb.get(), &oid), "reading blob " + id);
  return size;
}

} // namespace envflow::git
