// Precompiled for src/cli (CMakeLists.txt, "Build cost"), where every file includes
// CLI11 and nearly every one nlohmann/json.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
