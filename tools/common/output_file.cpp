#include "tools/common/output_file.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <system_error>

#include "nabla/runtime/error.h"

namespace nabla {

void write_output(const std::string& path, std::string_view bytes) {
  if (path.empty() || path == "-") {
    std::cout.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    std::cout.flush();
    if (!std::cout) throw Error("cannot write to stdout");
    return;
  }
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(path + ": cannot open for writing: " + std::strerror(errno));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw Error(path + ": write failed");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw Error(path + ": cannot write: " + ec.message());
  }
}

void remove_output(const std::string& path) {
  if (path.empty() || path == "-") return;
  std::error_code ec;
  std::filesystem::remove(path, ec);
}

}  // namespace nabla
