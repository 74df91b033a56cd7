// Precompiled for the files of the library and of the unit tests that include
// nlohmann/json anyway (CMakeLists.txt, "Build cost"; cmake/json_users.cmake).
#include <nlohmann/json.hpp>
