#include <doctest/doctest.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <sys/wait.h>
#include <unistd.h>

#include "support.h"
#include "util/fault.h"

using namespace envflow;

namespace {

// Run `points` in a child process with ENVFLOW_FAULT=`fault` (unset when
// empty) and the trace in `trace`; returns the raw wait status.
int run_points(const std::string& fault, const std::string& trace,
               const std::vector<const char*>& points) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (fault.empty()) {
      ::unsetenv("ENVFLOW_FAULT");
    } else {
      ::setenv("ENVFLOW_FAULT", fault.c_str(), 1);
    }
    if (trace.empty()) {
      ::unsetenv("ENVFLOW_FAULT_TRACE");
    } else {
      ::setenv("ENVFLOW_FAULT_TRACE", trace.c_str(), 1);
    }
    util::detail::reload_fault_config();
    for (const char* point : points) {
      util::fault_point(point);
    }
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return status;
}

bool killed(int status) { return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL; }

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

} // namespace

TEST_CASE("util::parse_fault_spec") {
  const auto spec = util::parse_fault_spec("commit-written:3");
  REQUIRE(spec);
  CHECK(spec->name == "commit-written");
  CHECK(spec->hit == 3);
  const auto any = util::parse_fault_spec("*:12");
  REQUIRE(any);
  CHECK(any->name == "*");
  CHECK(any->hit == 12);
  CHECK_FALSE(util::parse_fault_spec(""));
  CHECK_FALSE(util::parse_fault_spec("commit-written"));
  CHECK_FALSE(util::parse_fault_spec("commit-written:"));
  CHECK_FALSE(util::parse_fault_spec(":3"));
  CHECK_FALSE(util::parse_fault_spec("*:0"));
  CHECK_FALSE(util::parse_fault_spec("*:3x"));
  CHECK_FALSE(util::parse_fault_spec("*:-1"));
}

TEST_CASE("util::fault_point") {
  const test::TempDir dir;
  const std::string trace = (dir.path() / "trace").string();
  const std::vector<const char*> points = {"blob-written", "commit-written", "refs-locked",
                                           "commit-written", "refs-committed"};

  SUBCASE("unset: nothing happens") {
    const int status = run_points("", "", points);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  SUBCASE("trace only: every hit appended, no kill") {
    const int status = run_points("", trace, points);
    CHECK(WIFEXITED(status));
    CHECK(slurp(trace) ==
          "blob-written\ncommit-written\nrefs-locked\ncommit-written\nrefs-committed\n");
  }
  SUBCASE("NAME:N kills at the N-th hit of that point, after tracing it") {
    const int status = run_points("commit-written:2", trace, points);
    CHECK(killed(status));
    CHECK(slurp(trace) == "blob-written\ncommit-written\nrefs-locked\ncommit-written\n");
  }
  SUBCASE("*:N kills at the N-th hit of any point") {
    const int status = run_points("*:3", trace, points);
    CHECK(killed(status));
    CHECK(slurp(trace) == "blob-written\ncommit-written\nrefs-locked\n");
  }
  SUBCASE("N beyond the hits: runs to the end") {
    const int status = run_points("*:6", "", points);
    CHECK(WIFEXITED(status));
  }
  SUBCASE("malformed: no kill") {
    const int status = run_points("commit-written", "", points);
    CHECK(WIFEXITED(status));
  }
}
