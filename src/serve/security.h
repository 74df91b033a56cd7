#pragma once

#include <string>
#include <string_view>
#include <vector>

// What keeps `envflow serve` safe by construction, as functions of request
// headers alone (no sockets here, so each rule is unit tested): the listen
// address, which Host and Origin a request may carry, the CSRF token, and
// who is acting behind an authenticating proxy.
namespace envflow::serve {

struct ListenAddress {
  std::string host; // "127.0.0.1", "::1", "localhost", "0.0.0.0", ...
  int port = 0;     // 0: any free port (the server says which)

  // "127.0.0.1:8080", "[::1]:8080".
  std::string text() const;
};

// Parse `--listen`: HOST:PORT, or [IPV6]:PORT. Throws util::UsageError
// saying what is expected.
ListenAddress parse_listen(std::string_view text);

// True for 127.0.0.0/8, ::1 and "localhost": only this machine can connect.
bool is_loopback(std::string_view host);

// The rules a request must pass. Built once from the command line.
class RequestGuard {
public:
  // `listen`: where the server is bound, with the port actually bound.
  // `origins`: the public origins (scheme://host[:port]) the page is served
  // under behind a proxy (`--origin`).
  RequestGuard(const ListenAddress& listen, std::vector<std::string> origins);

  // A request's Host header must name this server: a loopback name with the
  // bound port, or the host of an --origin. Stops DNS rebinding, where a
  // page of another site reaches 127.0.0.1 under its own name. Checked only
  // when bound to loopback or when --origin was given (a server bound to
  // every interface is reached under names it cannot know).
  bool host_allowed(std::string_view host) const;

  // A POST must come from the page itself: its Origin header (browsers send
  // one with every POST) is http(s)://HOST of the request or an --origin;
  // without Origin, a Sec-Fetch-Site header must say "same-origin"; a
  // request with neither comes from no browser (curl, a script) and passes
  // (it still needs the CSRF token).
  bool same_origin(std::string_view origin, std::string_view sec_fetch_site,
                   std::string_view host) const;

  const std::vector<std::string>& allowed_hosts() const { return m_hosts; }

private:
  std::vector<std::string> m_hosts;   // "127.0.0.1:8080", "releases.example.com", ...
  std::vector<std::string> m_origins; // normalised, without a trailing '/'
  bool m_check_host = true;
};

// A fresh CSRF token: 32 random bytes from the kernel, as 64 hex digits.
// Throws util::IoError when no randomness can be read.
std::string random_token();

// True when `given` equals `expected`, compared in time that does not
// depend on where they differ. An empty `expected` matches nothing.
bool token_matches(std::string_view given, std::string_view expected);

// The person named by an identity header's value (`--identity-header`):
// trimmed; "" when empty, longer than 256 bytes or holding a control
// character (nobody is acting then).
std::string identity_from_header(std::string_view value);

// `origin` as compared: lower-case scheme and host, no trailing '/'. "" when
// it is not scheme://host[:port].
std::string normalize_origin(std::string_view origin);

} // namespace envflow::serve
