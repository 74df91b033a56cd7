#include "cli/app.h"

int main(int argc, char** argv) { return envflow::cli::run(argc, argv); }
