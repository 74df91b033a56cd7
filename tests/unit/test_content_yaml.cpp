#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

#include "content/yaml.h"
#include "content/yaml_detail.h"
#include "util/json.h"

#include "support.h"

using envflow::content::Diagnostic;
using envflow::content::Entry;
using envflow::content::load_yaml;
using envflow::content::Value;
using envflow::content::YamlLimits;
using envflow::content::YamlResult;
using Type = envflow::content::Value::Type;

namespace {

const Diagnostic* find_rule(const YamlResult& result, const std::string& rule) {
  for (const Diagnostic& d : result.diagnostics) {
    if (d.rule == rule) {
      return &d;
    }
  }
  return nullptr;
}

// "[a, [a, [a, …]]]": `levels` nested flow sequences.
std::string nested_flow(std::size_t levels) {
  return std::string(levels, '[') + std::string(levels, ']');
}

// A billion-laughs document: `levels` anchors, each a list of ten aliases of the last.
std::string alias_bomb(int levels) {
  std::string text = "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i < levels; ++i) {
    // Numbers named, not "l" + std::to_string(i): GCC 12 at -O3 sees false
    // overlaps and sizes in libstdc++'s operator+(const char*, std::string&&).
    const std::string n = std::to_string(i);
    const std::string last = std::to_string(i - 1);
    const std::string prev = "*l" + last;
    text += "l" + n + ": &l" + n + " [";
    for (int j = 0; j < 10; ++j) {
      text += (j == 0 ? "" : ", ") + prev;
    }
    text += "]\n";
  }
  return text;
}

struct Scalar {
  const char* yaml; // the value of key `v`
  Type type;
  const char* string = "";
  std::int64_t integer = 0;
  double number = 0.0;
  bool boolean = false;
};

Scalar str(const char* yaml, const char* value) { return {yaml, Type::string, value}; }
Scalar integer(const char* yaml, std::int64_t value) { return {yaml, Type::integer, "", value}; }
Scalar number(const char* yaml, double value) { return {yaml, Type::number, "", 0, value}; }
Scalar boolean(const char* yaml, bool value) { return {yaml, Type::boolean, "", 0, 0.0, value}; }
Scalar null(const char* yaml) { return {yaml, Type::null}; }

} // namespace

TEST_CASE("content::load_yaml") {
  SUBCASE("scalar typing follows the YAML 1.2 core schema") {
    const double inf = std::numeric_limits<double>::infinity();
    const Scalar table[] = {
        integer("8080", 8080),
        str("\"8080\"", "8080"),
        str("'8080'", "8080"),
        str("yes", "yes"),
        str("no", "no"),
        str("Yes", "Yes"),
        str("on", "on"),
        str("off", "off"),
        str("y", "y"),
        str("n", "n"),
        boolean("true", true),
        boolean("True", true),
        boolean("TRUE", true),
        boolean("false", false),
        boolean("False", false),
        boolean("FALSE", false),
        str("tRUE", "tRUE"),
        null("~"),
        null("null"),
        null("Null"),
        null("NULL"),
        null(""),
        str("nULL", "nULL"),
        integer("0o17", 15),
        integer("0x1F", 31),
        integer("0x1f", 31),
        integer("017", 17),
        integer("-12", -12),
        integer("+3", 3),
        integer("0", 0),
        integer("-0", 0),
        integer("9223372036854775807", std::numeric_limits<std::int64_t>::max()),
        integer("-9223372036854775808", std::numeric_limits<std::int64_t>::min()),
        number("9223372036854775808", 9223372036854775808.0),
        number("99999999999999999999", 1e20),
        number("0x10000000000000000", 18446744073709551616.0),
        number("1.5", 1.5),
        number("1e3", 1000.0),
        number("-1.5E-2", -0.015),
        number("0.1e+5", 10000.0),
        number(".5", 0.5),
        number("+.5", 0.5),
        number("1.", 1.0),
        number("1e999", inf),
        number(".inf", inf),
        number("-.inf", -inf),
        number("+.INF", inf),
        number(".Inf", inf),
        str("'true'", "true"),
        str("\"null\"", "null"),
        str("'~'", "~"),
        str("|\n  text\n", "text\n"),
        str(">-\n  folded\n  lines\n", "folded lines"),
        str("!!str 12", "12"),
        str("!!str true", "true"),
        str("!!str", ""),
        integer("!!int \"12\"", 12),
        number("!!float 1", 1.0),
        boolean("!!bool \"false\"", false),
        null("!!null \"\""),
        str("2001-12-14", "2001-12-14"),
        str("1_000", "1_000"),
        str("0b101", "0b101"),
        str("12:30", "12:30"),
        str("0o8", "0o8"),
        str("0x", "0x"),
        str("-0x1F", "-0x1F"),
        str(".", "."),
        str("1.2.3", "1.2.3"),
        str("e3", "e3"),
        str("1e", "1e"),
        str("-.nan", "-.nan"),
        str(".Nan", ".Nan"),
        str("hello world", "hello world"),
        str("\"  spaced  \"", "  spaced  "),
    };
    CHECK(std::size(table) >= 40);
    for (const Scalar& c : table) {
      INFO("v: " << c.yaml);
      const YamlResult result = load_yaml(std::string("v: ") + c.yaml + "\n", "t.yaml");
      CHECK(result.diagnostics.empty());
      REQUIRE(result.value);
      const Value* v = result.value->find("v");
      REQUIRE(v != nullptr);
      CHECK(Value::type_name(v->type) == Value::type_name(c.type));
      switch (c.type) {
      case Type::string:
        CHECK(v->string == c.string);
        break;
      case Type::integer:
        CHECK(v->integer == c.integer);
        break;
      case Type::number:
        CHECK(v->number == c.number);
        break;
      case Type::boolean:
        CHECK(v->boolean == c.boolean);
        break;
      default:
        break;
      }
    }

    const YamlResult nan = load_yaml("a: .nan\nb: .NaN\nc: .NAN\n", "t.yaml");
    REQUIRE(nan.value);
    for (const Entry& entry : nan.value->members) {
      CHECK(entry.value.type == Type::number);
      CHECK(std::isnan(entry.value.number));
    }
  }

  SUBCASE("non-string scalars keep their source text") {
    const YamlResult result = load_yaml("a: 0x1F\nb: True\nc: ~\n", "t.yaml");
    REQUIRE(result.value);
    CHECK(result.value->find("a")->string == "0x1F");
    CHECK(result.value->find("b")->string == "True");
    CHECK(result.value->find("c")->string == "~");
  }

  SUBCASE("marks are 1-based") {
    const YamlResult result = load_yaml("name: app\n"
                                        "ports:\n"
                                        "  - 8080\n"
                                        "  - \"x\"\n"
                                        "empty:\n"
                                        "next: 1\n"
                                        "explicit: ~\n"
                                        "last:",
                                        "t.yaml");
    CHECK(result.diagnostics.empty());
    REQUIRE(result.value);
    const Value& root = *result.value;
    CHECK(root.mark.line == 1);
    CHECK(root.mark.column == 1);
    REQUIRE(root.members.size() == 6);
    CHECK(root.members[0].key_mark.line == 1);
    CHECK(root.members[0].key_mark.column == 1);
    CHECK(root.members[0].value.mark.line == 1);
    CHECK(root.members[0].value.mark.column == 7);
    const Value* ports = root.find("ports");
    REQUIRE(ports != nullptr);
    CHECK(ports->mark.line == 3);
    CHECK(ports->mark.column == 3);
    CHECK(ports->items[1].mark.line == 4);
    CHECK(ports->items[1].mark.column == 5);
    CHECK(root.members[1].key_mark.line == 2);

    // An empty value points at its key's line, just after the colon.
    const Value* empty = root.find("empty");
    REQUIRE(empty != nullptr);
    CHECK(empty->is_null());
    CHECK(empty->mark.line == 5);
    CHECK(empty->mark.column == 7);
    CHECK(root.find("explicit")->mark.line == 7);
    CHECK(root.find("explicit")->mark.column == 11);
    CHECK(root.find("last")->is_null());
    CHECK(root.find("last")->mark.line == 8);
  }

  SUBCASE("a null value before a `null:` key keeps its own line") {
    const YamlResult result = load_yaml("a:\nnull: 1\n", "t.yaml");
    REQUIRE(result.value);
    REQUIRE(result.value->members.size() == 2);
    CHECK(result.value->members[0].value.mark.line == 1);
    CHECK(result.value->members[1].key == "null");
  }

  SUBCASE("duplicate keys are reported at the second occurrence; the first is kept") {
    const YamlResult result = load_yaml("name: a\nkind: Agent\nname: b\n", "agents/a.yaml");
    REQUIRE(result.value);
    CHECK(result.value->members.size() == 2);
    CHECK(result.value->string_at("name") == "a");
    REQUIRE(result.diagnostics.size() == 1);
    const Diagnostic& d = result.diagnostics[0];
    CHECK(d.rule == "yaml-duplicate-key");
    CHECK(d.path == "agents/a.yaml");
    CHECK(d.mark.line == 3);
    CHECK(d.mark.column == 1);
    CHECK(d.message.find("\"name\"") != std::string::npos);
    CHECK(d.message.find("line 1") != std::string::npos);
  }

  SUBCASE("duplicate keys are found in large mappings too") {
    std::string text;
    for (int i = 0; i < 100; ++i) {
      const std::string n = std::to_string(i); // see alias_bomb
      text += "k" + n + ": " + n + "\n";
    }
    text += "k42: again\nk99: again\n";
    const YamlResult result = load_yaml(text, "t.yaml");
    REQUIRE(result.value);
    CHECK(result.value->members.size() == 100);
    CHECK(result.value->find("k42")->integer == 42);
    REQUIRE(result.diagnostics.size() == 2);
    CHECK(result.diagnostics[0].mark.line == 101);
    CHECK(result.diagnostics[1].message.find("line 100") != std::string::npos);
  }

  SUBCASE("keys that differ only in quoting are duplicates") {
    const YamlResult result = load_yaml("1: a\n\"1\": b\n", "t.yaml");
    CHECK(find_rule(result, "yaml-duplicate-key") != nullptr);
  }

  SUBCASE("merge keys are unsupported") {
    const YamlResult result = load_yaml("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n", "t.yaml");
    REQUIRE(result.value);
    const Diagnostic* d = find_rule(result, "yaml-merge-key");
    REQUIRE(d != nullptr);
    CHECK(d->mark.line == 3);
    CHECK(d->mark.column == 3);
    CHECK(d->message.find("write the keys out") != std::string::npos);
    const Value* other = result.value->find("other");
    REQUIRE(other != nullptr);
    CHECK(other->members.size() == 1);
    CHECK(other->find("<<") == nullptr);

    const YamlResult quoted = load_yaml("\"<<\": 1\n", "t.yaml");
    CHECK(quoted.diagnostics.empty());
    CHECK(quoted.value->find("<<") != nullptr);
  }

  SUBCASE("complex keys are reported and dropped") {
    const YamlResult result = load_yaml("? [a, b]\n: 1\nc: 2\n", "t.yaml");
    REQUIRE(result.value);
    const Diagnostic* d = find_rule(result, "yaml-complex-key");
    REQUIRE(d != nullptr);
    CHECK(d->mark.line == 1);
    CHECK(result.value->members.size() == 1);
    CHECK(result.value->find("c")->integer == 2);

    const YamlResult alias_key = load_yaml("a: &m {x: 1}\n*m : 2\n", "t.yaml");
    CHECK(find_rule(alias_key, "yaml-complex-key") != nullptr);
  }

  SUBCASE("non-string scalar keys keep their text") {
    const YamlResult result = load_yaml("1: a\ntrue: b\n~: c\nnull: d\n", "t.yaml");
    CHECK(result.diagnostics.empty());
    REQUIRE(result.value);
    CHECK(result.value->string_at("1") == "a");
    CHECK(result.value->string_at("true") == "b");
    CHECK(result.value->string_at("~") == "c");
    CHECK(result.value->string_at("null") == "d");
  }

  SUBCASE("an alias is a deep copy of the anchored value") {
    const YamlResult result = load_yaml("base: &base\n"
                                        "  host: h\n"
                                        "  ports: [1, 2]\n"
                                        "copy: *base\n"
                                        "name: &n app\n"
                                        "again: *n\n"
                                        "list: [*n, *base]\n",
                                        "t.yaml");
    CHECK(result.diagnostics.empty());
    REQUIRE(result.value);
    const Value& root = *result.value;
    const Value* copy = root.find("copy");
    REQUIRE(copy != nullptr);
    CHECK(copy->is_mapping());
    CHECK(copy->string_at("host") == "h");
    REQUIRE(copy->find("ports") != nullptr);
    CHECK(copy->find("ports")->items.size() == 2);
    CHECK(copy->find("ports")->items[1].integer == 2);
    // The copy sits where the alias is; its insides keep the anchor's marks.
    CHECK(copy->mark.line == 4);
    CHECK(copy->mark.column == 7);
    CHECK(copy->find("host")->mark.line == 2);
    CHECK(root.string_at("again") == "app");
    const Value* list = root.find("list");
    REQUIRE(list != nullptr);
    REQUIRE(list->items.size() == 2);
    CHECK(list->items[0].string == "app");
    CHECK(list->items[1].to_json() == root.find("base")->to_json());
    // Copies are independent values.
    CHECK(&copy->members[0] != &root.find("base")->members[0]);
  }

  SUBCASE("a redefined anchor refers to its latest definition") {
    const YamlResult result = load_yaml("x: &a 1\ny: &a 2\nz: *a\n", "t.yaml");
    REQUIRE(result.value);
    CHECK(result.value->find("z")->integer == 2);
  }

  SUBCASE("an alias bomb stops at the node limit") {
    for (int levels : {9, 10}) {
      const YamlResult result = load_yaml(alias_bomb(levels), "bomb.yaml");
      CHECK_FALSE(result.value);
      REQUIRE(result.diagnostics.size() == 1);
      CHECK(result.diagnostics[0].rule == "yaml-limit");
      CHECK(result.diagnostics[0].message.find("alias") != std::string::npos);
      CHECK(result.diagnostics[0].message.find("100000") != std::string::npos);
    }
    // A small bomb fits under the default limit.
    const YamlResult small = load_yaml(alias_bomb(3), "bomb.yaml");
    CHECK(small.diagnostics.empty());
    REQUIRE(small.value);
    CHECK(small.value->find("l2")->items.size() == 10);
    CHECK(small.value->find("l2")->items[9].items[9].items[9].string == "lol");

    YamlLimits limits;
    limits.max_nodes = 50;
    const YamlResult limited = load_yaml(alias_bomb(3), "bomb.yaml", limits);
    CHECK_FALSE(limited.value);
    CHECK(find_rule(limited, "yaml-limit") != nullptr);
  }

  SUBCASE("a long string aliased many times stops at the byte limit") {
    std::string text = "big: &big "; // appended: see alias_bomb
    text.append(100'000, 'x');
    text += "\nmany: [";
    for (int i = 0; i < 5'000; ++i) {
      text += i == 0 ? "*big" : ", *big";
    }
    text += "]\n";
    const YamlResult result = load_yaml(text, "bomb.yaml");
    CHECK_FALSE(result.value);
    REQUIRE(result.diagnostics.size() == 1);
    CHECK(result.diagnostics[0].rule == "yaml-limit");
    CHECK(result.diagnostics[0].message.find("bytes") != std::string::npos);
  }

  SUBCASE("anchors nested in anchors are bounded") {
    YamlLimits limits;
    limits.max_nodes = 200;
    // 20 nested anchored sequences around 50 scalars: ~70 nodes, ~1000 stored.
    std::string text;
    for (int i = 0; i < 20; ++i) {
      const std::string n = std::to_string(i); // see alias_bomb
      text += "&a" + n + " [";
    }
    for (int i = 0; i < 50; ++i) {
      text += "1, ";
    }
    text += std::string(20, ']');
    const YamlResult result = load_yaml(text, "t.yaml", limits);
    CHECK_FALSE(result.value);
    REQUIRE(find_rule(result, "yaml-limit") != nullptr);
    CHECK(find_rule(result, "yaml-limit")->message.find("anchored") != std::string::npos);
  }

  SUBCASE("a recursive alias is refused") {
    const YamlResult result = load_yaml("a: &a [1, *a]\n", "t.yaml");
    CHECK_FALSE(result.value);
    const Diagnostic* d = find_rule(result, "yaml-limit");
    REQUIRE(d != nullptr);
    CHECK(d->message.find("*a") != std::string::npos);
  }

  SUBCASE("too many nodes without aliases") {
    YamlLimits limits;
    limits.max_nodes = 10;
    const YamlResult result = load_yaml("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]", "t.yaml", limits);
    CHECK_FALSE(result.value);
    REQUIRE(find_rule(result, "yaml-limit") != nullptr);
    CHECK(find_rule(result, "yaml-limit")->message.find("split") != std::string::npos);
  }

  SUBCASE("nesting deeper than the limit is refused") {
    const YamlResult bomb = load_yaml(nested_flow(10'000), "deep.yaml");
    CHECK_FALSE(bomb.value);
    REQUIRE(bomb.diagnostics.size() == 1);
    CHECK(bomb.diagnostics[0].rule == "yaml-limit");
    CHECK(bomb.diagnostics[0].mark.line == 1);
    CHECK(bomb.diagnostics[0].mark.column == 65);

    YamlLimits limits;
    limits.max_depth = 3;
    CHECK(load_yaml(nested_flow(3), "t.yaml", limits).value);
    CHECK_FALSE(load_yaml(nested_flow(4), "t.yaml", limits).value);
    CHECK_FALSE(load_yaml("a:\n  b:\n    c: [1]\n", "t.yaml", limits).value);

    // An alias copy counts its own depth where it lands.
    const YamlResult alias = load_yaml("a: &d [[1]]\nb: [*d]\n", "t.yaml", limits);
    CHECK_FALSE(alias.value);
    CHECK(find_rule(alias, "yaml-limit") != nullptr);

    // The loader's own cap (1000 levels), when the caller's limit is higher.
    limits.max_depth = 1'000'000;
    const YamlResult guard = load_yaml(nested_flow(10'000), "deep.yaml", limits);
    CHECK_FALSE(guard.value);
    REQUIRE(guard.diagnostics.size() == 1);
    CHECK(guard.diagnostics[0].rule == "yaml-limit");
    CHECK(guard.diagnostics[0].mark.column == 1001);
    CHECK(load_yaml(nested_flow(1000), "deep.yaml", limits).value);

    const YamlResult maps = load_yaml(std::string(10'000, '{'), "deep.yaml");
    CHECK_FALSE(maps.value);
    CHECK(find_rule(maps, "yaml-limit") != nullptr);
  }

  SUBCASE("syntax errors carry a 1-based position") {
    const YamlResult result = load_yaml("a: 1\n b: 2\n", "bad.yaml");
    CHECK_FALSE(result.value);
    REQUIRE(result.diagnostics.size() == 1);
    const Diagnostic& d = result.diagnostics[0];
    CHECK(d.rule == "yaml-syntax");
    CHECK(d.path == "bad.yaml");
    CHECK(d.mark.line == 2);
    CHECK(d.mark.column == 3);
    CHECK(d.message == "invalid YAML: mapping values are not allowed in this context; quote a "
                       "value that contains \": \", or check the indentation");
    CHECK(d.to_text() == "bad.yaml:2:3: error: " + d.message + " [yaml-syntax]");

    // Where the construct being read started, when that is elsewhere.
    const YamlResult flow = load_yaml("a: [1, 2\nb: 3", "bad.yaml");
    CHECK_FALSE(flow.value);
    REQUIRE(find_rule(flow, "yaml-syntax") != nullptr);
    CHECK(find_rule(flow, "yaml-syntax")->mark.line == 2);
    CHECK(find_rule(flow, "yaml-syntax")->message ==
          "invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence at "
          "line 1, column 4)");

    const YamlResult quote = load_yaml("a: \"open\nb: 2\n", "bad.yaml");
    REQUIRE(find_rule(quote, "yaml-syntax") != nullptr);
    CHECK(find_rule(quote, "yaml-syntax")->message.find("quoted scalar at line 1, column 4") !=
          std::string::npos);

    const YamlResult escape = load_yaml("a: \"\\é\"\n", "bad.yaml");
    REQUIRE(find_rule(escape, "yaml-syntax") != nullptr);
    CHECK(find_rule(escape, "yaml-syntax")->mark.column == 5);
    CHECK(find_rule(escape, "yaml-syntax")->message.find("escape") != std::string::npos);
    CHECK_NOTHROW((void)envflow::util::dump_json(find_rule(escape, "yaml-syntax")->to_json()));

    const YamlResult alias = load_yaml("a: *nope\n", "bad.yaml");
    CHECK_FALSE(alias.value);
    REQUIRE(find_rule(alias, "yaml-syntax") != nullptr);
    CHECK(find_rule(alias, "yaml-syntax")->mark.column == 4);
    CHECK(find_rule(alias, "yaml-syntax")->message.find("&nope") != std::string::npos);
  }

  SUBCASE("syntax errors say how to mend the common mistakes") {
    const auto message = [](const std::string& text) {
      const YamlResult result = load_yaml(text, "bad.yaml");
      const Diagnostic* d = find_rule(result, "yaml-syntax");
      return d == nullptr ? std::string() : d->to_text();
    };
    CHECK(message("a:\n\tb: 1\n").starts_with("bad.yaml:2:1: "));
    CHECK(message("a:\n\tb: 1\n").find("spaces, not tabs") != std::string::npos);
    CHECK(message("a: @x\n").find("quote the value") != std::string::npos);
    CHECK(message("a: b: c\n").starts_with("bad.yaml:1:5: "));
    CHECK(message("a: b: c\n").find("quote a value") != std::string::npos);
    const std::string indent = message("a:\n  b: 1\n c: 2\n");
    CHECK(indent.starts_with("bad.yaml:3:2: "));
    CHECK(indent.find("block mapping at line 1, column 1") != std::string::npos);
    CHECK(indent.find("check the indentation of this line") != std::string::npos);
    // Not at the start of a line: no guess about indentation.
    CHECK(message("a: [1]]\n").find("indentation") == std::string::npos);
  }

  SUBCASE("columns count bytes, whatever the characters before") {
    const YamlResult result = load_yaml("é: ü\nnom: \"日本\"\nx:\n", "t.yaml");
    CHECK(result.diagnostics.empty());
    REQUIRE(result.value);
    CHECK(result.value->find("é")->mark.column == 5);
    CHECK(result.value->members[1].key_mark.line == 2);
    CHECK(result.value->find("nom")->mark.column == 6);
    CHECK(result.value->find("x")->mark.line == 3);
    CHECK(result.value->find("x")->mark.column == 3);

    const YamlResult bad = load_yaml("ü: ok\nname: a: b\n", "bad.yaml");
    REQUIRE(find_rule(bad, "yaml-syntax") != nullptr);
    CHECK(find_rule(bad, "yaml-syntax")->mark.line == 2);
    CHECK(find_rule(bad, "yaml-syntax")->mark.column == 8);
    const YamlResult same_line = load_yaml("日本: a: b\n", "bad.yaml");
    REQUIRE(find_rule(same_line, "yaml-syntax") != nullptr);
    CHECK(find_rule(same_line, "yaml-syntax")->mark.column == 10);

    // Windows line ends, and an empty value after a quoted key.
    const YamlResult crlf = load_yaml("a:\r\n  b: 1\r\n\"c d\":\r\n", "t.yaml");
    CHECK(crlf.diagnostics.empty());
    REQUIRE(crlf.value);
    CHECK(crlf.value->find("a")->find("b")->mark.line == 2);
    CHECK(crlf.value->find("a")->find("b")->mark.column == 6);
    CHECK(crlf.value->find("c d")->mark.line == 3);
    CHECK(crlf.value->find("c d")->mark.column == 7);
  }

  SUBCASE("tags: the core schema's seven, on the nodes they describe") {
    for (const std::string text :
         {"a: !!str 12\n", "a: !!int 12\n", "a: !!float 1.5\n", "a: !!bool true\n",
          "a: !!null ~\n", "a: !!seq [1]\n", "a: !!map {b: 1}\n", "!!map\na: 1\n",
          "a: !<tag:yaml.org,2002:str> x\n", "%TAG !e! tag:yaml.org,2002:\n---\na: !e!str x\n",
          "a: !!int 0x1F\nb: !!float 3\n"}) {
      INFO(text);
      CHECK(load_yaml(text, "t.yaml").diagnostics.empty());
    }
  }

  SUBCASE("any other tag is refused where it is written; the rest still loads") {
    struct Case {
      std::string text;
      std::string shown;
      int line;
      int column;
    };
    const std::vector<Case> cases = {
        {"kind: Variable\ndefault: !include /etc/passwd\n", "!include", 2, 10},
        {"a: !!python/object/apply:os.system [\"id\"]\n",
         "!!python/object/apply:os.system", 1, 4},
        {"a: !!binary aGVsbG8=\n", "!!binary", 1, 4},
        {"a: !!timestamp 2001-12-14\n", "!!timestamp", 1, 4},
        {"a: !!set {x}\n", "!!set", 1, 4},
        {"a: !!omap [b: 1]\n", "!!omap", 1, 4},
        {"a: ! 12\n", "'!'", 1, 4},
        {"a: !<tag:evil.example,2026:run> x\n", "tag:evil.example,2026:run", 1, 4},
        {"%TAG !! tag:evil.example,2026:\n---\na: !!str x\n", "tag:evil.example,2026:str", 3, 4},
        {"!Ref\na: 1\n", "!Ref", 1, 1},
        {"a:\n  - !Sub x\n", "!Sub", 2, 5},
    };
    for (const Case& c : cases) {
      INFO(c.text);
      const YamlResult result = load_yaml(c.text, "t.yaml");
      REQUIRE(result.value);
      REQUIRE(result.diagnostics.size() == 1);
      CHECK(result.diagnostics[0].rule == "yaml-tag");
      CHECK(result.diagnostics[0].message.find(c.shown) != std::string::npos);
      CHECK(result.diagnostics[0].message.find("only the core schema's") != std::string::npos);
      CHECK(result.diagnostics[0].mark.line == c.line);
      CHECK(result.diagnostics[0].mark.column == c.column);
    }
  }

  SUBCASE("a core tag on a node it does not describe") {
    for (const std::string text :
         {"a: !!int abc\n", "a: !!float x\n", "a: !!bool yes\n", "a: !!null x\n",
          "a: !!seq {b: 1}\n", "a: !!map [1]\n", "a: !!str [1]\n", "a: !!seq x\n"}) {
      INFO(text);
      const YamlResult result = load_yaml(text, "t.yaml");
      REQUIRE(result.diagnostics.size() == 1);
      CHECK(result.diagnostics[0].rule == "yaml-tag");
      CHECK(result.diagnostics[0].message.find("remove the tag or fix the value") !=
            std::string::npos);
    }
  }

  SUBCASE("more than one document") {
    const YamlResult result = load_yaml("a: 1\n---\nb: 2\n", "t.yaml");
    REQUIRE(result.value);
    CHECK(result.value->find("a") != nullptr);
    CHECK(result.value->find("b") == nullptr);
    REQUIRE(result.diagnostics.size() == 1);
    CHECK(result.diagnostics[0].rule == "yaml-multi-document");
    CHECK(result.diagnostics[0].mark.line == 2);
    CHECK(result.diagnostics[0].mark.column == 1);

    CHECK(load_yaml("---\na: 1\n", "t.yaml").diagnostics.empty());
    CHECK(load_yaml("a: 1\n...\n", "t.yaml").diagnostics.empty());
    CHECK(find_rule(load_yaml("a: 1\n---\n", "t.yaml"), "yaml-multi-document") != nullptr);
  }

  SUBCASE("empty text is a null document") {
    for (const char* text : {"", "\n\n", "# only a comment\n", "   "}) {
      INFO(text);
      const YamlResult result = load_yaml(text, "t.yaml");
      CHECK(result.diagnostics.empty());
      REQUIRE(result.value);
      CHECK(result.value->is_null());
    }
  }

  SUBCASE("a byte order mark is skipped") {
    const YamlResult result = load_yaml("\xEF\xBB\xBF"
                                        "a: ~\nb:\n",
                                        "t.yaml");
    CHECK(result.diagnostics.empty());
    REQUIRE(result.value);
    CHECK(result.value->find("a")->string == "~");
    CHECK(result.value->find("a")->mark.column == 4);
    CHECK(result.value->find("b")->mark.line == 2);
    const YamlResult bad = load_yaml("\xEF\xBB\xBF"
                                     "a: b: c\n",
                                     "t.yaml");
    REQUIRE(find_rule(bad, "yaml-syntax") != nullptr);
    CHECK(find_rule(bad, "yaml-syntax")->mark.column == 5);
  }

  SUBCASE("bytes YAML forbids are syntax errors") {
    struct Bad {
      std::string text;
      int line;
      int column;
      const char* says;
    };
    const Bad cases[] = {
        {std::string("a: \0b\n", 6), 1, 4, "U+0000"},
        {"a: 1\nb: \"x\x04y\"\n", 2, 6, "U+0004"},
        {"a: \x1b[31m\n", 1, 4, "U+001B"},
        {"a: \x7f\n", 1, 4, "U+007F"},
        {"a: 1\nb: \xc3\n", 2, 4, "UTF-8"},
        {"a: \xc0\xaf\n", 1, 4, "UTF-8"},         // overlong '/'
        {"a: \xed\xa0\x80\n", 1, 4, "UTF-8"},     // surrogate
        {"a: \xf4\x90\x80\x80\n", 1, 4, "UTF-8"}, // above U+10FFFF
        {"a: caf\xe9\n", 1, 7, "UTF-8"},          // Latin-1
        {"a: x\xc2\x80\n", 1, 5, "U+0080"},       // C1 control
        {"a: \xc2\x9f\n", 1, 4, "U+009F"},
        {"a: x\xc2\x85y\n", 1, 5, "U+0085"},      // read as a line break by YAML 1.1
        {"é: x\xe2\x80\xa8y\n", 1, 6, "U+2028"},
        {"a: \"x\xe2\x80\xa9\"\n", 1, 6, "U+2029"},
        {"a: \xef\xbf\xbe\n", 1, 4, "U+FFFE"},
        {std::string("\0\0\xfe\xff", 4), 1, 1, "U+0000"}, // UTF-32 is not read
    };
    for (const Bad& c : cases) {
      INFO(c.text);
      const YamlResult result = load_yaml(c.text, "t.yaml");
      CHECK_FALSE(result.value);
      REQUIRE(result.diagnostics.size() == 1);
      CHECK(result.diagnostics[0].rule == "yaml-syntax");
      CHECK(result.diagnostics[0].mark.line == c.line);
      CHECK(result.diagnostics[0].mark.column == c.column);
      CHECK(result.diagnostics[0].message.find(c.says) != std::string::npos);
    }

    const YamlResult good = load_yaml("a: \"caf\u00e9 \\t\"\nb: 日本 🎉\nc: \"\\0\"\n"
                                      "d: \"\\L\u00a0\ufeff\"\n",
                                      "t.yaml");
    CHECK(good.diagnostics.empty());
    REQUIRE(good.value);
    CHECK(good.value->string_at("a") == "caf\xc3\xa9 \t");
    CHECK(good.value->string_at("b") == "日本 🎉");
    CHECK(good.value->string_at("c") == std::string(1, '\0'));
    CHECK(good.value->string_at("d") == "\u2028\u00a0\ufeff");
    CHECK_NOTHROW((void)envflow::util::dump_json(good.value->to_json()));
  }

  SUBCASE("UTF-16 with a byte order mark is read") {
    const std::string text("\xFF\xFE"
                           "a\0:\0 \0"
                           "1\0\n\0",
                           12);
    const YamlResult result = load_yaml(text, "t.yaml");
    CHECK(result.diagnostics.empty());
    REQUIRE(result.value);
    CHECK(result.value->find("a")->integer == 1);
  }

  SUBCASE("odd input never throws or crashes") {
    const std::string inputs[] = {
        "\t",
        "\tkey: v\n",
        std::string("a: \0\0b\n", 7),
        std::string("\0", 1),
        std::string("a: \"x\0y\"\n", 9),
        "\x04",
        "\xff\xfe",
        "\xfe\xff\x00",
        "\xff\xfe\x00\x00",
        "\x80\x81\x82",
        "a: \xc3\n",
        "&",
        "*",
        "!",
        "? ",
        ": ",
        "- - - -",
        "[",
        "{",
        "}",
        "a: 'unterminated",
        "a: \"\\xZZ\"",
        "%YAML 1.2\n---\na: 1\n",
        "%TAG ! tag:example.com,2000:\n---\na: !foo 1\n",
        "%BOGUS\n",
        "a: |\n  \tx\n",
        "--- |\n\n",
        "a: !!binary aGVsbG8=\n",
        "&a a: *a\n",
        "&a [*a]",
    };
    for (const std::string& text : inputs) {
      INFO(text);
      YamlResult result;
      CHECK_NOTHROW(result = load_yaml(text, "t.yaml"));
      CHECK((result.value.has_value() || !result.diagnostics.empty()));
    }

    // Random soup of YAML's significant characters.
    std::mt19937 random(12345);
    static const char k_alphabet[] = "ab01 \t\n\r-:?[]{},&*!|>'\"%@`#~.\\\0\x04\xc3\xa9";
    const std::string alphabet(k_alphabet, sizeof k_alphabet - 1);
    for (int round = 0; round < 2000; ++round) {
      std::string text;
      const std::size_t size = random() % 40;
      for (std::size_t i = 0; i < size; ++i) {
        text += alphabet[random() % alphabet.size()];
      }
      INFO(round);
      YamlResult result;
      CHECK_NOTHROW(result = load_yaml(text, "t.yaml"));
      if (result.value) {
        CHECK_NOTHROW((void)envflow::util::dump_json(result.value->to_json()));
      }
    }
  }
}

TEST_CASE("content::yaml_detail::decimal_number") {
  // Also schema_report.cpp's test for "remove the quotes to make it a
  // number", which was this regex (its \d is [0-9]).
  static const std::regex k_number(R"(^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$)");
  const auto by_regex = [](const std::string& text) { return std::regex_match(text, k_number); };
  using envflow::content::yaml_detail::decimal_number;
  SUBCASE("what the regex matches") {
    const std::string texts[] = {
        "",    "0",    "42",    "-1",    "+1",    "1.",    "1.5",  ".5",     ".",
        "-.",  "-.5",  "+.5e3", "1e5",   "1E5",   "1e+5",  "1e-5", "1.5e10", "1.e5",
        ".e5", "e5",   "1e",    "1e+",   "1e5.5", "1.2.3", "--1",  "+-1",    " 1",
        "1 ",  "1\n",  "0x10",  "1_000", "١",     "inf",   "nan",  "1,5",    "12a",
        "007", "1e05", "- 1",   "+",     ".inf",  "-.inf", ".nan", "0o17",   "1e5\n",
    };
    for (const std::string& text : texts) {
      INFO(text);
      CHECK(decimal_number(text) == by_regex(text));
    }
  }
  SUBCASE("on generated strings") {
    for (const std::string& text :
         envflow::test::joined_pieces({"1", "23", ".", "-", "+", "e", "E", "x", " ", "e-"}, 4)) {
      INFO(text);
      REQUIRE(decimal_number(text) == by_regex(text));
    }
  }
}
