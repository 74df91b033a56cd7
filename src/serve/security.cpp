#include "serve/security.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>

#include "util/error.h"
#include "util/strings.h"

namespace envflow::serve {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// "host:port" of a normalised origin ("https://a.example:8443" -> "a.example:8443").
std::string_view authority(std::string_view origin) {
  const std::size_t at = origin.find("://");
  return at == std::string_view::npos ? std::string_view() : origin.substr(at + 3);
}

} // namespace

std::string ListenAddress::text() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

ListenAddress parse_listen(std::string_view text) {
  const auto usage = [&] {
    return util::UsageError("--listen takes ADDRESS:PORT (e.g. 127.0.0.1:8080 or [::1]:8080), not '" +
                            std::string(text) + "'");
  };
  ListenAddress address;
  std::string_view port;
  if (text.starts_with("[")) {
    const std::size_t close = text.find("]:");
    if (close == std::string_view::npos) {
      throw usage();
    }
    address.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      throw usage();
    }
    address.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  if (address.host.empty() || port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    throw usage();
  }
  address.port = std::stoi(std::string(port));
  if (address.port > 65535) {
    throw usage();
  }
  return address;
}

bool is_loopback(std::string_view host) {
  const std::string h = lower(host);
  if (h == "localhost" || h == "::1") {
    return true;
  }
  // 127.0.0.0/8, written as a dotted IPv4 address (not a name that starts with "127.").
  const std::vector<std::string> parts = util::split(h, '.');
  return parts.size() == 4 && parts[0] == "127" &&
         std::all_of(parts.begin(), parts.end(), [](const std::string& part) {
           return !part.empty() && part.size() <= 3 &&
                  part.find_first_not_of("0123456789") == std::string::npos &&
                  std::stoi(part) <= 255;
         });
}

std::string normalize_origin(std::string_view origin) {
  std::string o = lower(util::trim(origin));
  while (o.ends_with("/")) {
    o.pop_back();
  }
  if (!o.starts_with("http://") && !o.starts_with("https://")) {
    return {};
  }
  const std::string_view rest = authority(o);
  if (rest.empty() || rest.find_first_of("/?#@ ") != std::string_view::npos) {
    return {};
  }
  return o;
}

RequestGuard::RequestGuard(const ListenAddress& listen, std::vector<std::string> origins) {
  const std::string port = ":" + std::to_string(listen.port);
  m_check_host = is_loopback(listen.host) || !origins.empty();
  for (const char* name : {"127.0.0.1", "localhost", "[::1]"}) {
    m_hosts.push_back(name + port);
  }
  if (!is_loopback(listen.host)) {
    m_hosts.push_back(lower(ListenAddress{listen.host, listen.port}.text()));
  } else if (listen.host != "127.0.0.1" && listen.host != "localhost" && listen.host != "::1") {
    m_hosts.push_back(listen.host + port); // 127.0.0.2 and the like
  }
  for (const std::string& origin : origins) {
    const std::string o = normalize_origin(origin);
    if (o.empty()) {
      throw util::UsageError("--origin takes the URL people open, scheme://host[:port] (e.g. "
                             "https://releases.example.com), not '" +
                             origin + "'");
    }
    m_origins.push_back(o);
    m_hosts.emplace_back(authority(o));
  }
}

bool RequestGuard::host_allowed(std::string_view host) const {
  if (!m_check_host) {
    return true;
  }
  const std::string h = lower(host);
  return std::find(m_hosts.begin(), m_hosts.end(), h) != m_hosts.end();
}

bool RequestGuard::same_origin(std::string_view origin, std::string_view sec_fetch_site,
                               std::string_view host) const {
  if (origin.empty()) {
    return sec_fetch_site.empty() || sec_fetch_site == "same-origin";
  }
  const std::string o = normalize_origin(origin);
  if (o.empty()) {
    return false; // "null" (a sandboxed frame, a file:// page) or garbage
  }
  if (std::find(m_origins.begin(), m_origins.end(), o) != m_origins.end()) {
    return true;
  }
  const std::string h = lower(host);
  return !h.empty() && (o == "http://" + h || o == "https://" + h);
}

std::string random_token() {
  std::ifstream in("/dev/urandom", std::ios::binary);
  unsigned char bytes[32];
  if (!in.read(reinterpret_cast<char*>(bytes), sizeof bytes)) {
    throw util::IoError("cannot read /dev/urandom for the page's CSRF token");
  }
  std::string hex;
  for (const unsigned char b : bytes) {
    char pair[3];
    std::snprintf(pair, sizeof pair, "%02x", b);
    hex += pair;
  }
  return hex;
}

bool token_matches(std::string_view given, std::string_view expected) {
  if (expected.empty() || given.size() != expected.size()) {
    return false;
  }
  unsigned char diff = 0;
  for (std::size_t i = 0; i < given.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i] ^ expected[i]);
  }
  return diff == 0;
}

std::string identity_from_header(std::string_view value) {
  const std::string actor(util::trim(value));
  if (actor.size() > 256 || std::any_of(actor.begin(), actor.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
      })) {
    return {};
  }
  return actor;
}

} // namespace envflow::serve
