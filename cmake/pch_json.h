// Precompiled for the command files of src/cli (CMakeLists.txt, "Build cost";
// nearly every one includes it) and for the files of the unit tests that include
// nlohmann/json anyway (tests/CMakeLists.txt; cmake/json_users.cmake).
#include <nlohmann/json.hpp>
