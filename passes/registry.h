#pragma once
// Passes by name, from passes/passes.def.
#include <memory>
#include <string_view>
#include <vector>

#include "nabla/passes/pass.h"

namespace nabla {

// A new instance of the named pass, or nullptr if no pass has that name.
std::unique_ptr<Pass> create_pass(std::string_view name);
// Every registered pass name, in registration order.
std::vector<std::string_view> registered_passes();

}  // namespace nabla
