// The parse floor for the benchmark: read each file named on standard input
// (one path a line) and run a YAML event parser over it, building nothing,
// on one thread: yaml-cpp's, or with --libyaml libyaml's (what envflow's
// content loader uses). What a loader on that parser cannot go below per core.
//
//   g++ -O2 -std=c++20 bench/yaml_parse_only.cpp -lyaml-cpp -lyaml -o yaml_parse_only
//   find WS -name '*.yaml' | ./yaml_parse_only [--libyaml]

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>
#include <yaml.h>

namespace {

// Counts events and does nothing else.
class Counter : public YAML::EventHandler {
public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override { ++events; }
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override { ++events; }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {
    ++events;
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    ++events;
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    ++events;
  }
  void OnMapEnd() override {}

  unsigned long events = 0;
};

// libyaml's events of `text`, counted into `events`; false on a syntax error.
bool parse_libyaml(const std::string& text, unsigned long& events) {
  yaml_parser_t parser;
  if (yaml_parser_initialize(&parser) == 0) {
    return false;
  }
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());
  bool ok = true;
  for (bool end = false; !end;) {
    yaml_event_t event;
    if (yaml_parser_parse(&parser, &event) == 0) {
      ok = false;
      break;
    }
    end = event.type == YAML_STREAM_END_EVENT || event.type == YAML_NO_EVENT;
    ++events;
    yaml_event_delete(&event);
  }
  yaml_parser_delete(&parser);
  return ok;
}

} // namespace

int main(int argc, char** argv) {
  const bool libyaml = argc > 1 && std::string_view(argv[1]) == "--libyaml";
  Counter counter;
  unsigned long files = 0;
  unsigned long failures = 0;
  std::string path;
  while (std::getline(std::cin, path)) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (libyaml) {
      failures += parse_libyaml(text.str(), counter.events) ? 0 : 1;
    } else {
      try {
        YAML::Parser parser(text);
        while (parser.HandleNextDocument(counter)) {
        }
      } catch (const YAML::Exception&) {
        ++failures;
      }
    }
    ++files;
  }
  std::printf("%lu files, %lu events, %lu unparsable\n", files, counter.events, failures);
  return 0;
}
