#pragma once
// nabla::Error is the one exception type for bad user input: a wrong shape, a
// malformed file, a bad argument. Messages are complete sentences fragments of
// the form "op: what is wrong", never codes.
#include <stdexcept>
#include <string>

namespace nabla {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace nabla
