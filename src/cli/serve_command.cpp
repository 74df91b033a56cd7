// envflow serve: the pipeline on a web page (issue 16); the server is in src/serve/.
#include <cstdio>

#include "cli/command.h"
#include "core/pipeline/session.h"
#include "serve/security.h"
#include "serve/server.h"
#include "util/error.h"

namespace envflow::cli {

namespace {

struct ServeArgs {
  std::string listen = "127.0.0.1:8080";
  std::string identity_header;
  std::vector<std::string> origins;
  bool read_only = false;
  bool push = false;
};

} // namespace

Runner setup_serve(CommandLine& app, Globals& globals) {
  auto args = std::make_shared<ServeArgs>();
  app.add_option("--listen", args->listen, "Address and port to serve on (port 0: any free one)")
      .option_text("ADDR:PORT")
      .capture_default_str();
  app.add_option("--identity-header", args->identity_header,
                 "Take who is acting from this request header: ONLY behind a reverse proxy that "
                 "authenticates and sets it (see docs/serve.md)")
      .option_text("NAME");
  app.add_option("--origin", args->origins,
                 "The URL people open, behind a proxy (e.g. https://releases.example.com); "
                 "repeatable")
      .option_text("URL");
  app.add_flag("--read-only", args->read_only, "Show the pipeline; no button acts");
  app.add_flag("--push", args->push,
               "On a clone: send each action to the server at once, as a command's --push does "
               "(the server's hooks judge and record it); the server is --remote's");
  app.footer("Binds to 127.0.0.1 unless told otherwise. Without --identity-header every request "
             "acts as the local actor (--actor, ENVFLOW_ACTOR, git config user.email): for a "
             "person running it on their own machine. Ctrl-C stops it.");
  return [args, &globals] {
    serve::Options options;
    options.listen = serve::parse_listen(args->listen);
    options.identity_header = args->identity_header;
    options.origins = args->origins;
    options.read_only = args->read_only;
    options.push = args->push;
    options.remote = globals.remote;
    options.repo_path = core::pipeline::repository_root(".");
    if (!args->identity_header.empty()) {
      if (!globals.actor.empty()) {
        throw util::UsageError("--actor and --identity-header do not go together: behind a proxy "
                               "the header names who acts");
      }
      if (args->identity_header.find_first_of(" :\r\n\t") != std::string::npos) {
        throw util::UsageError("--identity-header takes a header name, e.g. X-Remote-User");
      }
    } else {
      try {
        options.local_actor =
            core::pipeline::Session::open(
                ".", core::pipeline::SessionOptions{globals.actor, false, globals.remote, true})
                .actor();
      } catch (const util::UsageError& e) {
        std::fprintf(stderr, "envflow serve: warning: %s; the page is read only\n", e.what());
      }
    }
    if (!serve::is_loopback(options.listen.host)) {
      if (args->identity_header.empty() && !args->read_only) {
        throw util::UsageError(
            "--listen " + args->listen + " is reachable from other machines, and every request "
            "would act as " + (options.local_actor.empty() ? "you" : options.local_actor) +
            ": put an authenticating proxy in front (--identity-header NAME, docs/serve.md), "
            "or serve --read-only");
      }
      if (!args->identity_header.empty()) {
        std::fprintf(stderr,
                     "envflow serve: warning: listening on %s with --identity-header %s: anyone "
                     "who reaches this port directly can claim any identity; let only the proxy "
                     "reach it\n",
                     args->listen.c_str(), args->identity_header.c_str());
      }
    }
    options.on_listening = [&options](const std::string& url) {
      std::printf("envflow serve: %s (repository %s; Ctrl-C stops)\n", url.c_str(),
                  options.repo_path.c_str());
      std::fflush(stdout);
    };
    serve::run_server(options);
    return 0;
  };
}

} // namespace envflow::cli
