#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "core/policy/context.h"
#include "util/error.h"

using namespace envflow;

TEST_CASE("core::policy::resolve_actor") {
  SUBCASE("--actor comes first") {
    CHECK(core::policy::resolve_actor("alice@example.com", nullptr) == "alice@example.com");
  }
  SUBCASE("then ENVFLOW_ACTOR") {
    ::setenv("ENVFLOW_ACTOR", "bob", 1);
    CHECK(core::policy::resolve_actor("", nullptr) == "bob");
    ::unsetenv("ENVFLOW_ACTOR");
  }
  SUBCASE("nobody known") {
    ::unsetenv("ENVFLOW_ACTOR");
    CHECK_THROWS_AS(core::policy::resolve_actor("", nullptr), util::UsageError);
  }
  // Found by fuzzing the audit record: a line break in the actor used to
  // write a record with forged fields and a commit author git cannot read.
  SUBCASE("a control character is refused, wherever the actor comes from") {
    CHECK_THROWS_WITH_AS(core::policy::resolve_actor("eve\nop: publish", nullptr),
                         doctest::Contains("the actor from --actor holds a line break"),
                         util::UsageError);
    CHECK_THROWS_AS(core::policy::resolve_actor("eve\r", nullptr), util::UsageError);
    CHECK_THROWS_AS(core::policy::resolve_actor(std::string("eve\x7f"), nullptr), util::UsageError);
    ::setenv("ENVFLOW_ACTOR", "eve\tx", 1);
    CHECK_THROWS_WITH_AS(core::policy::resolve_actor("", nullptr),
                         doctest::Contains("the actor from ENVFLOW_ACTOR"), util::UsageError);
    ::unsetenv("ENVFLOW_ACTOR");
    CHECK(core::policy::resolve_actor("Zoë Doe <zoe@example.com>", nullptr) ==
          "Zoë Doe <zoe@example.com>");
  }
}
