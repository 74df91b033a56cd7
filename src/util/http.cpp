#include "util/http.h"

#include <algorithm>
#include <memory>

#include <curl/curl.h>

namespace envflow::util {

namespace {

template <auto F> struct Deleter {
  template <typename T> void operator()(T* p) const { F(p); }
};
using Easy = std::unique_ptr<CURL, Deleter<curl_easy_cleanup>>;
using HeaderList = std::unique_ptr<curl_slist, Deleter<curl_slist_free_all>>;

// curl_global_init is not thread-safe in libcurl 7.88: a function-local
// static runs it exactly once, whichever thread gets here first.
bool global_init() {
  static const bool ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  return ok;
}

size_t discard(char*, size_t size, size_t count, void*) { return size * count; }

} // namespace

HttpResponse http_post(const HttpRequest& request) {
  HttpResponse response;
  if (!global_init()) {
    response.error = "libcurl could not be initialised";
    return response;
  }
  Easy easy(curl_easy_init());
  if (!easy) {
    response.error = "libcurl could not be initialised";
    return response;
  }
  HeaderList headers;
  for (const auto& [name, value] : request.headers) {
    curl_slist* grown = curl_slist_append(headers.get(), (name + ": " + value).c_str());
    if (grown == nullptr) {
      response.error = "out of memory";
      return response;
    }
    headers.release();
    headers.reset(grown);
  }
  // No "Expect: 100-continue" round trip before larger bodies.
  if (curl_slist* grown = curl_slist_append(headers.get(), "Expect:"); grown != nullptr) {
    headers.release();
    headers.reset(grown);
  }
  const long timeout_ms = std::max<long>(1, static_cast<long>(request.timeout.count()));
  char error_text[CURL_ERROR_SIZE] = "";
  CURL* h = easy.get();
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  // Threads: no signals for DNS timeouts (the threaded resolver needs none).
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  const CURLcode code = curl_easy_perform(h);
  if (code != CURLE_OK) {
    response.error = error_text[0] != '\0' ? error_text : curl_easy_strerror(code);
    return response;
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  return response;
}

} // namespace envflow::util
