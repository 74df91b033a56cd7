// The pipeline at a glance (core/status.h): heads, what waits for the next
// environment, holds. Text and JSON output: tests/e2e/test_status.sh.

#include <doctest/doctest.h>

#include <string>

#include "core/records/hold.h"
#include "core/pipeline/session.h"
#include "core/pipeline/status.h"
#include "support.h"
#include "sync_fixture.h"

using namespace envflow;
using namespace envflow::test;

TEST_CASE("core::pipeline::pipeline_status") {
  SyncPipeline p;
  const auto status_now = [&] {
    const core::pipeline::Session session = p.session();
    return core::pipeline::pipeline_status(session.pipeline());
  };

  SUBCASE("a fresh pipeline: every environment at init's commit, nothing waiting") {
    const core::pipeline::PipelineStatus status = status_now();
    REQUIRE(status.environments.size() == 5);
    for (const auto& env : status.environments) {
      CAPTURE(env.name);
      CHECK(env.branch == env.name);
      CHECK(env.head == p.head(env.name));
      CHECK(env.waiting_commits == 0);
      CHECK_FALSE(env.hold);
      CHECK(env.problems.empty());
    }
    CHECK(status.environments.front().next == "test");
    CHECK(status.environments.back().next.empty());
    CHECK_FALSE(status.live);
  }
  SUBCASE("a commit on dev waits for test") {
    const std::string id = p.commit_dev("Tune the support agent");
    const core::pipeline::PipelineStatus status = status_now();
    const auto& dev = status.environments[0];
    CHECK(dev.head == id);
    CHECK(dev.head_summary == "Tune the support agent");
    CHECK(dev.waiting_commits == 1);
    CHECK(status.environments[1].waiting_commits == 0);
  }
  SUBCASE("a hold on production") {
    p.hold("production", core::records::Hold::Kind::manual, "incident freeze");
    const core::pipeline::PipelineStatus status = status_now();
    const auto& production = status.environments.back();
    REQUIRE(production.hold);
    CHECK(production.hold->reason == "incident freeze");
    CHECK(production.hold->kind == core::records::Hold::Kind::manual);
    CHECK_FALSE(status.environments[3].hold);
  }
}
