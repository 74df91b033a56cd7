#include "git/repo.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "git/handle.h"
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

std::string with_slash(const char* path) {
  std::string s = path != nullptr ? path : "";
  if (!s.empty() && s.back() != '/') {
    s += '/';
  }
  return s;
}

} // namespace

TreePtr Repository::Impl::tree(const std::string& commit_or_tree) const {
  ObjectPtr object;
  const git_oid oid = from_hex(commit_or_tree);
  check(git_object_lookup(out(object), get(), &oid, GIT_OBJECT_ANY),
        "reading object " + commit_or_tree);
  ObjectPtr peeled;
  check(git_object_peel(out(peeled), object.get(), GIT_OBJECT_TREE),
        "reading tree of " + commit_or_tree);
  return TreePtr(reinterpret_cast<git_tree*>(peeled.release()));
}

SignaturePtr Repository::Impl::signature(const Person& person,
                                        std::optional<std::int64_t> time) const {
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
  for (const std::string& line : util::split(headers, '\n')) {
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
