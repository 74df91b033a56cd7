#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

// A small HTTP client over libcurl; libcurl stays inside http.cpp.
namespace envflow::util {

struct HttpRequest {
  std::string url; // http:// or https:// (no other scheme is ever used)
  std::vector<std::pair<std::string, std::string>> headers; // name, value
  std::string body;
  // The whole exchange (resolve, connect, TLS, send, answer) ends by then.
  std::chrono::milliseconds timeout{5000};
};

struct HttpResponse {
  int status = 0;    // the HTTP status; 0 when no answer came
  std::string error; // why no answer came ("" when one did)
};

// POST `request` and wait for the answer's status (its body is read and
// dropped). Never follows redirects, verifies TLS certificates against the
// system's store, honours the usual proxy variables (http_proxy, no_proxy).
// Never throws for network trouble: that is in `error`. Thread-safe.
HttpResponse http_post(const HttpRequest& request);

} // namespace envflow::util
