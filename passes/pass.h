#pragma once
// A pass transforms one function in place and says whether it changed it.
#include <charconv>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "nabla/ir/function.h"
#include "nabla/runtime/error.h"

namespace nabla {

class Pass {
 public:
  virtual ~Pass() = default;
  virtual std::string_view name() const = 0;
  // Runs on one function; returns true when it changed something.
  virtual bool run(Function& f) = 0;
  // Sets an option given in a pipeline string (`simplify{unsafe-math}` gives
  // key "unsafe-math", value "true"). Returns false when the pass has no such
  // option; throws nabla::Error for a bad value.
  virtual bool set_option(std::string_view key, std::string_view value) { return false; }
};

// The value of a pass option that takes a non-negative integer; throws
// "PASS: option KEY expects a non-negative integer, got 'VALUE'".
inline int64_t non_negative_option(std::string_view pass, std::string_view key, std::string_view value) {
  int64_t v = -1;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size() || v < 0)
    throw Error(std::string(pass) + ": option " + std::string(key) + " expects a non-negative integer, got '" +
                std::string(value) + "'");
  return v;
}

}  // namespace nabla
