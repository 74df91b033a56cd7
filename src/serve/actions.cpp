#include "serve/actions.h"

#include "cli/documents.h"
#include "cli/output.h"
#include "core/backport.h"
#include "core/hold.h"
#include "core/overrides.h"
#include "core/release.h"
#include "core/remote.h"
#include "core/sync.h"
#include "git/repo.h"
#include "serve/policy.h"
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

// The environment a sync from `env` promotes into ("" when none).
std::string next_of(const core::PipelineConfig& config, const std::string& env) {
  const int i = config.index_of(env);
  if (i < 0 || static_cast<std::size_t>(i) + 1 >= config.environments.size()) {
    return {};
  }
  return config.environments[static_cast<std::size_t>(i) + 1].name;
}

// --- The rows: each calls what its CLI command calls. ---

bool may_sync(const core::PipelineConfig& config, const ActionRequest& r) {
  const std::string next = next_of(config, arg(r, 0));
  return next.empty() || may(config, r.actor, Right::promote, next); // no next: a usage error
}

nlohmann::json run_sync(git::Repository& repo, const core::PipelineConfig& config,
                        const ActionRequest& r) {
  core::SyncRequest request;
  request.env = arg(r, 0);
  request.rev = text(r, "rev");
  request.actor = r.actor;
  return cli::sync_document(cli::sync_environment(
      repo, config, request, flag(r, "dry_run") ? core::DryRun::yes : core::DryRun::no));
}

bool may_approve(const core::PipelineConfig& config, const ActionRequest& r) {
  return config.find(arg(r, 0)) == nullptr || may(config, r.actor, Right::approve, arg(r, 0));
}

nlohmann::json run_approve(git::Repository& repo, const core::PipelineConfig& config,
                           const ActionRequest& r) {
  return cli::approve_document(core::approve(repo, config, arg(r, 0), text(r, "rev"), r.actor));
}

bool may_publish(const core::PipelineConfig& config, const ActionRequest& r) {
  return may(config, r.actor, Right::publish);
}

nlohmann::json run_publish(git::Repository& repo, const core::PipelineConfig& config,
                           const ActionRequest& r) {
  const std::string bump = text(r, "bump");
  core::PublishOptions options = cli::publish_options(bump.empty() ? "auto" : bump, text(r, "version"));
  options.message = text(r, "message");
  options.no_sign = flag(r, "no_sign");
  options.force = flag(r, "force");
  options.reason = text(r, "reason");
  options.actor = r.actor;
  return cli::publish_document(core::publish(repo, config, options));
}

bool may_rollback(const core::PipelineConfig& config, const ActionRequest& r) {
  return may(config, r.actor, Right::rollback);
}

nlohmann::json run_rollback(git::Repository& repo, const core::PipelineConfig& config,
                            const ActionRequest& r) {
  return cli::rollback_document(core::rollback(repo, config, arg(r, 0), r.actor));
}

bool may_hold(const core::PipelineConfig& config, const ActionRequest& r) {
  return config.find(arg(r, 0)) == nullptr || may(config, r.actor, Right::hold, arg(r, 0));
}

nlohmann::json run_hold_set(git::Repository& repo, const core::PipelineConfig& config,
                            const ActionRequest& r) {
  return cli::hold_change_document(
      core::set_hold(repo, config, arg(r, 0), text(r, "reason"), r.actor), "set", config);
}

nlohmann::json run_hold_release(git::Repository& repo, const core::PipelineConfig& config,
                                const ActionRequest& r) {
  return cli::hold_change_document(
      core::release_hold(repo, config, arg(r, 0), text(r, "reason"), r.actor), "release",
      config);
}

bool may_var(const core::PipelineConfig& config, const ActionRequest& r) {
  return config.find(arg(r, 0)) == nullptr || may(config, r.actor, Right::local, arg(r, 0));
}

nlohmann::json run_var_set(git::Repository& repo, const core::PipelineConfig& config,
                           const ActionRequest& r) {
  if (!r.body.contains("value")) {
    throw util::UsageError("setting a variable needs {\"value\": \"…\"} (the text envflow var "
                           "set takes: JSON for number, boolean and json)");
  }
  return cli::var_change_document(
      core::set_override(repo, config, arg(r, 0), arg(r, 1), text(r, "value"), r.actor));
}

nlohmann::json run_var_unset(git::Repository& repo, const core::PipelineConfig& config,
                             const ActionRequest& r) {
  return cli::var_change_document(
      core::unset_override(repo, config, arg(r, 0), arg(r, 1), r.actor));
}

bool may_backport(const core::PipelineConfig& config, const ActionRequest& r) {
  return may(config, r.actor, Right::backport);
}

nlohmann::json run_backport_apply(git::Repository& repo, const core::PipelineConfig& config,
                                  const ActionRequest& r) {
  const std::string& id = arg(r, 0);
  if (id.empty() || id.size() > 9 || id.find_first_not_of("0123456789") != std::string::npos) {
    throw util::UsageError("a back-port issue is a number, not '" + id + "'");
  }
  return cli::backport_apply_document(core::apply_backport(repo, config, std::stoi(id), r.actor));
}

} // namespace

const std::vector<Action>& actions() {
  static const std::vector<Action> table{
      {"sync", "/api/sync/([^/]+)", "POST /api/sync/ENV {\"rev\": REV, \"dry_run\": false}",
       may_sync, run_sync},
      {"approve", "/api/approve/([^/]+)", "POST /api/approve/ENV {\"rev\": REV}", may_approve,
       run_approve},
      {"publish", "/api/publish",
       "POST /api/publish {\"bump\": \"auto\", \"version\": null, \"message\": \"\"}",
       may_publish, run_publish},
      {"rollback", "/api/rollback/([^/]+)", "POST /api/rollback/TAG", may_rollback, run_rollback},
      {"hold", "/api/hold/([^/]+)", "POST /api/hold/ENV {\"reason\": TEXT}", may_hold,
       run_hold_set},
      {"hold-release", "/api/hold/([^/]+)/release", "POST /api/hold/ENV/release {\"reason\": TEXT}",
       may_hold, run_hold_release},
      {"var-set", "/api/var/([^/]+)/([^/]+)", "POST /api/var/ENV/NAME {\"value\": TEXT}", may_var,
       run_var_set},
      {"var-unset", "/api/var/([^/]+)/([^/]+)/unset", "POST /api/var/ENV/NAME/unset", may_var,
       run_var_unset},
      {"backport-apply", "/api/backport/([^/]+)/apply", "POST /api/backport/ID/apply",
       may_backport, run_backport_apply},
  };
  return table;
}

int status_for(int exit, bool permitted, bool lost_race) {
  switch (static_cast<util::Exit>(exit)) {
  case util::Exit::ok:
    return 200;
  case util::Exit::usage:
    return 400;
  case util::Exit::refused:
    return lost_race || permitted ? 409 : 403;
  case util::Exit::io:
    break;
  }
  return 500;
}

ActionReply perform(const Action& action, const std::string& repo_path,
                    const ActionRequest& request, const std::string& push_remote) {
  std::optional<core::PipelineConfig> config;
  try {
    git::Repository repo = git::Repository::open(repo_path);
    std::optional<core::PushSession> session;
    if (!push_remote.empty()) {
      session = core::begin_push(repo, push_remote);
    }
    config = core::require_config(repo);
    nlohmann::json document;
    try {
      document = action.run(repo, *config, request);
    } catch (...) {
      if (session) {
        try {
          core::abandon_push(repo, *session);
        } catch (const std::exception&) {
          // The action's own failure is the one to report.
        }
      }
      throw;
    }
    if (session) {
      document["pushed"] = cli::pushed_document(core::finish_push(repo, *session));
    }
    return {200, std::move(document)};
  } catch (...) {
    const std::exception_ptr error = std::current_exception();
    bool lost_race = false;
    try {
      std::rethrow_exception(error);
    } catch (const core::TargetMoved&) {
      lost_race = true;
    } catch (const git::RefConflict&) {
      lost_race = true;
    } catch (const git::RefLocked&) {
      lost_race = true;
    } catch (...) {
    }
    const cli::ErrorReport report = cli::error_report(error);
    bool permitted = true;
    if (config) {
      try {
        permitted = action.permitted(*config, request);
      } catch (...) {
        permitted = true; // a malformed request: the report says why
      }
    }
    return {status_for(static_cast<int>(report.exit), permitted, lost_race),
            cli::error_json(report)};
  }
}

} // namespace envflow::serve
