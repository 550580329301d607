#include "nabla/runtime/error.h"

#include <string_view>

namespace nabla {

namespace {

// `path` relative to the source tree when it lies inside it, else as given.
// The tree is named two ways, as the compiler may spell paths either: the
// absolute NABLA_SOURCE_ROOT of the build, and this file's own path less
// "runtime/error.cpp" (relative, e.g. "../", when a compiler cache rewrites
// the build's paths: the library's files are then spelled that way too).
std::string relative_to_source(std::string_view path) {
  std::string_view self = __FILE__;
  std::string_view roots[] = {NABLA_SOURCE_ROOT,
                              self.substr(0, self.size() - std::string_view("runtime/error.cpp").size())};
  for (std::string_view root : roots)
    if (!root.empty() && path.substr(0, root.size()) == root) return std::string(path.substr(root.size()));
  return std::string(path);
}

}  // namespace

InternalError::InternalError(const std::string& message, std::source_location where)
    : InternalError(message, relative_to_source(where.file_name()), where.line()) {}

InternalError::InternalError(const std::string& message, std::string file, unsigned line)
    : Error("internal error: " + message + " (at " + file + ":" + std::to_string(line) + ")"),
      message_(message),
      file_(std::move(file)),
      line_(line) {}

}  // namespace nabla
