// The primitives events are signed with, against published test vectors.

#include "util/crypto.h"

#include <doctest/doctest.h>

#include <regex>
#include <string>

using namespace envflow;

TEST_CASE("util::hmac_sha256_hex") {
  SUBCASE("RFC 4231, test case 1") {
    CHECK(util::hmac_sha256_hex(std::string(20, '\x0b'), "Hi There") ==
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  }
  SUBCASE("RFC 4231, test case 2 (a key shorter than the block)") {
    CHECK(util::hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  }
  SUBCASE("RFC 4231, test case 6 (a key longer than the block)") {
    CHECK(util::hmac_sha256_hex(std::string(131, '\xaa'),
                                "Test Using Larger Than Block-Size Key - Hash Key First") ==
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  }
  SUBCASE("GitHub's webhook documentation example") {
    CHECK(util::hmac_sha256_hex("It's a Secret to Everybody", "Hello, World!") ==
          "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
  }
  SUBCASE("an empty key is a key") {
    CHECK(util::hmac_sha256_hex("", "") ==
          "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  }
}

TEST_CASE("util::sha256_hex") {
  CHECK(util::sha256_hex("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(util::sha256_hex("") ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("util::random_uuid and util::name_uuid") {
  const std::regex v4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  const std::regex v8("^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  const std::string a = util::random_uuid();
  CHECK(std::regex_match(a, v4));
  CHECK(a != util::random_uuid());
  const std::string n = util::name_uuid("envflow event\nabc\nsync\n");
  CHECK(std::regex_match(n, v8));
  CHECK(n == util::name_uuid("envflow event\nabc\nsync\n"));
  CHECK(n != util::name_uuid("envflow event\nabc\npublish\n"));
}
