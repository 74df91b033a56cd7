#include "git/repo.h"

#include <algorithm>
#include <fstream>
#include <iterator>

#include <sys/stat.h>

#include "git/handle.h"
#include "util/fault.h"
#include "util/strings.h"

namespace envflow::git {

using namespace detail;

bool Repository::is_ignored(const std::string& path) const {
  int ignored = 0;
  check(git_ignore_path_is_ignored(&ignored, m_impl->get(), path.c_str()), "reading .gitignore");
  return ignored != 0;
}

namespace {

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

} // namespace envflow::git
