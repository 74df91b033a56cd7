#include <doctest/doctest.h>

#include "serve/security.h"
#include "util/error.h"

using namespace envflow;

TEST_CASE("serve::parse_listen") {
  SUBCASE("address and port") {
    const auto a = serve::parse_listen("127.0.0.1:8080");
    CHECK(a.host == "127.0.0.1");
    CHECK(a.port == 8080);
    CHECK(a.text() == "127.0.0.1:8080");
  }
  SUBCASE("IPv6 in brackets") {
    const auto a = serve::parse_listen("[::1]:0");
    CHECK(a.host == "::1");
    CHECK(a.port == 0);
    CHECK(a.text() == "[::1]:0");
  }
  SUBCASE("malformed") {
    for (const char* bad : {"8080", "127.0.0.1", ":8080", "host:", "host:http", "::1:80",
                            "[::1]80", "host:70000", "host:123456"}) {
      INFO(bad);
      CHECK_THROWS_AS(serve::parse_listen(bad), util::UsageError);
    }
  }
}

TEST_CASE("serve::is_loopback") {
  CHECK(serve::is_loopback("127.0.0.1"));
  CHECK(serve::is_loopback("127.1.2.3"));
  CHECK(serve::is_loopback("::1"));
  CHECK(serve::is_loopback("LocalHost"));
  CHECK_FALSE(serve::is_loopback("0.0.0.0"));
  CHECK_FALSE(serve::is_loopback("::"));
  CHECK_FALSE(serve::is_loopback("192.168.1.2"));
  CHECK_FALSE(serve::is_loopback("127.example.com.evil")); // not an address: 127. prefix of a name
}

TEST_CASE("serve::RequestGuard") {
  SUBCASE("loopback: only loopback names with the bound port") {
    const serve::RequestGuard guard({"127.0.0.1", 8080}, {});
    CHECK(guard.host_allowed("127.0.0.1:8080"));
    CHECK(guard.host_allowed("localhost:8080"));
    CHECK(guard.host_allowed("LOCALHOST:8080"));
    CHECK(guard.host_allowed("[::1]:8080"));
    CHECK_FALSE(guard.host_allowed("127.0.0.1:9090"));
    CHECK_FALSE(guard.host_allowed("evil.example:8080")); // DNS rebinding
    CHECK_FALSE(guard.host_allowed(""));
  }
  SUBCASE("behind a proxy: the origin's host too") {
    const serve::RequestGuard guard({"127.0.0.1", 8080}, {"https://Releases.Example.com/"});
    CHECK(guard.host_allowed("releases.example.com"));
    CHECK(guard.host_allowed("127.0.0.1:8080"));
    CHECK(guard.same_origin("https://releases.example.com", "", "127.0.0.1:8080"));
    CHECK_FALSE(guard.same_origin("http://releases.example.com", "", "127.0.0.1:8080"));
  }
  SUBCASE("every interface without --origin: any host name") {
    const serve::RequestGuard guard({"0.0.0.0", 8080}, {});
    CHECK(guard.host_allowed("build-box:8080"));
  }
  SUBCASE("same origin") {
    const serve::RequestGuard guard({"127.0.0.1", 8080}, {});
    CHECK(guard.same_origin("http://127.0.0.1:8080", "same-origin", "127.0.0.1:8080"));
    CHECK(guard.same_origin("http://localhost:8080", "", "localhost:8080"));
    CHECK_FALSE(guard.same_origin("http://evil.example", "cross-site", "127.0.0.1:8080"));
    CHECK_FALSE(guard.same_origin("http://127.0.0.1:8081", "", "127.0.0.1:8080"));
    CHECK_FALSE(guard.same_origin("null", "", "127.0.0.1:8080"));
    // No Origin: a browser says where it comes from in Sec-Fetch-Site.
    CHECK(guard.same_origin("", "same-origin", "127.0.0.1:8080"));
    CHECK_FALSE(guard.same_origin("", "cross-site", "127.0.0.1:8080"));
    CHECK_FALSE(guard.same_origin("", "same-site", "127.0.0.1:8080"));
    // Neither: not a browser (curl); the CSRF token still decides.
    CHECK(guard.same_origin("", "", "127.0.0.1:8080"));
  }
  SUBCASE("a malformed --origin is a usage error") {
    CHECK_THROWS_AS(serve::RequestGuard({"127.0.0.1", 1}, {"releases.example.com"}),
                    util::UsageError);
    CHECK_THROWS_AS(serve::RequestGuard({"127.0.0.1", 1}, {"https://a.example/path"}),
                    util::UsageError);
  }
}

TEST_CASE("serve tokens and identities") {
  SUBCASE("random_token") {
    const std::string a = serve::random_token();
    CHECK(a.size() == 64);
    CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(a != serve::random_token());
  }
  SUBCASE("token_matches") {
    CHECK(serve::token_matches("abc", "abc"));
    CHECK_FALSE(serve::token_matches("abd", "abc"));
    CHECK_FALSE(serve::token_matches("ab", "abc"));
    CHECK_FALSE(serve::token_matches("", ""));
  }
  SUBCASE("identity_from_header") {
    CHECK(serve::identity_from_header("  alice  ") == "alice");
    CHECK(serve::identity_from_header("").empty());
    CHECK(serve::identity_from_header("alice\nop: publish").empty());
    CHECK(serve::identity_from_header(std::string(300, 'a')).empty());
  }
}
