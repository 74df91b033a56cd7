// The parse floor for the benchmark: read each file named on standard input
// (one path a line) and run yaml-cpp's event parser over it, building
// nothing, on one thread. What envflow's loader cannot go below per core.
//
//   g++ -O2 -std=c++20 bench/yaml_parse_only.cpp -lyaml-cpp -o yaml_parse_only
//   find WS -name '*.yaml' | ./yaml_parse_only

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

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

} // namespace

int main() {
  Counter counter;
  unsigned long files = 0;
  unsigned long failures = 0;
  std::string path;
  while (std::getline(std::cin, path)) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    try {
      YAML::Parser parser(text);
      while (parser.HandleNextDocument(counter)) {
      }
    } catch (const YAML::Exception&) {
      ++failures;
    }
    ++files;
  }
  std::printf("%lu files, %lu events, %lu unparsable\n", files, counter.events, failures);
  return 0;
}
