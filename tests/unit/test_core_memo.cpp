#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/workspace/memo.h"
#include "support.h"

namespace fs = std::filesystem;
using envflow::core::workspace::ObjectMemo;
using namespace envflow::test;

namespace {

} // namespace

TEST_CASE("core::workspace::ObjectMemo") {
  TempDir dir;
  const fs::path file = dir.path() / "memo" / "kind-1";

  SUBCASE("what a run inserts, the next run finds; nothing written when nothing is new") {
    {
      ObjectMemo memo(file.string());
      CHECK(memo.find(k_a) == nullptr);
      memo.insert(k_a, {{"tag", "v1.0.0"}, {"text", "line\nbreak\ttab \"quoted\" ü"}});
      memo.insert(k_b, nullptr);
    }
    REQUIRE(fs::exists(file));
    const auto written = fs::last_write_time(file);
    ObjectMemo memo(file.string());
    const nlohmann::json* a = memo.find(k_a);
    REQUIRE(a != nullptr);
    CHECK(a->at("text") == "line\nbreak\ttab \"quoted\" ü");
    const nlohmann::json* b = memo.find(k_b);
    REQUIRE(b != nullptr);
    CHECK(b->is_null());
    memo.save();
    CHECK(fs::last_write_time(file) == written);
  }

  SUBCASE("a file cut short, edited or of another format is ignored as a whole") {
    {
      ObjectMemo memo(file.string());
      memo.insert(k_a, 1);
      memo.insert(k_b, 2);
    }
    const std::string whole = read_file(file);
    for (const std::string& broken :
         {whole.substr(0, whole.size() / 2), whole.substr(0, whole.size() - 1),
          [&] {
            std::string t = whole;
            t[t.find('\t') + 1] = '7'; // a value changed by hand: the sum no longer holds
            return t;
          }(),
          std::string("envflow memo 2\n") + whole.substr(whole.find('\n') + 1), std::string()}) {
      write_file(file, broken);
      ObjectMemo memo(file.string());
      CHECK(memo.find(k_a) == nullptr);
      CHECK(memo.find(k_b) == nullptr);
      memo.insert(k_a, 3); // and the next save writes a whole file again
      memo.save();
      ObjectMemo again(file.string());
      REQUIRE(again.find(k_a) != nullptr);
      CHECK(*again.find(k_a) == 3);
    }
  }

  SUBCASE("a temporary file left by a crash before the rename changes nothing") {
    {
      ObjectMemo memo(file.string());
      memo.insert(k_a, 1);
    }
    write_file(file.parent_path() / ".tmp-kind-1-12345", "envflow memo 1\nhalf");
    ObjectMemo memo(file.string());
    REQUIRE(memo.find(k_a) != nullptr);
    CHECK(*memo.find(k_a) == 1);
  }

  SUBCASE("off: every find a miss, nothing written") {
    ObjectMemo memo{std::string()};
    memo.insert(k_a, 1);
    CHECK(memo.find(k_a) == nullptr);
    memo.save();
    CHECK(fs::is_empty(dir.path()));
  }
}
