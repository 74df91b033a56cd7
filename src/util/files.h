#pragma once

#include <filesystem>
#include <string_view>

namespace envflow::util {

// Write `text` to `file` whole or not at all: into a temporary name in the
// same folder (made when missing), then renamed over `file`, so a reader sees
// the old file or the new one, never half of one. Best effort, for caches:
// returns false, leaving `file` as it was and no temporary behind, when
// anything fails; never throws for I/O.
bool write_file_atomically(const std::filesystem::path& file, std::string_view text);

} // namespace envflow::util
