#include "core/policy/config.h"

#include <algorithm>
#include <set>

#include "content/schema.h"
#include "content/yaml.h"
#include "content/yaml_writer.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/process.h"
#include "util/strings.h"

namespace envflow::core::policy {

using content::Layout;
using content::Quote;
using content::Value;

namespace {

std::vector<std::string> strings_at(const Value& map, std::string_view key) {
  std::vector<std::string> out;
  if (const Value* list = map.find(key); list != nullptr && list->is_sequence()) {
    for (const auto& item : list->items) {
      out.push_back(item.string);
    }
  }
  return out;
}

bool bool_at(const Value& map, std::string_view key, bool fallback) {
  const Value* v = map.find(key);
  return v != nullptr && v->type == Value::Type::boolean ? v->boolean : fallback;
}

// The actors in `group_names`; nullopt when one of them is "*" (everyone).
std::optional<std::set<std::string>> members_of(const PipelineConfig& config,
                                                const std::vector<std::string>& group_names) {
  std::set<std::string> members;
  for (const auto& group : group_names) {
    if (group == "*") {
      return std::nullopt;
    }
    if (const auto it = config.groups.find(group); it != config.groups.end()) {
      members.insert(it->second.begin(), it->second.end());
    }
  }
  return members;
}

// Why nobody could ever satisfy `env`'s approvals, or "" when someone might:
// its approvers have fewer members than the approvals it needs.
std::string approvals_problem(const PipelineConfig& config, const Environment& env) {
  if (env.approvals <= 0) {
    return {};
  }
  const auto approvers = members_of(config, env.approvers);
  if (!approvers || approvers->size() >= static_cast<size_t>(env.approvals)) {
    return {};
  }
  return "environment '" + env.name + "' needs " + std::to_string(env.approvals) + " approval" +
         (env.approvals == 1 ? "" : "s") + ", but its approvers (" +
         (env.approvers.empty() ? std::string("none") : util::join(env.approvers, ", ")) +
         ") have " + std::to_string(approvers->size()) + " member" +
         (approvers->size() == 1 ? "" : "s") + ": nothing could ever be synced into " + env.name +
         "; add approvers or lower 'approvals'";
}

// When exactly `approvals` people may approve and every promoter is one of
// them: a sync does not count the approval of whoever syncs, so nobody
// allowed today can ever promote. Adding a promoter who is not an approver
// (a CI identity) mends it, so this is a warning, not an error.
std::string approvals_warning(const PipelineConfig& config, const Environment& env) {
  if (env.approvals <= 0 || !approvals_problem(config, env).empty()) {
    return {};
  }
  const auto approvers = members_of(config, env.approvers);
  const auto promoters = members_of(config, env.promote);
  if (!approvers || !promoters || promoters->empty() ||
      approvers->size() != static_cast<size_t>(env.approvals) ||
      !std::all_of(promoters->begin(), promoters->end(),
                   [&](const std::string& p) { return approvers->contains(p); })) {
    return {};
  }
  return "environment '" + env.name + "' needs " + std::to_string(env.approvals) + " approval" +
         (env.approvals == 1 ? "" : "s") + " from " + util::join(env.approvers, ", ") +
         " (" + std::to_string(approvers->size()) + " member" +
         (approvers->size() == 1 ? "" : "s") +
         "), and everyone who may promote into it is one of them: a sync does not count the "
         "approval of whoever syncs, so nobody can promote into " + env.name +
         " yet; add an approver, or a promoter who is not one";
}

// `secret_allowlist` (its shape is the schema's): fingerprints listed twice
// are problems, each at the second one.
void parse_secret_allowlist(const Value& root, const std::string& path, PipelineConfig& config,
                            std::vector<content::Diagnostic>& problems) {
  const Value* list = root.find("secret_allowlist");
  if (list == nullptr || !list->is_sequence()) {
    return;
  }
  for (const Value& item : list->items) {
    AllowedSecret allowed{item.string_at("fingerprint"), item.string_at("reason")};
    const auto same = [&](const AllowedSecret& a) { return a.fingerprint == allowed.fingerprint; };
    if (std::any_of(config.secret_allowlist.begin(), config.secret_allowlist.end(), same)) {
      const Value* node = item.find("fingerprint");
      problems.push_back(content::Diagnostic{
          path, node != nullptr ? node->mark : item.mark, content::Severity::error,
          "fingerprint " + allowed.fingerprint + " is listed twice in secret_allowlist; keep one",
          "pipeline"});
      continue;
    }
    config.secret_allowlist.push_back(std::move(allowed));
  }
}

void write_secret_allowlist(content::YamlWriter& out,
                            const std::vector<AllowedSecret>& allowlist) {
  if (allowlist.empty()) {
    return;
  }
  out.blank_line();
  out.comment("Literal secrets known to be false positives, by the fingerprint envflow\n"
              "validate prints; each says why it is safe.");
  out.key("secret_allowlist").begin_seq();
  for (const auto& allowed : allowlist) {
    out.begin_map();
    out.key("fingerprint").string(allowed.fingerprint, Quote::always);
    out.key("reason").string(allowed.reason, Quote::always);
    out.end_map();
  }
  out.end_seq();
}

// `checks:` of an environment, one item per check, each a mapping in `layout`.
void write_checks(content::YamlWriter& out, const std::vector<Check>& checks,
                  Layout layout = Layout::block) {
  out.key("checks").line_comment("run on the bundle before a promotion (docs/checks.md)");
  out.begin_seq();
  for (const auto& check : checks) {
    out.begin_map(layout);
    out.key("name").string(check.name);
    out.key("run").strings(check.run, Quote::always);
    out.key("timeout").integer(check.timeout_seconds);
    out.end_map();
  }
  out.end_seq();
}

// `suggested` as comment lines: its note, then its `checks:` entry (the
// check on one line) with every line one '#' away from being in force.
std::string commented_check(const SuggestedCheck& suggested) {
  content::YamlWriter entry;
  entry.begin_map();
  write_checks(entry, {suggested.check}, Layout::flow);
  entry.end_map();
  std::string text = suggested.note;
  for (const auto& line : util::split(entry.text(), '\n')) {
    if (!line.empty()) {
      // "# " and these three spaces: the entry's own indentation of four.
      text += "\n   " + line;
    }
  }
  return text;
}

} // namespace

PipelineConfig::PipelineConfig() = default;
PipelineConfig::PipelineConfig(const PipelineConfig&) = default;
PipelineConfig::PipelineConfig(PipelineConfig&&) noexcept = default;
PipelineConfig& PipelineConfig::operator=(const PipelineConfig&) = default;
PipelineConfig& PipelineConfig::operator=(PipelineConfig&&) noexcept = default;
PipelineConfig::~PipelineConfig() = default;

std::string Check::command() const { return util::join(run, " "); }

const Environment* PipelineConfig::find(const std::string& name) const {
  for (const auto& env : environments) {
    if (env.name == name) {
      return &env;
    }
  }
  return nullptr;
}

const Environment* PipelineConfig::by_branch(const std::string& branch) const {
  for (const auto& env : environments) {
    if (env.branch == branch) {
      return &env;
    }
  }
  return nullptr;
}

int PipelineConfig::index_of(const std::string& name) const {
  for (size_t i = 0; i < environments.size(); ++i) {
    if (environments[i].name == name) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

bool PipelineConfig::member(const std::string& actor,
                            const std::vector<std::string>& group_names) const {
  const std::string who = person(actor);
  for (const auto& group : group_names) {
    if (group == "*") {
      return true;
    }
    const auto it = groups.find(group);
    if (it == groups.end()) {
      continue;
    }
    if (std::any_of(it->second.begin(), it->second.end(),
                    [&](const std::string& member) { return person(member) == who; })) {
      return true;
    }
  }
  return false;
}

std::string PipelineConfig::person(const std::string& name) const {
  if (people.contains(name)) {
    return name;
  }
  for (const auto& [who, names] : people) {
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      return who;
    }
  }
  return name;
}

std::string PipelineConfig::groups_text(const std::vector<std::string>& groups) {
  return groups.empty() ? std::string("none") : util::join(groups, ", ");
}

PipelineConfig default_config(const std::vector<std::string>& envs, const std::string& actor) {
  PipelineConfig config;
  for (size_t i = 0; i < envs.size(); ++i) {
    Environment env;
    env.name = envs[i];
    env.branch = envs[i];
    if (i == 0) {
      env.write = {"developers"};
    } else {
      env.promote = {"release-managers"};
      env.approvers = {"release-managers"};
    }
    env.local = {"operators"};
    config.environments.push_back(env);
  }
  for (const char* group : {"developers", "release-managers", "operators", "publishers",
                            "hotfixers", "admins"}) {
    config.groups[group] = {actor};
  }
  config.admins = {"admins"};
  config.publishers = {"publishers"};
  config.hotfixers = {"hotfixers"};
  return config;
}

namespace {

// Phase of parse_config: one environment as the (schema-valid) node `item`
// says it.
Environment read_environment(const Value& item) {
  Environment env;
  env.name = item.string_at("name");
  env.branch = item.string_at("branch");
  if (env.branch.empty()) {
    env.branch = env.name;
  }
  env.write = strings_at(item, "write");
  env.promote = strings_at(item, "promote");
  env.approvers = strings_at(item, "approvers");
  env.local = strings_at(item, "local");
  if (const Value* n = item.find("approvals"); n != nullptr && n->type == Value::Type::integer) {
    env.approvals = static_cast<int>(n->integer);
  }
  env.auto_promote = bool_at(item, "auto", false);
  if (const Value* checks = item.find("checks"); checks != nullptr && checks->is_sequence()) {
    for (const auto& node : checks->items) {
      Check check;
      check.name = node.string_at("name");
      if (const Value* run = node.find("run"); run != nullptr && run->is_sequence()) {
        for (const auto& word : run->items) {
          check.run.push_back(word.string);
        }
      } else {
        check.run = util::split_command(node.string_at("run"));
      }
      if (const Value* n = node.find("timeout"); n != nullptr && n->type == Value::Type::integer) {
        check.timeout_seconds = static_cast<int>(n->integer);
      }
      env.checks.push_back(std::move(check));
    }
  }
  return env;
}

// Phase of parse_config: everything but the environments and events, from
// the (schema-valid) `root`.
void read_settings(const Value& root, PipelineConfig& config) {
  if (const Value* groups = root.find("groups")) {
    for (const auto& entry : groups->members) {
      config.groups[entry.key] = strings_at(*groups, entry.key);
    }
  }
  if (const Value* people = root.find("people")) {
    for (const auto& entry : people->members) {
      config.people[entry.key] = strings_at(*people, entry.key);
    }
  }
  config.admins = strings_at(root, "admins");
  config.publishers = strings_at(root, "publishers");
  config.hotfixers = strings_at(root, "hotfixers");
  if (const Value* hotfix = root.find("hotfix")) {
    if (const Value* n = hotfix->find("approvals"); n != nullptr && n->type == Value::Type::integer) {
      config.hotfix_approvals = static_cast<int>(n->integer);
    }
    config.hotfix_approvers = strings_at(*hotfix, "approvers");
  }
  if (const Value* identity = root.find("identity")) {
    config.identity_env = strings_at(*identity, "env");
    config.identity_required = bool_at(*identity, "required", false);
  }
  if (const Value* validation = root.find("validation")) {
    if (const Value* n = validation->find("max_file_size");
        n != nullptr && n->type == Value::Type::integer && n->integer > 0) {
      config.max_file_size = static_cast<std::uint64_t>(n->integer);
    }
  }
  if (const Value* release = root.find("release")) {
    config.release_sign = bool_at(*release, "sign", true);
    config.release_format = release->string_at("format");
    config.release_signing_key = release->string_at("signing_key");
    config.release_allowed_signers = release->string_at("allowed_signers");
  }
  if (const Value* backport = root.find("backport")) {
    config.backport_notify = backport->string_at("notify");
  }
}

// Where parse_config's rules the schema cannot say report: an error of rule
// [pipeline] in file `path`, at the node it is about.
class PolicyProblems {
public:
  PolicyProblems(const std::string& path, std::vector<content::Diagnostic>& out)
      : m_path(path), m_out(out) {}

  void operator()(const std::string& message, content::Mark mark) const {
    m_out.push_back(content::Diagnostic{m_path, mark, content::Severity::error, message,
                                        "pipeline"});
  }

private:
  const std::string& m_path;
  std::vector<content::Diagnostic>& m_out;
};

// Phase of parse_config: each environment's name, branch and checks once;
// the first has no checks; every group it names is defined.
void check_environments(const Value& root, const PipelineConfig& config,
                        const PolicyProblems& problem) {
  std::vector<std::string> seen_names;
  std::vector<std::string> seen_branches;
  const Value* env_nodes = root.find("environments");
  for (size_t i = 0; i < config.environments.size(); ++i) {
    const Environment& env = config.environments[i];
    const Value& node = env_nodes->items[i];
    const Value* name_node = node.find("name");
    const Value* branch_node = node.find("branch");
    if (std::find(seen_names.begin(), seen_names.end(), env.name) != seen_names.end()) {
      problem("environment '" + env.name + "' is listed twice",
              name_node != nullptr ? name_node->mark : node.mark);
    }
    if (std::find(seen_branches.begin(), seen_branches.end(), env.branch) != seen_branches.end()) {
      problem("branch '" + env.branch + "' is used by two environments",
              branch_node != nullptr ? branch_node->mark : node.mark);
    }
    seen_names.push_back(env.name);
    seen_branches.push_back(env.branch);
    if (const Value* checks = node.find("checks"); checks != nullptr && checks->is_sequence()) {
      if (i == 0 && !checks->items.empty()) {
        problem("environment '" + env.name + "' is the first: nothing is promoted into it, so "
                "it has no checks; put them on the environment they guard",
                checks->mark);
      }
      std::vector<std::string> seen_checks;
      for (size_t k = 0; k < env.checks.size() && k < checks->items.size(); ++k) {
        const Value& check_node = checks->items[k];
        if (std::find(seen_checks.begin(), seen_checks.end(), env.checks[k].name) !=
            seen_checks.end()) {
          problem("check '" + env.checks[k].name + "' is listed twice on " + env.name,
                  check_node.mark);
        }
        seen_checks.push_back(env.checks[k].name);
        if (env.checks[k].run.empty()) {
          problem("check '" + env.checks[k].name + "' has no command to run", check_node.mark);
        }
      }
    }
    for (const char* key : {"write", "promote", "approvers", "local"}) {
      const Value* list = node.find(key);
      if (list == nullptr || !list->is_sequence()) {
        continue;
      }
      for (const auto& group : list->items) {
        if (group.string != "*" && !config.groups.contains(group.string)) {
          problem("environment '" + env.name + "' names group '" + group.string +
                      "', which is not defined under 'groups'; define it or fix the name",
                  group.mark);
        }
      }
    }
  }
}

// Phase of parse_config: one name, one person: an alias under two people (or
// a person listed as someone else's alias) would let records and approvals
// name either.
void check_people(const Value& root, const PolicyProblems& problem) {
  const Value* people = root.find("people");
  if (people == nullptr) {
    return;
  }
  std::map<std::string, std::string> owner;
  for (const auto& entry : people->members) {
    owner.emplace(entry.key, entry.key);
  }
  for (const auto& entry : people->members) {
    for (const auto& alias : entry.value.items) {
      const auto [it, fresh] = owner.emplace(alias.string, entry.key);
      if (!fresh && it->second != entry.key) {
        problem("'" + alias.string + "' is listed for " + entry.key + " but already names " +
                    it->second + ": a name belongs to one person",
                alias.mark);
      }
    }
  }
}

// Phase of parse_config: the groups of admins, publishers, hotfixers and
// hotfix approvers are defined; hotfix approvals can be given; admins exist.
void check_roles(const Value& root, const PipelineConfig& config, const PolicyProblems& problem) {
  for (const char* key : {"admins", "publishers", "hotfixers"}) {
    const Value* list = root.find(key);
    if (list == nullptr || !list->is_sequence()) {
      continue;
    }
    for (const auto& group : list->items) {
      if (group.string != "*" && !config.groups.contains(group.string)) {
        problem(std::string(key) + " names group '" + group.string +
                    "', which is not defined under 'groups'",
                group.mark);
      }
    }
  }
  if (const Value* hotfix = root.find("hotfix")) {
    if (const Value* list = hotfix->find("approvers"); list != nullptr && list->is_sequence()) {
      for (const auto& group : list->items) {
        if (group.string != "*" && !config.groups.contains(group.string)) {
          problem("hotfix.approvers names group '" + group.string +
                      "', which is not defined under 'groups'",
                  group.mark);
        }
      }
    }
    if (config.hotfix_approvals > 0 && config.hotfix_approvers.empty()) {
      problem("hotfix.approvals is " + std::to_string(config.hotfix_approvals) +
                  " but hotfix.approvers names no group: nobody could approve a hotfix",
              hotfix->mark);
    }
  }
  if (config.admins.empty()) {
    problem("'admins' is empty: nobody could change the pipeline config any more; name at least "
            "one group",
            root.find("admins") != nullptr ? root.find("admins")->mark : root.mark);
  }
}

// Phase of parse_config, for a policy being written: refuse one that grants
// nobody what it asks for (admins, approvals).
void check_grants(const Value& root, const PipelineConfig& config,
                  const PolicyProblems& problem) {
  if (const auto admins = members_of(config, config.admins);
      !config.admins.empty() && admins && admins->empty()) {
    problem("the admin groups (" + util::join(config.admins, ", ") +
                ") have no members: nobody could change the pipeline config any more; add "
                "yourself to one",
            root.find("admins")->mark);
  }
  const Value* env_nodes = root.find("environments");
  for (size_t i = 0; i < config.environments.size(); ++i) {
    if (const std::string why = approvals_problem(config, config.environments[i]); !why.empty()) {
      const Value& node = env_nodes->items[i];
      problem(why, node.find("approvals") != nullptr ? node.find("approvals")->mark : node.mark);
    }
  }
}

} // namespace

std::optional<PipelineConfig> parse_config(const std::string& text, const std::string& path,
                                           std::vector<content::Diagnostic>& problems,
                                           ConfigUse use) {
  content::YamlResult loaded = content::load_yaml(text, path);
  problems = std::move(loaded.diagnostics);
  if (!loaded.value) {
    return std::nullopt;
  }
  const Value& root = *loaded.value;
  for (auto& d : content::SchemaSet::builtin().validate("pipeline", root, path)) {
    problems.push_back(std::move(d));
  }
  if (!problems.empty()) {
    content::sort_diagnostics(problems);
    return std::nullopt;
  }
  PipelineConfig config;
  config.identity_env.clear();
  if (const Value* envs = root.find("environments")) {
    for (const auto& item : envs->items) {
      config.environments.push_back(read_environment(item));
    }
  }
  read_settings(root, config);
  config.events = parse_event_policy(root, path, problems);
  parse_secret_allowlist(root, path, config, problems);
  // Rules the schema cannot say, each at the node it is about.
  const PolicyProblems problem(path, problems);
  check_environments(root, config, problem);
  check_people(root, problem);
  check_roles(root, config, problem);
  if (use == ConfigUse::new_config) {
    check_grants(root, config, problem);
  }
  if (!problems.empty()) {
    return std::nullopt;
  }
  return config;
}

std::vector<std::string> policy_warnings(const PipelineConfig& config) {
  std::vector<std::string> warnings;
  const auto nobody = [&](const std::vector<std::string>& groups) {
    const auto members = members_of(config, groups);
    return members && members->empty();
  };
  for (size_t i = 0; i < config.environments.size(); ++i) {
    const Environment& env = config.environments[i];
    if (i == 0 && nobody(env.write)) {
      warnings.push_back("nobody may push content to " + env.name + " (write: " +
                         (env.write.empty() ? std::string("none") : util::join(env.write, ", ")) +
                         ")");
    }
    if (i > 0 && nobody(env.promote)) {
      warnings.push_back("nobody may promote into " + env.name + " (promote: " +
                         (env.promote.empty() ? std::string("none")
                                              : util::join(env.promote, ", ")) +
                         "): the pipeline stops before it");
    }
    if (std::string why = approvals_warning(config, env); !why.empty()) {
      warnings.push_back(std::move(why));
    }
  }
  if (nobody(config.publishers)) {
    warnings.push_back("nobody may publish a release or roll back (publishers)");
  }
  if (nobody(config.hotfixers)) {
    warnings.push_back("nobody may finish a hotfix (hotfixers)");
  }
  return warnings;
}

std::string render_config(const PipelineConfig& config, const SuggestedCheck* suggested) {
  content::YamlWriter out;
  out.comment("envflow pipeline and policy. Lives at refs/envflow/config; change it with\n"
              "`envflow config edit` (validated, committed and audited).");
  out.begin_map();
  out.key("version").integer(1);
  out.blank_line();
  out.comment("Environments in promotion order. The first is where content is written;\n"
              "every other one changes only through `envflow sync` from its predecessor.");
  out.key("environments").begin_seq();
  for (size_t i = 0; i < config.environments.size(); ++i) {
    const Environment& env = config.environments[i];
    out.begin_map();
    out.key("name").string(env.name);
    out.key("branch").string(env.branch);
    if (!env.write.empty()) {
      out.key("write").strings(env.write, Quote::always).line_comment("who may commit and push here");
    }
    if (!env.promote.empty()) {
      out.key("promote").strings(env.promote, Quote::always).line_comment("who may sync into it");
      out.key("approvals").integer(env.approvals);
      out.key("approvers").strings(env.approvers, Quote::always);
    }
    out.key("local").strings(env.local, Quote::always).line_comment("who may change its local data");
    if (env.auto_promote) {
      out.key("auto").boolean(true);
    }
    if (!env.checks.empty()) {
      write_checks(out, env.checks);
    }
    if (suggested != nullptr && i == 1) {
      out.comment(commented_check(*suggested));
    }
    out.end_map();
  }
  out.end_seq();
  out.blank_line();
  out.comment("Groups of actors (emails or server usernames).");
  out.key("groups").begin_map(config.groups.empty() ? Layout::flow : Layout::block);
  for (const auto& [group, actors] : config.groups) {
    out.key(group).strings(actors, Quote::always);
  }
  out.end_map();
  if (!config.people.empty()) {
    out.blank_line();
    out.comment("People and every name they act under (server login, email).");
    out.key("people").begin_map();
    for (const auto& [who, names] : config.people) {
      out.key(who, Quote::always).strings(names, Quote::always);
    }
    out.end_map();
  }
  out.blank_line();
  out.key("admins").strings(config.admins, Quote::always);
  out.key("publishers").strings(config.publishers, Quote::always);
  out.key("hotfixers").strings(config.hotfixers, Quote::always);
  out.blank_line();
  if (config.hotfix_approvals > 0 || !config.hotfix_approvers.empty()) {
    out.comment("Four eyes on hotfixes: approvals a hotfix commit needs before it goes live.");
    out.key("hotfix").begin_map();
    out.key("approvals").integer(config.hotfix_approvals);
    out.key("approvers").strings(config.hotfix_approvers, Quote::always);
    out.end_map();
    out.blank_line();
  }
  out.comment("Where server hooks read the authenticated pusher from.");
  out.key("identity").begin_map();
  out.key("env").strings(config.identity_env, Quote::always);
  out.key("required").boolean(config.identity_required);
  out.end_map();
  out.blank_line();
  out.key("validation").begin_map();
  out.key("max_file_size").integer(static_cast<std::int64_t>(config.max_file_size));
  out.end_map();
  out.blank_line();
  out.key("release").begin_map();
  out.key("sign").boolean(config.release_sign);
  if (!config.release_format.empty()) {
    out.key("format").string(config.release_format);
  }
  if (!config.release_signing_key.empty()) {
    out.key("signing_key").string(config.release_signing_key, Quote::always);
  }
  if (!config.release_allowed_signers.empty()) {
    out.key("allowed_signers").string(config.release_allowed_signers, Quote::always);
  }
  out.end_map();
  if (!config.backport_notify.empty()) {
    out.blank_line();
    out.key("backport").begin_map();
    out.key("notify").string(config.backport_notify, Quote::always);
    out.end_map();
  }
  write_event_policy(out, config.events);
  write_secret_allowlist(out, config.secret_allowlist);
  out.end_map();
  return out.text();
}

std::optional<std::string> config_commit_problem(const git::Repository& repo,
                                                 const std::string& commit) {
  const auto text = repo.read_path(commit, model::k_config_file);
  if (!text) {
    return std::string("the config commit has no ") + model::k_config_file;
  }
  std::vector<content::Diagnostic> problems;
  const auto parsed =
      parse_config(*text, std::string(model::k_config_ref) + ":" + model::k_config_file, problems);
  if (!parsed) {
    std::string reason = "the config is invalid:";
    for (const auto& d : problems) {
      reason += "\n  " + d.to_text();
    }
    return reason;
  }
  if (!parsed->release_allowed_signers.empty() &&
      !repo.read_path(commit, parsed->release_allowed_signers)) {
    return "release.allowed_signers names " + parsed->release_allowed_signers +
           ", which the config commit lacks (add it with envflow config put)";
  }
  return std::nullopt;
}

std::optional<PipelineConfig> load_config(const git::Repository& repo, const std::string& rev) {
  const std::optional<std::string> commit =
      rev.empty() ? repo.ref_target(model::k_config_ref) : repo.resolve_commit(rev);
  if (!commit) {
    return std::nullopt;
  }
  const std::optional<std::string> text = repo.read_path(*commit, model::k_config_file);
  if (!text) {
    throw util::Refused(std::string(model::k_config_ref) + " has no " + model::k_config_file +
                        "; restore it with envflow config edit");
  }
  std::vector<content::Diagnostic> problems;
  auto config = parse_config(*text, std::string(model::k_config_ref) + ":" + model::k_config_file,
                             problems, ConfigUse::in_force);
  if (!config) {
    std::string message = "the pipeline config is invalid:";
    for (const auto& d : problems) {
      message += "\n  " + d.to_text();
    }
    throw util::Refused(message);
  }
  return config;
}

PipelineConfig require_config(const git::Repository& repo) {
  auto config = load_config(repo);
  if (!config) {
    throw util::Refused("this repository has no envflow pipeline (" +
                        std::string(model::k_config_ref) +
                        " is missing): run `envflow init` to create one, or `envflow setup` in "
                        "a clone to fetch it");
  }
  return *config;
}

} // namespace envflow::core::policy
