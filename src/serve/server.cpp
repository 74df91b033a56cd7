#include "serve/server.h"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <pthread.h>

#include "cli/output.h"
#include "core/pipeline/session.h"
#include "core/policy/config.h"
#include "git/repo.h"
#include "serve/actions.h"
#include "serve/html.h"
#include "serve/policy.h"
#include "serve/views.h"
#include "serve/watch.h"
#include "util/embedded.h"
#include "util/error.h"
#include "util/json.h"

namespace envflow::serve {

namespace {

using Json = nlohmann::json;

constexpr const char* k_csrf_header = "X-Envflow-CSRF";
// Server-sent event streams at once; each holds a thread. Past this, the
// page falls back to polling.
constexpr int k_max_streams = 48;
constexpr std::size_t k_threads = k_max_streams + 16;
constexpr auto k_watch_interval = std::chrono::milliseconds(300);
constexpr auto k_ping_interval = std::chrono::seconds(15);

// Every response: no framing (the buttons are not for clickjacking), no
// script or style but the page's own, no sniffing, no referrer. Not
// Cross-Origin-Opener-Policy: the page opens no windows, and it would cost
// every navigation a new browser process (~200 ms of first paint here).
const httplib::Headers k_security_headers{
    {"Content-Security-Policy",
     "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"},
    {"X-Frame-Options", "DENY"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    {"Cross-Origin-Resource-Policy", "same-origin"},
};

struct Asset {
  const char* path;
  const char* type;
};

const Asset k_assets[] = {
    {"app.js", "text/javascript; charset=utf-8"},
    {"style.css", "text/css; charset=utf-8"},
    {"favicon.svg", "image/svg+xml"},
};

void send_json(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(util::dump_json(body, 2, util::BadUtf8::replace) + "\n",
                  "application/json; charset=utf-8");
}

// An error of the server itself (not of a command), in the commands' error
// object, with what to do about it.
Json error_body(util::Exit exit, const std::string& code, const std::string& message,
                const std::string& hint) {
  return cli::error_json({exit, code, message, hint, "", ""});
}

Json refusal(const std::string& message, const std::string& hint) {
  return error_body(util::Exit::refused, "forbidden", message, hint);
}

int status_of(const cli::ErrorReport& report) {
  return http_status({static_cast<int>(report.exit), cli::error_json(report)});
}

class Server {
public:
  explicit Server(const Options& options)
      : m_options(options), m_csrf(random_token()),
        m_watch(options.repo_path, k_watch_interval) {
    const auto page = util::embedded_file("web/page.html");
    if (!page) {
      throw util::IoError("the page shell web/page.html is not embedded in this binary");
    }
    m_page_template = std::string(*page);
    m_repo_name = std::filesystem::path(options.repo_path).filename().string();
    if (m_repo_name.empty() || m_repo_name == ".git") {
      m_repo_name = std::filesystem::path(options.repo_path).parent_path().filename().string();
    }
  }

  ~Server() { m_watch.stop(); }

  // Bind, report the URL, serve until stop().
  void run() {
    m_http.new_task_queue = [] { return new httplib::ThreadPool(k_threads); };
    m_http.set_payload_max_length(64 * 1024);
    m_http.set_default_headers(k_security_headers);
    routes();
    int port = m_options.listen.port;
    if (port == 0) {
      port = m_http.bind_to_any_port(m_options.listen.host);
      if (port < 0) {
        throw util::IoError("cannot listen on " + m_options.listen.host + " (any port)");
      }
    } else if (!m_http.bind_to_port(m_options.listen.host, port)) {
      throw util::IoError("cannot listen on " + m_options.listen.text() +
                          " (in use, or not an address of this machine); choose another with "
                          "--listen ADDRESS:PORT");
    }
    ListenAddress bound = m_options.listen;
    bound.port = port;
    m_guard.emplace(bound, m_options.origins);
    if (m_options.on_listening) {
      m_options.on_listening("http://" + bound.text() + "/");
    }
    m_http.listen_after_bind();
  }

  void stop() {
    m_watch.stop(); // wakes the event streams first, so their threads can end
    m_http.stop();
  }

private:
  // Who acts for `req`: the identity header's value behind a proxy (nobody
  // when it is missing, empty, repeated or malformed), else the local actor.
  std::string actor_of(const httplib::Request& req) const {
    if (m_options.identity_header.empty()) {
      return m_options.local_actor;
    }
    if (req.get_header_value_count(m_options.identity_header) != 1) {
      return {};
    }
    return identity_from_header(req.get_header_value(m_options.identity_header));
  }

  static std::map<std::string, std::string> query_of(const httplib::Request& req) {
    std::map<std::string, std::string> query;
    for (const auto& [key, value] : req.params) {
      query.emplace(key, value); // the first of repeated keys
    }
    return query;
  }

  void routes() {
    m_http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!m_guard->host_allowed(req.get_header_value("Host"))) {
        send_json(res, 403,
                  refusal("this server does not answer to host '" + req.get_header_value("Host") +
                              "'",
                          "open it as http://" + m_guard->allowed_hosts().front() +
                              "/, or behind a proxy start it with --origin URL (the URL people "
                              "open)"));
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    m_http.set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
          const cli::ErrorReport report = cli::error_report(error);
          send_json(res, status_of(report), cli::error_json(report));
        });
    m_http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) {
        return;
      }
      if (res.status == 404) {
        send_json(res, 404,
                  error_body(util::Exit::usage, "usage",
                             "no such page or API: " + req.method + " " + req.path,
                             "the API is described in docs/json.md (envflow serve)"));
      } else if (res.status >= 400 && res.status < 500) {
        // httplib's own refusals (no Content-Length, a body too large, ...).
        send_json(res, res.status,
                  error_body(util::Exit::usage, "usage",
                             "malformed request (HTTP " + std::to_string(res.status) + ")",
                             "a POST carries a JSON object as its body, `{}` at least"));
      }
    });

    page("/", pipeline_view);
    page("/releases", releases_view);
    page("/backports", backports_view);
    page("/variables", variables_view);
    page("/log", log_view);
    page("/diff", diff_view);
    m_http.Get("/assets/([A-Za-z0-9._-]+)", [](const httplib::Request& req, httplib::Response& res) {
      for (const Asset& asset : k_assets) {
        if (req.matches[1] == asset.path) {
          const auto data = util::embedded_file(std::string("web/") + asset.path);
          if (data) {
            res.set_header("Cache-Control", "public, max-age=3600");
            res.set_content(data->data(), data->size(), asset.type);
            return;
          }
        }
      }
      res.status = 404;
    });
    m_http.Get("/favicon.ico", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("/assets/favicon.svg", 301);
    });

    read("/api/status", [](const httplib::Request&) { return Args{"status"}; });
    // As the commands list them: the newest releases, the open issues;
    // `limit` (0: all) and, for issues, `state` (open, closed or all) as
    // their options.
    const auto listing = [](Args args, const httplib::Request& req) {
      if (const std::string limit = req.get_param_value("limit");
          !limit.empty() && limit.size() < 10 &&
          limit.find_first_not_of("0123456789") == std::string::npos) {
        args.push_back("--limit=" + limit);
      }
      return args;
    };
    read("/api/releases",
         [listing](const httplib::Request& req) { return listing(Args{"releases"}, req); });
    read("/api/backports", [listing](const httplib::Request& req) {
      Args args{"backport", "list"};
      if (const std::string state = req.get_param_value("state");
          state == "open" || state == "closed" || state == "all") {
        args.push_back("--state=" + state);
      }
      return listing(std::move(args), req);
    });
    read("/api/holds", [](const httplib::Request&) { return Args{"hold", "list"}; });
    read("/api/log", [](const httplib::Request& req) {
      Args args{"log"};
      for (const char* key : {"env", "op", "by"}) {
        if (const std::string value = req.get_param_value(key); !value.empty()) {
          args.push_back(std::string("--") + key + "=" + value);
        }
      }
      if (const std::string limit = req.get_param_value("limit");
          !limit.empty() && limit.size() < 10 &&
          limit.find_first_not_of("0123456789") == std::string::npos) {
        args.push_back("--max-count=" + limit);
      }
      return args;
    });
    read("/api/variables/([^/]+)", [](const httplib::Request& req) {
      return Args{"var", "list", "--env=" + std::string(req.matches[1])};
    });
    read("/api/diff", [](const httplib::Request& req) {
      if (!req.has_param("from") || !req.has_param("to")) {
        throw util::UsageError("GET /api/diff?from=A&to=B[&values=1]: both sides are needed");
      }
      Args args{"diff", "--", req.get_param_value("from"), req.get_param_value("to")};
      const std::string values = req.get_param_value("values");
      if (!values.empty() && values != "0" && values != "false") {
        args.insert(args.begin() + 1, "--values");
      }
      return args;
    });
    m_http.Get("/api/me", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string actor = actor_of(req);
      Json me{{"actor", actor.empty() ? Json(nullptr) : Json(actor)},
              {"read_only", m_options.read_only},
              {"csrf_token", m_csrf}};
      try {
        const core::pipeline::Session session = open_session(actor);
        me["may"] = session.has_config() && !m_options.read_only
                        ? rights_json(session.config(), actor)
                        : Json(nullptr);
      } catch (...) {
        me["may"] = nullptr;
      }
      send_json(res, 200, me);
    });
    m_http.Get("/api/version", [this](const httplib::Request&, httplib::Response& res) {
      send_json(res, 200, {{"version", m_watch.version()}});
    });
    m_http.Get("/api/events", [this](const httplib::Request&, httplib::Response& res) {
      events(res);
    });

    for (const Action& action : actions()) {
      m_http.Post(action.route, [this, &action](const httplib::Request& req,
                                                httplib::Response& res) { act(action, req, res); });
    }
  }

  using Args = std::vector<std::string>;

  // The commands run for `actor`; `offline` once this request has read the view.
  CommandRunner runner(const std::string& actor, bool offline) const {
    return CommandRunner{m_options.repo_path, actor, m_options.remote,
                         m_options.push, offline};
  }

  // The state a page shows, read once per request (a clone fetches its server).
  core::pipeline::Session open_session(const std::string& actor) const {
    return core::pipeline::Session::open(
        m_options.repo_path, core::pipeline::SessionOptions{actor, false, m_options.remote, false});
  }

  // A GET of the JSON API: the document of the command `args` names (it reads, never writes).
  template <typename Command> void read(const char* pattern, Command command) {
    m_http.Get(pattern, [this, command](const httplib::Request& req, httplib::Response& res) {
      Args args;
      try {
        args = command(req);
      } catch (...) {
        const cli::ErrorReport report = cli::error_report(std::current_exception());
        return send_json(res, status_of(report), cli::error_json(report));
      }
      const CommandReply reply = runner(actor_of(req), false).run(args);
      send_json(res, http_status(reply), reply.body);
    });
  }

  // A page: the shell of web/page.html around `view`'s content.
  void page(const char* path, View (*view)(const ViewContext&)) {
    m_http.Get(path, [this, path, view](const httplib::Request& req, httplib::Response& res) {
      const std::string actor = actor_of(req);
      const std::uint64_t version = m_watch.version();
      std::optional<core::policy::PipelineConfig> config;
      View shown;
      int status = 200;
      try {
        const core::pipeline::Session session = open_session(actor);
        config = session.config();
        const core::model::Pipeline pipeline = session.pipeline();
        const CommandRunner commands = runner(actor, true);
        shown = view({pipeline, pipeline.repo, pipeline.config, commands, actor,
                      m_options.read_only, query_of(req)});
      } catch (...) {
        const cli::ErrorReport report = cli::error_report(std::current_exception());
        status = status_of(report);
        shown = {"Error", "<div class=\"banner banner-danger\"><p><strong>" +
                              escape(report.code) + ":</strong> " +
                              escape(report.message) + "</p></div>"};
      }
      const std::string html = fill(
          m_page_template,
          {{"title", escape(shown.title)},
           {"repository", escape(m_repo_name)},
           {"csrf", escape(m_csrf)},
           {"nav", navigation(path)},
           {"who", identity_text(config ? &*config : nullptr, actor, m_options.read_only,
                                 m_options.identity_header)},
           {"version", std::to_string(version)},
           {"envflow_version", escape(ENVFLOW_VERSION)},
           {"content", shown.content}});
      res.status = status;
      res.set_header("Cache-Control", "no-store");
      res.set_content(html, "text/html; charset=utf-8");
    });
  }

  // POST: the page's own request (same origin, CSRF token), by someone,
  // then the action, one at a time.
  void act(const Action& action, const httplib::Request& req, httplib::Response& res) {
    const std::string actor = actor_of(req);
    const auto refuse = [&](const std::string& message, const std::string& hint) {
      log(actor, action, req, 403);
      send_json(res, 403, refusal(message, hint));
    };
    if (!m_guard->same_origin(req.get_header_value("Origin"),
                              req.get_header_value("Sec-Fetch-Site"), req.get_header_value("Host"))) {
      return refuse("cross-origin request refused: only the page itself may act",
                    "open the page and press its buttons; behind a proxy, start envflow serve "
                    "with --origin URL (the URL people open)");
    }
    if (!token_matches(req.get_header_value(k_csrf_header), m_csrf)) {
      return refuse("missing or wrong CSRF token (header X-Envflow-CSRF)",
                    "reload the page (the token changes when envflow serve restarts); scripts "
                    "read it from GET /api/me");
    }
    if (m_options.read_only) {
      return refuse("this page is read only (envflow serve --read-only)",
                    "use the envflow command, or a page served without --read-only");
    }
    if (actor.empty()) {
      return refuse(m_options.identity_header.empty()
                        ? "who is acting is unknown, so nothing can be done here"
                        : "the proxy named nobody (header " + m_options.identity_header + ")",
                    m_options.identity_header.empty()
                        ? "start envflow serve with --actor NAME, or set git config user.email"
                        : "sign in through the proxy that sets " + m_options.identity_header);
    }
    ActionRequest request;
    for (std::size_t i = 1; i < req.matches.size(); ++i) {
      request.args.push_back(req.matches[i]);
    }
    if (!req.body.empty()) {
      const std::string type = req.get_header_value("Content-Type");
      request.body = util::parse_json(req.body, util::BadJson::discard);
      if (!type.starts_with("application/json") || !request.body.is_object()) {
        log(actor, action, req, 400);
        return send_json(res, 400,
                         error_body(util::Exit::usage, "usage",
                                    "the body must be a JSON object (Content-Type: "
                                    "application/json)",
                                    action.usage));
      }
    }
    ActionReply reply;
    {
      const std::lock_guard<std::mutex> lock(m_action_mutex);
      reply = perform(action, runner(actor, false), request);
    }
    m_watch.poke();
    log(actor, action, req, reply.status);
    send_json(res, reply.status, reply.body);
  }

  static void log(const std::string& actor, const Action& action, const httplib::Request& req,
                  int status) {
    std::fprintf(stderr, "envflow serve: %s %s by %s: %d\n", action.name, req.path.c_str(),
                 actor.empty() ? "(nobody)" : actor.c_str(), status);
  }

  // Server-sent events: "hello" with the version of the refs at once, then
  // "refs" whenever they change, and a comment every k_ping_interval so a
  // closed connection is noticed.
  void events(httplib::Response& res) {
    if (m_streams.fetch_add(1) >= k_max_streams) {
      m_streams.fetch_sub(1);
      send_json(res, 503,
                error_body(util::Exit::io, "io", "too many live pages", "the page polls instead"));
      return;
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no"); // nginx: pass each event on at once
    auto seen = std::make_shared<std::uint64_t>(0);
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, seen](std::size_t, httplib::DataSink& sink) {
          std::string chunk;
          if (*seen == 0) {
            *seen = m_watch.version();
            chunk = "retry: 2000\nevent: hello\ndata: {\"version\": " + std::to_string(*seen) +
                    "}\n\n";
          } else {
            const std::uint64_t now = m_watch.wait(
                *seen, std::chrono::duration_cast<std::chrono::milliseconds>(k_ping_interval));
            if (now == 0) {
              sink.done(); // the server stops
              return true;
            }
            if (now != *seen) {
              *seen = now;
              chunk = "event: refs\ndata: {\"version\": " + std::to_string(now) + "}\n\n";
            } else {
              chunk = ": ping\n\n";
            }
          }
          return sink.write(chunk.data(), chunk.size());
        },
        [this](bool) { m_streams.fetch_sub(1); });
  }

  const Options& m_options;
  const std::string m_csrf;
  RefWatch m_watch;
  std::string m_page_template;
  std::string m_repo_name;
  std::optional<RequestGuard> m_guard;
  httplib::Server m_http;
  std::mutex m_action_mutex;
  std::atomic<int> m_streams{0};
};

} // namespace

void run_server(const Options& options) {
  if (options.listen.host.empty()) {
    throw util::UsageError("--listen needs an address");
  }
  // SIGINT and SIGTERM end the server from a thread of their own (stopping
  // it from a signal handler is not safe); every thread started from here
  // on inherits the mask. SIGPIPE: a page closed mid-answer is no reason to die.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &signals, &previous);
  std::signal(SIGPIPE, SIG_IGN);

  std::atomic<bool> done{false};
  std::optional<Server> server;
  std::mutex server_mutex;
  std::thread waiter([&] {
    const timespec tick{0, 200 * 1000 * 1000};
    bool stopping = false;
    while (!done) {
      // Once signalled, stop again on every tick: a stop that comes before
      // the server listens would otherwise be lost.
      stopping = sigtimedwait(&signals, nullptr, &tick) > 0 || stopping;
      if (stopping) {
        const std::lock_guard<std::mutex> lock(server_mutex);
        if (server) {
          server->stop();
        }
      }
    }
  });
  const auto finish = [&] {
    done = true;
    waiter.join();
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  };
  try {
    {
      const std::lock_guard<std::mutex> lock(server_mutex);
      server.emplace(options);
    }
    server->run();
  } catch (...) {
    finish();
    throw;
  }
  finish();
}

} // namespace envflow::serve
