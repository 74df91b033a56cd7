// A stand-in for libFuzzer's main, for the smoke run in the g++ sanitizer
// build (no coverage feedback, no clang needed):
//
//   fuzz_<name>_smoke [--seconds N] [--seed N] [--max-len N] PATH...
//
// Every PATH is a file or a folder of files (the seeds). Each seed is run
// once, in name order; then, for N seconds (default 0), inputs made from the
// seeds by random mutations (bit flips, byte changes, inserts, deletes,
// copies, YAML tokens, splices of two seeds) are run, with a fixed random
// seed so a run is the same sequence of inputs every time. An input that
// makes the target crash (sanitizer report, abort, escaping exception) is
// written to ./crash-<name>-<sha> and printed; run the binary on that file
// to reproduce.
#include <sanitizer/common_interface_defs.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using Bytes = std::vector<std::uint8_t>;

// The input being run, for the crash handlers (set before each run).
const Bytes* g_current = nullptr;
char g_crash_path[512] = "crash-input";

// Tokens that steer YAML (and the record formats) into their corners.
constexpr std::string_view k_tokens[] = {
    ": ",   "- ",    "\n",     "\n  ",   "  ",     "? ",      "&a ",  "*a",   "!!str ", "!tag ",
    "<<: ", "---\n", "...\n",  "[",      "]",      "{",       "}",    ",",    "\"",     "'",
    "|\n",  ">-\n",  "# ",     "\t",     "\r\n",   "\\u0000", "\\x",  "~",    "null",   "true",
    "0x",   "0o",    "1e999",  "-.inf",  ".nan",   "9223372036854775808", "-1", "\xef\xbb\xbf",
    "\xff", "\xc3",  "kind: ", "name: ", "${secrets.", "{{ vars.", "}}", "move: ", "op: ",
    "time: ", "2026-01-01T00:00:00Z", "0000000000000000000000000000000000000000",
};

void write_crash_file() {
  if (g_current == nullptr) {
    return;
  }
  // Only async-signal-safe calls: this runs in a signal or death handler.
  const int fd = ::open(g_crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    const std::uint8_t* p = g_current->data();
    std::size_t left = g_current->size();
    while (left > 0) {
      const ssize_t n = ::write(fd, p, left);
      if (n <= 0) {
        break;
      }
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    ::close(fd);
  }
  const char note[] = "\nfuzz driver: the failing input was written to ";
  (void)!::write(2, note, sizeof note - 1);
  (void)!::write(2, g_crash_path, std::strlen(g_crash_path));
  // And printed, C-escaped, for CI logs (no allocation here).
  static char line[4 * 2048 + 64];
  std::size_t n = 0;
  const char hex[] = "0123456789abcdef";
  for (const char c : std::string_view("\ninput: \"")) {
    line[n++] = c;
  }
  for (std::size_t i = 0; i < g_current->size() && i < 2048; ++i) {
    const std::uint8_t c = (*g_current)[i];
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
      line[n++] = static_cast<char>(c);
    } else {
      line[n++] = '\\';
      line[n++] = 'x';
      line[n++] = hex[c >> 4];
      line[n++] = hex[c & 15];
    }
  }
  line[n++] = '"';
  line[n++] = '\n';
  (void)!::write(2, line, n);
}

void on_sanitizer_death() { write_crash_file(); }

void on_abort(int signal) {
  write_crash_file();
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

// FNV-1a: names the crash file, so different inputs do not overwrite each other.
std::uint64_t digest(const Bytes& bytes) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const std::uint8_t c : bytes) {
    h = (h ^ c) * 1099511628211ULL;
  }
  return h;
}

void run(const Bytes& input, const std::string& name) {
  g_current = &input;
  std::snprintf(g_crash_path, sizeof g_crash_path, "crash-%s-%016llx", name.c_str(),
                static_cast<unsigned long long>(digest(input)));
  try {
    LLVMFuzzerTestOneInput(input.data(), input.size());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz driver: uncaught exception: %s\n", e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "fuzz driver: uncaught exception of unknown type\n");
    std::abort();
  }
  g_current = nullptr;
}

class Mutator {
public:
  Mutator(std::uint64_t seed, std::size_t max_len) : m_random(seed), m_max_len(max_len) {}

  std::size_t below(std::size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(m_random);
  }

  // Apply one to four random mutations to `input`; `seeds` feed splices.
  void mutate(Bytes& input, const std::vector<Bytes>& seeds) {
    const std::size_t count = 1 + below(4);
    for (std::size_t i = 0; i < count; ++i) {
      mutate_once(input, seeds);
    }
    if (input.size() > m_max_len) {
      input.resize(m_max_len);
    }
  }

private:
  void mutate_once(Bytes& input, const std::vector<Bytes>& seeds) {
    const std::size_t at = below(input.size() + 1);
    switch (below(8)) {
    case 0: // flip a bit
      if (!input.empty()) {
        input[below(input.size())] ^= static_cast<std::uint8_t>(1U << below(8));
      }
      break;
    case 1: // set a byte
      if (!input.empty()) {
        input[below(input.size())] = static_cast<std::uint8_t>(below(256));
      }
      break;
    case 2: // insert bytes
      input.insert(input.begin() + static_cast<std::ptrdiff_t>(at), 1 + below(4),
                   static_cast<std::uint8_t>(below(256)));
      break;
    case 3: { // delete a range
      const std::size_t n = std::min(input.size() - std::min(at, input.size()), 1 + below(16));
      input.erase(input.begin() + static_cast<std::ptrdiff_t>(at),
                  input.begin() + static_cast<std::ptrdiff_t>(at + n));
      break;
    }
    case 4: { // copy a range elsewhere (repeats structure: nesting, keys)
      if (input.empty()) {
        break;
      }
      const std::size_t from = below(input.size());
      const std::size_t n = std::min(input.size() - from, 1 + below(64));
      const Bytes chunk(input.begin() + static_cast<std::ptrdiff_t>(from),
                        input.begin() + static_cast<std::ptrdiff_t>(from + n));
      input.insert(input.begin() + static_cast<std::ptrdiff_t>(at), chunk.begin(), chunk.end());
      break;
    }
    case 5:
    case 6: { // insert a token
      const std::string_view token = k_tokens[below(std::size(k_tokens))];
      input.insert(input.begin() + static_cast<std::ptrdiff_t>(at), token.begin(), token.end());
      break;
    }
    default: { // splice: this input's head, another seed's tail
      const Bytes& other = seeds[below(seeds.size())];
      const std::size_t from = below(other.size() + 1);
      input.resize(at);
      input.insert(input.end(), other.begin() + static_cast<std::ptrdiff_t>(from), other.end());
      break;
    }
    }
  }

  std::mt19937_64 m_random;
  std::size_t m_max_len;
};

Bytes read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [--seconds N] [--seed N] [--max-len N] PATH...\n", argv0);
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  double seconds = 0;
  std::uint64_t seed = 1;
  std::size_t max_len = 8192;
  std::vector<std::filesystem::path> paths;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--seconds" && has_value) {
      seconds = std::strtod(argv[++i], nullptr);
    } else if (arg == "--seed" && has_value) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--max-len" && has_value) {
      max_len = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg.starts_with("--")) {
      return usage(argv[0]);
    } else {
      paths.emplace_back(arg);
    }
  }
  if (paths.empty()) {
    return usage(argv[0]);
  }
  std::string name = std::filesystem::path(argv[0]).filename().string();
  if (name.starts_with("fuzz_")) {
    name = name.substr(5);
  }
  if (name.ends_with("_smoke")) {
    name.resize(name.size() - 6);
  }

  __sanitizer_set_death_callback(on_sanitizer_death);
  std::signal(SIGABRT, on_abort);

  std::vector<Bytes> seeds;
  for (const auto& path : paths) {
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(path)) {
      for (const auto& entry : std::filesystem::directory_iterator(path)) {
        if (entry.is_regular_file()) {
          files.push_back(entry.path());
        }
      }
      std::sort(files.begin(), files.end());
    } else if (std::filesystem::exists(path)) {
      files.push_back(path);
    } else {
      std::fprintf(stderr, "%s: no such file or folder: %s\n", argv[0], path.c_str());
      return 2;
    }
    for (const auto& file : files) {
      seeds.push_back(read_file(file));
    }
  }
  for (const auto& input : seeds) {
    run(input, name);
  }

  std::size_t mutated = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  if (seconds > 0 && !seeds.empty()) {
    Mutator mutator(seed, max_len);
    Bytes input;
    while (std::chrono::steady_clock::now() < deadline) {
      // Mostly keep mutating the last input (mutations stack up), sometimes start over.
      if (input.empty() || mutator.below(4) == 0) {
        input = seeds[mutator.below(seeds.size())];
      }
      mutator.mutate(input, seeds);
      run(input, name);
      ++mutated;
    }
  }
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  std::printf("fuzz %s: %zu seeds, %zu mutated inputs in %.1f s, no failure\n", name.c_str(),
              seeds.size(), mutated, took.count());
  return 0;
}
