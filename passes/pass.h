#pragma once
// A pass transforms one function in place and says whether it changed it.
#include <memory>
#include <string_view>

#include "nabla/ir/function.h"

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

}  // namespace nabla
