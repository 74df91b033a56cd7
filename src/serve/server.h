#pragma once

#include <functional>
#include <string>
#include <vector>

#include "serve/security.h"

// `envflow serve`: the pipeline as a web page, with the buttons of the
// pipeline (sync, approve, publish, roll back, hold, variables, back-ports)
// for those the policy lets press them, and the JSON API the page uses.
// See docs/serve.md.
namespace envflow::serve {

struct Options {
  std::string repo_path;          // absolute; bare or with a working tree
  ListenAddress listen{"127.0.0.1", 8080};
  // Take who is acting from this request header (set by an authenticating
  // reverse proxy); "" to act as `local_actor` for every request.
  std::string identity_header;
  std::string local_actor;        // "" when unknown: read only
  std::vector<std::string> origins; // --origin: public origins behind a proxy
  bool read_only = false;         // no action at all
  bool push = false;              // --push: each action goes to the server at once (a clone)
  std::string remote;             // the clone's server (--remote; "" = its default)
  // Called once the socket is bound, with the URL to open.
  std::function<void(const std::string& url)> on_listening;
};

// Serve until SIGINT or SIGTERM, then return. Throws util::IoError when the
// address cannot be bound, util::UsageError for options that do not fit.
void run_server(const Options& options);

} // namespace envflow::serve
