// Hotfixes (core/hotfix.h): which names a hotfix branch may carry. Starting
// and finishing one: tests/e2e/test_hotfix.sh.

#include <doctest/doctest.h>

#include <string>

#include "core/release/hotfix.h"

using namespace envflow;

TEST_CASE("core::release::valid_hotfix_name") {
  CHECK(core::release::valid_hotfix_name("fix-tone"));
  CHECK(core::release::valid_hotfix_name("2026.01_tone"));
  CHECK(core::release::valid_hotfix_name("Fix.2-b_c"));
  CHECK(core::release::valid_hotfix_name(std::string(100, 'a')));
  for (const char* bad : {"", "a/b", "a b", "a..b", "-x", ".x", "x.", "x.lock", "a~1", "a:b",
                          "a@{1}", "a*", "_x", "a'b", "a\"b", "a$b", "$(id)", "a;b", "a`b`",
                          "a|b", "a&b", "a\\b", "a\x1b[2J", "caf\xc3\xa9", "a\nb", "a@b",
                          "a+b", "a,b", "a=b", "a%b"}) {
    INFO(bad);
    CHECK_FALSE(core::release::valid_hotfix_name(bad));
  }
  CHECK_FALSE(core::release::valid_hotfix_name(std::string(101, 'a')));
}
