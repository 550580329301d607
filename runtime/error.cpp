#include "nabla/runtime/error.h"

#include <string_view>

namespace nabla {

namespace {

// `path` relative to the source tree when it lies inside it (the tree is
// this file's path less "runtime/error.cpp"), else as given.
std::string relative_to_source(std::string_view path) {
  std::string_view self = __FILE__;
  std::string_view root = self.substr(0, self.size() - std::string_view("runtime/error.cpp").size());
  if (!root.empty() && path.substr(0, root.size()) == root) path.remove_prefix(root.size());
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
