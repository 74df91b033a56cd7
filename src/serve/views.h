#pragma once

#include <map>
#include <string>

#include "core/model/view.h"
#include "core/policy/config.h"
#include "serve/documents.h"

// The pages of `envflow serve`, as HTML fragments for the page shell
// (web/page.html). Each is drawn from the same JSON documents the API
// returns (the commands' own, documents.h), with every repository string escaped. Buttons
// are forms the page's script sends to the API; they are drawn only for
// those the policy lets act (policy.h), and work without the script never.
namespace envflow::serve {

struct ViewContext {
  const core::model::Pipeline& pipeline; // the state the page shows (the session's view)
  const git::Repository& repo;         // pipeline.repo
  const core::policy::PipelineConfig& config; // pipeline.config
  const CommandRunner& commands;       // the documents: `envflow ... --format json`, offline
  std::string actor;      // "" when nobody is known: nothing to press
  bool read_only = false; // --read-only: nothing to press
  std::map<std::string, std::string> query; // the page's query parameters, decoded
};

struct View {
  std::string title;   // "Pipeline", "Releases", ...
  std::string content; // HTML
};

// "/": each environment, its head, what waits to go on (the commits; the
// semantic diff with old -> new values is loaded by the page's script from
// GET /api/diff after the page is shown, see diff_view), approvals, holds,
// live release, open back-ports, recent activity.
View pipeline_view(const ViewContext& context);
// "/diff?from=A&to=B": the semantic changes from A to B with old -> new
// values (envflow diff --values), as the pipeline page's script shows them
// under "What waits"; the page links here for browsers without the script.
View diff_view(const ViewContext& context);
// "/releases": the release history, with roll back for publishers.
View releases_view(const ViewContext& context);
// "/backports": back-port issues, with apply for writers of the first environment.
View backports_view(const ViewContext& context);
// "/variables?env=ENV": variables and their values per environment, editable by operators.
View variables_view(const ViewContext& context);
// "/log?env=&op=&by=&limit=": the audit trail, newest first, filtered.
View log_view(const ViewContext& context);

// The navigation bar, with `current` ("/", "/releases", ...) marked.
std::string navigation(const std::string& current);

// Who is acting, for the top bar: "alice · qa, release-managers", or why
// nothing can be pressed.
std::string identity_text(const core::policy::PipelineConfig* config, const std::string& actor,
                          bool read_only, const std::string& identity_header);

} // namespace envflow::serve
