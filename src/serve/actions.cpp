#include "serve/actions.h"

#include "cli/output.h"
#include "util/error.h"

namespace envflow::serve {

namespace {

// Body member `key` as text ("" when absent); a usage error when not a string.
std::string text(const ActionRequest& request, const char* key) {
  const auto it = request.body.find(key);
  if (it == request.body.end() || it->is_null()) {
    return {};
  }
  if (!it->is_string()) {
    throw util::UsageError(std::string("'") + key + "' must be a string");
  }
  return it->get<std::string>();
}

bool flag(const ActionRequest& request, const char* key) {
  const auto it = request.body.find(key);
  if (it == request.body.end() || it->is_null()) {
    return false;
  }
  if (!it->is_boolean()) {
    throw util::UsageError(std::string("'") + key + "' must be true or false");
  }
  return it->get<bool>();
}

const std::string& arg(const ActionRequest& request, std::size_t i) { return request.args.at(i); }

// `--name VALUE` when the body has a non-empty `key`. Values go as one
// argument each (no shell), after `--`-free option names: a value that
// starts with '-' is passed as `--name=VALUE` so it is never read as an option.
void option(std::vector<std::string>& command, const ActionRequest& request, const char* key,
            const std::string& name) {
  const std::string value = text(request, key);
  if (!value.empty()) {
    command.push_back(name + "=" + value);
  }
}

// `name` (a flag) when the body's `key` is true.
void switch_option(std::vector<std::string>& command, const ActionRequest& request,
                   const char* key, const char* name) {
  if (flag(request, key)) {
    command.emplace_back(name);
  }
}

// A positional word from the route: never an option.
std::string word(const ActionRequest& request, std::size_t i) {
  const std::string& value = arg(request, i);
  if (value.empty() || value.starts_with("-")) {
    throw util::UsageError("'" + value + "' is not a name envflow knows");
  }
  return value;
}

std::vector<std::string> sync_command(const ActionRequest& r) {
  std::vector<std::string> c{"sync", word(r, 0)};
  option(c, r, "rev", "--rev");
  switch_option(c, r, "dry_run", "--dry-run");
  return c;
}

std::vector<std::string> approve_command(const ActionRequest& r) {
  std::vector<std::string> c{"approve", word(r, 0)};
  option(c, r, "rev", "--rev");
  return c;
}

std::vector<std::string> publish_command(const ActionRequest& r) {
  std::vector<std::string> c{"publish"};
  option(c, r, "bump", "--bump");
  option(c, r, "version", "--version");
  option(c, r, "message", "--message");
  option(c, r, "reason", "--reason");
  switch_option(c, r, "no_sign", "--no-sign");
  switch_option(c, r, "force", "--force");
  switch_option(c, r, "dry_run", "--dry-run");
  return c;
}

// `command`, then the environment the route names and the body's "reason".
std::vector<std::string> env_with_reason(std::vector<std::string> command,
                                         const ActionRequest& r) {
  command.push_back(word(r, 0));
  option(command, r, "reason", "--reason");
  return command;
}

std::vector<std::string> rollback_command(const ActionRequest& r) {
  return env_with_reason({"rollback"}, r);
}

std::vector<std::string> hold_set_command(const ActionRequest& r) {
  return env_with_reason({"hold", "set"}, r);
}

std::vector<std::string> hold_release_command(const ActionRequest& r) {
  return env_with_reason({"hold", "release"}, r);
}

std::vector<std::string> var_set_command(const ActionRequest& r) {
  if (!r.body.contains("value")) {
    throw util::UsageError("setting a variable needs {\"value\": \"…\"} (the text envflow var "
                           "set takes: JSON for number, boolean and json)");
  }
  return {"var", "set", "--env", word(r, 0), "--", word(r, 1), text(r, "value")};
}

std::vector<std::string> var_unset_command(const ActionRequest& r) {
  return {"var", "unset", "--env", word(r, 0), word(r, 1)};
}

std::vector<std::string> backport_apply_command(const ActionRequest& r) {
  const std::string& id = arg(r, 0);
  if (id.empty() || id.size() > 9 || id.find_first_not_of("0123456789") != std::string::npos) {
    throw util::UsageError("a back-port issue is a number, not '" + id + "'");
  }
  return {"backport", "apply", id};
}

} // namespace

const std::vector<Action>& actions() {
  static const std::vector<Action> table{
      {"sync", "/api/sync/([^/]+)", "POST /api/sync/ENV {\"rev\": REV, \"dry_run\": false}",
       sync_command},
      {"approve", "/api/approve/([^/]+)", "POST /api/approve/ENV {\"rev\": REV}",
       approve_command},
      {"publish", "/api/publish",
       "POST /api/publish {\"bump\": \"auto\", \"version\": null, \"message\": \"\"}",
       publish_command},
      {"rollback", "/api/rollback/([^/]+)", "POST /api/rollback/TAG {\"reason\": TEXT}",
       rollback_command},
      {"hold", "/api/hold/([^/]+)", "POST /api/hold/ENV {\"reason\": TEXT}", hold_set_command},
      {"hold-release", "/api/hold/([^/]+)/release", "POST /api/hold/ENV/release {\"reason\": TEXT}",
       hold_release_command},
      {"var-set", "/api/var/([^/]+)/([^/]+)", "POST /api/var/ENV/NAME {\"value\": TEXT}",
       var_set_command},
      {"var-unset", "/api/var/([^/]+)/([^/]+)/unset", "POST /api/var/ENV/NAME/unset",
       var_unset_command},
      {"backport-apply", "/api/backport/([^/]+)/apply", "POST /api/backport/ID/apply",
       backport_apply_command},
  };
  return table;
}

ActionReply perform(const Action& action, const CommandRunner& runner,
                    const ActionRequest& request) {
  std::vector<std::string> command;
  try {
    command = action.command(request);
  } catch (const util::UsageError&) {
    cli::ErrorReport report = cli::error_report(std::current_exception());
    report.message += std::string(" (") + action.usage + ")";
    if (report.hint.empty()) {
      report.hint = action.usage;
    }
    return {400, cli::error_json(report)};
  }
  CommandReply reply = runner.run(command);
  return {http_status(reply), std::move(reply.body)};
}

} // namespace envflow::serve
