#include "cli/app.h"

namespace envflow::cli {

int run(int /*argc*/, char** /*argv*/) { return 0; }

} // namespace envflow::cli
