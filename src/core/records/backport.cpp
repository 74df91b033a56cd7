#include "core/records/backport.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>

#include <nlohmann/json.hpp>

#include "content/schema.h"
#include "content/validator.h"
#include "content/yaml.h"
#include "content/yaml_writer.h"
#include "core/model/audit.h"
#include "core/workspace/memo.h"
#include "core/workspace/sources.h"
#include "util/error.h"
#include "util/json.h"
#include "util/process.h"
#include "util/strings.h"
#include "util/time.h"

namespace envflow::core::records {

namespace {

using content::Value;

constexpr const char* k_rule = "backport";

git::Person person_of(const std::string& actor) {
  return git::Person{actor.empty() ? "envflow" : actor,
                     actor.find('@') != std::string::npos ? actor : "envflow@localhost"};
}

std::optional<std::int64_t> parse_iso_time(const std::string& text) {
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  char zone = 0;
  // Exactly the digits iso_time writes (sscanf alone would take signs and
  // spaces), and years iso_time writes back as four digits.
  constexpr std::string_view k_shape = "dddd-dd-ddTdd:dd:ddZ";
  for (size_t i = 0; i < text.size() && i < k_shape.size(); ++i) {
    if (k_shape[i] == 'd' ? !(text[i] >= '0' && text[i] <= '9') : text[i] != k_shape[i]) {
      return std::nullopt;
    }
  }
  if (text.size() != 20 ||
      std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &year, &month, &day, &hour, &minute,
                  &second, &zone) != 7 ||
      zone != 'Z' || year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 ||
      minute > 59 || second > 60) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<std::int64_t>(timegm(&tm));
}

// Reads one stored record, throwing util::Refused with the position of the
// first problem.
class RecordReader {
public:
  explicit RecordReader(std::string where) : m_where(std::move(where)) {}

  [[noreturn]] void fail(const content::Mark& mark, const std::string& message) const {
    const content::Diagnostic d{m_where, mark, content::Severity::error,
                                message + "; repair the file on " +
                                    std::string(model::k_backports_ref) +
                                    " (every issue is a YAML file written by envflow)",
                                k_rule};
    throw util::Refused(d.to_text());
  }

  const Value& required(const Value& map, const std::string& key) const {
    const Value* value = map.find(key);
    if (value == nullptr) {
      fail(map.mark, "missing field '" + key + "'");
    }
    return *value;
  }

  std::string string(const Value& map, const std::string& key, bool allow_null = false) const {
    const Value& value = required(map, key);
    if (allow_null && value.is_null()) {
      return {};
    }
    if (!value.is_scalar() || value.is_null()) {
      fail(value.mark, "'" + key + "' must be a string" + (allow_null ? " or null" : ""));
    }
    return value.string;
  }

  std::string object_id(const Value& value, const std::string& what) const {
    if (!value.is_scalar() || !model::is_object_id(value.string)) {
      fail(value.mark, what + " must be a commit id (40 lowercase hex digits)");
    }
    return value.string;
  }

  std::int64_t time(const Value& map, const std::string& key, bool allow_null) const {
    const std::string text = string(map, key, allow_null);
    if (text.empty() && allow_null) {
      return 0;
    }
    const auto parsed = parse_iso_time(text);
    if (!parsed) {
      fail(required(map, key).mark,
           "'" + key + "' must be a UTC time like 2026-01-31T12:00:00Z, not '" + text + "'");
    }
    return *parsed;
  }

  const Value& sequence(const Value& map, const std::string& key) const {
    const Value& value = required(map, key);
    if (!value.is_sequence()) {
      fail(value.mark, "'" + key + "' must be a list");
    }
    return value;
  }

  std::vector<std::string> strings(const Value& map, const std::string& key) const {
    std::vector<std::string> out;
    for (const Value& item : sequence(map, key).items) {
      if (!item.is_scalar() || item.is_null()) {
        fail(item.mark, "every entry of '" + key + "' must be a string");
      }
      out.push_back(item.string);
    }
    return out;
  }

private:
  std::string m_where;
};

} // namespace

namespace {

// Parsed issues remembered by blob id (core/workspace/memo.h), in their JSON
// form: with 1,000 issues, status and backport list would otherwise parse
// every file on every run. Only issues that parsed are remembered; a
// malformed file is read (and refused) each time.
void remember_issue(workspace::ObjectMemo& memo, const std::string& blob,
                    const BackportIssue& issue) {
  memo.insert(blob, issue.to_json());
}

std::optional<BackportIssue> remembered_issue(workspace::ObjectMemo& memo,
                                              const std::string& blob) {
  const nlohmann::json* known = memo.find(blob);
  return known == nullptr ? std::nullopt : BackportIssue::from_json(*known);
}

// Phase of read_backports_at: the files of back-port commit `head`, from
// `heads` (the open ones, remembered per commit) when it knows them, else
// from the tree; `listed` says which.
std::vector<git::TreeEntry> backport_files(const git::Repository& repo, const std::string& head,
                                           workspace::ObjectMemo& heads, bool& listed) {
  std::vector<git::TreeEntry> entries;
  listed = false;
  if (const nlohmann::json* known = heads.find(head)) {
    try {
      for (const auto& pair : *known) {
        git::TreeEntry entry;
        entry.path = pair.at(0).get<std::string>();
        entry.id = pair.at(1).get<std::string>();
        entries.push_back(std::move(entry));
      }
      listed = true;
    } catch (const nlohmann::json::exception&) {
      entries.clear();
    }
  }
  if (!listed) {
    entries = repo.list_tree(head);
  }
  return entries;
}

// Phase of read_backports_at: the issue file `entry` holds, parsed (and
// remembered) unless `memo` knows it; throws util::Refused for a malformed
// file or one named after another issue.
BackportIssue read_issue_file(const git::Repository& repo, workspace::ObjectMemo& memo,
                              const git::TreeEntry& entry) {
  const std::string where = std::string(model::k_backports_ref) + ":" + entry.path;
  BackportIssue issue = BackportIssue::parse(repo.read_blob(entry.id), where);
  if (issue.file_name() != entry.path) {
    throw util::Refused(where + ":1:1: error: the file holds issue " + std::to_string(issue.id) +
                        " but is named " + entry.path + "; repair the file on " +
                        model::k_backports_ref + " [" + k_rule + "]");
  }
  remember_issue(memo, entry.id, issue);
  memo.insert("open:" + entry.id, issue.is_open());
  return issue;
}

} // namespace

std::vector<BackportIssue> read_backports_at(const git::Repository& repo,
                                             const content::ResultCache* cache,
                                             const std::optional<std::string>& head,
                                             BackportsRead which) {
  std::vector<BackportIssue> issues;
  if (!head) {
    return issues;
  }
  workspace::ObjectMemo memo(repo, "backports-2", cache);
  // Reading the open ones only: which files hold open issues is remembered
  // per back-port commit too (a small file of its own), so a pipeline with
  // 1,000 closed issues and none open reads no issue at all.
  workspace::ObjectMemo heads(which == BackportsRead::open
                                  ? workspace::ObjectMemo(repo, "backports-open-1", cache)
                                  : workspace::ObjectMemo(std::string()));
  bool listed = false;
  const std::vector<git::TreeEntry> entries = backport_files(repo, *head, heads, listed);
  nlohmann::json open_entries = nlohmann::json::array();
  for (const auto& entry : entries) {
    if (entry.path.find('/') != std::string::npos || !util::ends_with(entry.path, ".yaml")) {
      continue;
    }
    if (which == BackportsRead::open) {
      // "open:<blob>" remembers whether the file holds an open issue.
      if (const nlohmann::json* open = memo.find("open:" + entry.id);
          open != nullptr && open->is_boolean() && !open->get<bool>()) {
        continue;
      }
    }
    if (std::optional<BackportIssue> known = remembered_issue(memo, entry.id)) {
      if (known->file_name() == entry.path) {
        if (known->is_open()) {
          open_entries.push_back({entry.path, entry.id});
        }
        issues.push_back(std::move(*known));
        continue;
      }
    }
    BackportIssue issue = read_issue_file(repo, memo, entry);
    if (issue.is_open()) {
      open_entries.push_back({entry.path, entry.id});
    } else if (which == BackportsRead::open) {
      continue;
    }
    issues.push_back(std::move(issue));
  }
  if (which == BackportsRead::open && !listed) {
    heads.insert(*head, std::move(open_entries));
  }
  std::sort(issues.begin(), issues.end(),
            [](const BackportIssue& a, const BackportIssue& b) { return a.id < b.id; });
  return issues;
}

namespace {

// Close, in memory, the open issues the first environment already contains.
std::vector<size_t> close_reachable(const git::Repository& repo,
                                    const std::optional<std::string>& first_head,
                                    std::vector<BackportIssue>& issues, std::int64_t time) {
  std::vector<size_t> closed;
  if (!first_head) {
    return closed;
  }
  for (size_t i = 0; i < issues.size(); ++i) {
    BackportIssue& issue = issues[i];
    if (issue.is_open() && contains_hotfix(repo, issue, *first_head)) {
      issue.status = BackportIssue::Status::closed;
      issue.closed_by = "auto";
      issue.closed_at = time;
      issue.closed_in = *first_head;
      closed.push_back(i);
    }
  }
  return closed;
}

std::string ids_text(const std::vector<BackportIssue>& issues) {
  std::vector<std::string> ids;
  for (const auto& issue : issues) {
    ids.push_back(std::to_string(issue.id));
  }
  return util::join(ids, ", ");
}

} // namespace

std::string sync_chain(const policy::PipelineConfig& config) {
  std::vector<std::string> steps;
  for (size_t i = 0; i + 1 < config.environments.size(); ++i) {
    steps.push_back("envflow sync " + config.environments[i].name);
  }
  return util::join(steps, ", then ");
}

std::string status_name(BackportIssue::Status status) {
  return status == BackportIssue::Status::open ? "open" : "closed";
}

std::string BackportIssue::file_name() const { return std::to_string(id) + ".yaml"; }

std::string BackportIssue::to_yaml() const {
  using content::Layout;
  using content::Quote;
  content::YamlWriter out;
  out.comment("envflow back-port issue (written by envflow; see docs/commands/backport.md)");
  out.begin_map();
  out.key("id").integer(id);
  out.key("status").string(status_name(status));
  out.key("hotfix").string(hotfix, Quote::always);
  out.key("hotfix_tag").string(hotfix_tag, Quote::always);
  out.key("summary").string(summary, Quote::always);
  out.key("environment").string(environment, Quote::always);
  out.key("target").string(target, Quote::always);
  out.key("commits").strings(commits, Quote::always, Layout::block);
  out.key("changes").begin_seq(changes.empty() ? Layout::flow : Layout::block);
  for (const auto& change : changes) {
    out.begin_map();
    out.key("path").string(change.path, Quote::always);
    out.key("kind").string(change.kind, Quote::always);
    out.key("name").string(change.name, Quote::always);
    out.key("change").string(change.change, Quote::always);
    out.key("fields").strings(change.fields, Quote::always, Layout::block);
    out.end_map();
  }
  out.end_seq();
  out.key("opened_by").string(opened_by, Quote::always);
  out.key("opened_at").string(util::iso_time(opened_at), Quote::always);
  out.key("closed_by").string_or_null(closed_by, Quote::always);
  out.key("closed_at").string_or_null(closed_at == 0 ? "" : util::iso_time(closed_at),
                                      Quote::always);
  out.key("closed_in").string_or_null(closed_in, Quote::always);
  out.end_map();
  return out.text();
}

nlohmann::json BackportIssue::to_json() const {
  nlohmann::json change_list = nlohmann::json::array();
  for (const auto& change : changes) {
    change_list.push_back({{"path", change.path},
                           {"kind", change.kind},
                           {"name", change.name},
                           {"change", change.change},
                           {"fields", change.fields}});
  }
  const auto or_null = [](const std::string& text) {
    return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
  };
  return {{"id", id},
          {"status", status_name(status)},
          {"hotfix", hotfix},
          {"hotfix_tag", hotfix_tag},
          {"summary", summary},
          {"environment", environment},
          {"target", target},
          {"commits", commits},
          {"changes", change_list},
          {"opened_by", opened_by},
          {"opened_at", util::iso_time(opened_at)},
          {"closed_by", or_null(closed_by)},
          {"closed_at", closed_at == 0 ? nlohmann::json(nullptr) : nlohmann::json(util::iso_time(closed_at))},
          {"closed_in", or_null(closed_in)}};
}

std::optional<BackportIssue> BackportIssue::from_json(const nlohmann::json& json) {
  const auto text = [&](const char* key) {
    const nlohmann::json& value = json.at(key);
    return value.is_null() ? std::string() : value.get<std::string>();
  };
  // A time, or 0 for null; nullopt when it is no time iso_time writes.
  const auto time = [&](const char* key) {
    const std::string iso = text(key);
    return iso.empty() ? std::optional<std::int64_t>(0) : parse_iso_time(iso);
  };
  try {
    BackportIssue issue;
    issue.id = json.at("id").get<int>();
    const std::string status = text("status");
    if (status != "open" && status != "closed") {
      return std::nullopt;
    }
    issue.status = status == "open" ? Status::open : Status::closed;
    issue.hotfix = text("hotfix");
    issue.hotfix_tag = text("hotfix_tag");
    issue.summary = text("summary");
    issue.environment = text("environment");
    issue.target = text("target");
    issue.commits = json.at("commits").get<std::vector<std::string>>();
    for (const auto& change : json.at("changes")) {
      issue.changes.push_back(BackportChange{
          change.at("path").get<std::string>(), change.at("kind").get<std::string>(),
          change.at("name").get<std::string>(), change.at("change").get<std::string>(),
          change.at("fields").get<std::vector<std::string>>()});
    }
    issue.opened_by = text("opened_by");
    issue.closed_by = text("closed_by");
    issue.closed_in = text("closed_in");
    const auto opened_at = time("opened_at");
    const auto closed_at = time("closed_at");
    if (!opened_at || !closed_at) {
      return std::nullopt;
    }
    issue.opened_at = *opened_at;
    issue.closed_at = *closed_at;
    return issue;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

BackportIssue BackportIssue::parse(const std::string& text, const std::string& where) {
  const content::YamlResult loaded = content::load_yaml(text, where);
  if (!loaded.value) {
    const std::string first =
        loaded.diagnostics.empty() ? where + ":1:1: error: not YAML" : loaded.diagnostics[0].to_text();
    throw util::Refused(first + "\n(a malformed back-port issue; repair the file on " +
                        std::string(model::k_backports_ref) + ")");
  }
  if (!loaded.diagnostics.empty()) {
    throw util::Refused(loaded.diagnostics[0].to_text());
  }
  const Value& root = *loaded.value;
  const RecordReader r(where);
  if (!root.is_mapping()) {
    r.fail(root.mark, "a back-port issue must be a mapping of fields");
  }
  BackportIssue issue;
  const Value& id = r.required(root, "id");
  if (id.type != Value::Type::integer || id.integer < 1 || id.integer > 1'000'000'000) {
    r.fail(id.mark, "'id' must be a positive integer");
  }
  issue.id = static_cast<int>(id.integer);
  const std::string status = r.string(root, "status");
  if (status == "open") {
    issue.status = Status::open;
  } else if (status == "closed") {
    issue.status = Status::closed;
  } else {
    r.fail(r.required(root, "status").mark, "'status' must be open or closed, not '" + status + "'");
  }
  issue.hotfix = root.find("hotfix") != nullptr ? r.string(root, "hotfix", true) : "";
  issue.hotfix_tag = r.string(root, "hotfix_tag");
  issue.summary = root.find("summary") != nullptr ? r.string(root, "summary", true) : "";
  issue.environment = r.string(root, "environment");
  issue.target = r.string(root, "target");
  const Value& commits = r.sequence(root, "commits");
  if (commits.items.empty()) {
    r.fail(commits.mark, "'commits' must list at least one hotfix commit");
  }
  for (const Value& item : commits.items) {
    issue.commits.push_back(r.object_id(item, "every entry of 'commits'"));
  }
  for (const Value& item : r.sequence(root, "changes").items) {
    if (!item.is_mapping()) {
      r.fail(item.mark, "every entry of 'changes' must be a mapping (path, kind, name, fields)");
    }
    BackportChange change;
    change.path = r.string(item, "path");
    change.kind = r.string(item, "kind");
    change.name = r.string(item, "name");
    change.change = item.find("change") != nullptr ? r.string(item, "change") : "changed";
    if (change.change != "added" && change.change != "removed" && change.change != "changed") {
      r.fail(item.find("change")->mark,
             "'change' must be added, removed or changed, not '" + change.change + "'");
    }
    change.fields = r.strings(item, "fields");
    issue.changes.push_back(std::move(change));
  }
  issue.opened_by = r.string(root, "opened_by");
  issue.opened_at = r.time(root, "opened_at", false);
  issue.closed_by = r.string(root, "closed_by", true);
  issue.closed_at = r.time(root, "closed_at", true);
  if (const Value* closed_in = root.find("closed_in"); closed_in != nullptr && !closed_in->is_null()) {
    issue.closed_in = r.object_id(*closed_in, "'closed_in'");
  }
  if (issue.status == Status::closed && (issue.closed_by.empty() || issue.closed_at == 0)) {
    r.fail(r.required(root, "status").mark, "a closed issue needs closed_by and closed_at");
  }
  if (issue.status == Status::open && (!issue.closed_by.empty() || issue.closed_at != 0)) {
    r.fail(r.required(root, "status").mark,
           "an open issue has closed_by/closed_at set; say status: closed or clear them");
  }
  return issue;
}

std::vector<BackportIssue> read_backports(const model::Pipeline& pipeline) {
  return read_backports_at(pipeline.repo, pipeline.cache,
                           pipeline.refs.target(model::k_backports_ref));
}

const BackportIssue& find_backport(const std::vector<BackportIssue>& issues, int id) {
  for (const auto& issue : issues) {
    if (issue.id == id) {
      return issue;
    }
  }
  std::vector<std::string> ids;
  for (const auto& issue : issues) {
    ids.push_back(std::to_string(issue.id));
  }
  const std::string guess = util::did_you_mean(std::to_string(id), ids);
  throw util::UsageError("no back-port issue " + std::to_string(id) +
                             (guess.empty() ? "" : "; " + guess) +
                             (issues.empty() ? std::string(" (there are none)")
                                             : " (issues: " + ids_text(issues) + ")"),
                         "unknown-backport",
                         !guess.empty()    ? guess
                         : issues.empty() ? std::string()
                                          : "envflow backport list shows them");
}

std::string hotfix_head(const git::Repository& repo, const BackportIssue& issue) {
  if (!issue.hotfix_tag.empty()) {
    if (const auto tagged = repo.resolve_commit("refs/tags/" + issue.hotfix_tag);
        tagged && std::find(issue.commits.begin(), issue.commits.end(), *tagged) !=
                      issue.commits.end()) {
      return *tagged;
    }
  }
  return issue.commits.back();
}

bool contains_hotfix(const git::Repository& repo, const BackportIssue& issue,
                     const std::string& commit) {
  for (const auto& c : issue.commits) {
    try {
      if (!repo.is_ancestor(c, commit)) {
        return false;
      }
    } catch (const util::Error&) {
      return false; // a hotfix commit that is not in this repository
    }
  }
  return !issue.commits.empty();
}

std::vector<BackportIssue> effective_backports(const model::Pipeline& pipeline) {
  std::vector<BackportIssue> issues = read_backports(pipeline);
  close_reachable(pipeline.repo, pipeline.head(pipeline.config.first()), issues, util::now());
  return issues;
}

std::vector<BackportIssue> open_backports(const model::Pipeline& pipeline) {
  std::vector<BackportIssue> issues =
      read_backports_at(pipeline.repo, pipeline.cache, pipeline.refs.target(model::k_backports_ref),
                        BackportsRead::open);
  close_reachable(pipeline.repo, pipeline.head(pipeline.config.first()), issues, util::now());
  issues.erase(std::remove_if(issues.begin(), issues.end(),
                              [](const BackportIssue& issue) { return !issue.is_open(); }),
               issues.end());
  return issues;
}

std::vector<BackportIssue> list_backports(const model::Pipeline& pipeline, BackportState state,
                                          std::optional<std::size_t> limit) {
  std::vector<BackportIssue> issues =
      state == BackportState::open ? open_backports(pipeline) : effective_backports(pipeline);
  if (state == BackportState::closed) {
    issues.erase(std::remove_if(issues.begin(), issues.end(),
                                [](const BackportIssue& issue) { return issue.is_open(); }),
                 issues.end());
  }
  if (limit && issues.size() > *limit) {
    issues.erase(issues.begin(), issues.end() - static_cast<std::ptrdiff_t>(*limit));
  }
  return issues;
}

std::vector<BackportIssue> closed_by_reachability(const git::Repository& repo,
                                                  const content::ResultCache* cache,
                                                  const std::optional<std::string>& backports,
                                                  const std::optional<std::string>& first_head) {
  // Only open issues can close: the closed ones are not read.
  std::vector<BackportIssue> issues =
      read_backports_at(repo, cache, backports, BackportsRead::open);
  std::vector<BackportIssue> closed;
  for (const size_t i : close_reachable(repo, first_head, issues, util::now())) {
    closed.push_back(issues[i]);
  }
  return closed;
}

git::RefUpdate stage_backports(git::Repository& repo, const std::optional<std::string>& old_head,
                               const std::vector<BackportIssue>& changed,
                               const std::string& message, const std::string& actor) {
  std::map<std::string, git::NewFile> files;
  for (const auto& issue : changed) {
    files[issue.file_name()] = git::NewFile{repo.write_blob(issue.to_yaml()), git::Mode::regular};
  }
  const std::string tree = repo.update_tree(old_head ? *old_head : std::string(), files);
  std::vector<std::string> parents;
  if (old_head) {
    parents.push_back(*old_head);
  }
  const std::string commit =
      repo.write_commit(tree, parents, message, person_of(actor), model::now());
  return git::RefUpdate{model::k_backports_ref, old_head, commit};
}

NotifyResult notify_backport(const git::Repository& repo, const policy::PipelineConfig& config,
                             const BackportIssue& issue) {
  NotifyResult result;
  result.command = config.backport_notify;
  const std::vector<std::string> argv = util::split_command(config.backport_notify);
  if (argv.empty()) {
    return result;
  }
  result.ran = true;
  const std::string cwd = repo.root();
  try {
    const util::ProcessResult run = util::run_process(argv, util::dump_json(issue.to_json(), 2) + "\n", cwd);
    if (run.exit_code != 0) {
      result.ok = false;
      result.detail = run.exit_code < 0 ? std::string("it could not run or was killed")
                                        : "it exited with " + std::to_string(run.exit_code);
      std::string err(util::trim(run.err));
      constexpr size_t k_max = 400;
      if (err.size() > k_max) {
        err = "…" + err.substr(err.size() - k_max);
      }
      if (!err.empty()) {
        result.detail += ": " + err;
      }
    }
  } catch (const std::exception& e) {
    result.ok = false;
    result.detail = e.what();
  }
  return result;
}

std::string describe_hotfix_commits(const model::Pipeline& pipeline,
                                    const std::vector<std::string>& extra) {
  std::vector<BackportIssue> issues;
  try {
    issues = effective_backports(pipeline);
  } catch (const util::Error&) {
    return {}; // a malformed record is reported by the back-port commands and doctor
  }
  const policy::PipelineConfig& config = pipeline.config;
  std::string text;
  for (const auto& issue : issues) {
    const bool ours = std::any_of(extra.begin(), extra.end(), [&](const std::string& id) {
      return std::find(issue.commits.begin(), issue.commits.end(), id) != issue.commits.end();
    });
    if (!ours) {
      continue;
    }
    text += "\nthey include hotfix release " + issue.hotfix_tag + " (back-port issue " +
            std::to_string(issue.id) + ", " + status_name(issue.status) + "): ";
    if (issue.is_open()) {
      text += "bring it into " + config.first().name + " with envflow backport apply " +
              std::to_string(issue.id);
    } else {
      text += "it is back in " + config.first().name + "; promote " + config.first().name +
              " through the pipeline (" + sync_chain(config) + ")";
    }
  }
  return text;
}

} // namespace envflow::core::records
