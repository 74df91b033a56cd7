#include "util/files.h"

#include <unistd.h>

#include <fstream>
#include <string>

namespace envflow::util {

bool write_file_atomically(const std::filesystem::path& file, std::string_view text) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  const fs::path temp =
      file.parent_path() / (".tmp-" + file.filename().string() + "-" + std::to_string(::getpid()));
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out || !out.write(text.data(), static_cast<std::streamsize>(text.size())).flush()) {
      out.close();
      fs::remove(temp, ec);
      return false;
    }
  }
  fs::rename(temp, file, ec);
  if (ec) {
    fs::remove(temp, ec);
    return false;
  }
  return true;
}

} // namespace envflow::util
