#include <doctest/doctest.h>

#include <string>

#include "core/model/refs.h"

using namespace envflow::core::model;

TEST_CASE("short_id shortens an object id and names the missing one") {
  const std::string id = "0123456789abcdef0123456789abcdef01234567";
  CHECK(short_id(id) == "0123456");
  CHECK(short_id(std::string(40, '0')) == "(none)");
  CHECK(short_id("") == "(none)");
}

TEST_CASE("short_rev shortens only object ids: a branch name stays whole") {
  CHECK(short_rev("0123456789abcdef0123456789abcdef01234567") == "0123456");
  CHECK(short_rev("production") == "production");
  CHECK(short_rev("v1.2.3") == "v1.2.3");
  CHECK(short_rev("HEAD~2") == "HEAD~2");
  // Not 40 lowercase hex digits: a name git would resolve, shown as given.
  CHECK(short_rev("0123456789ABCDEF0123456789ABCDEF01234567") ==
        "0123456789ABCDEF0123456789ABCDEF01234567");
}
