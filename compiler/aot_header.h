#pragma once
// The C/C++ header that nablac writes beside an object file: per function, the
// C entry's prototype (the kernel ABI of runtime/abi.h, whose declarations the
// header carries so that it needs nothing else of nabla), constants for the
// inputs, outputs and workspace, a C usage comment, and under __cplusplus a
// small class that owns its buffers and names its arguments and results.
#include <cstdint>
#include <string>
#include <vector>

#include "nabla/ir/function.h"

namespace nabla {

struct AotFunction {
  const Function* function = nullptr;
  std::string symbol;           // the exported C symbol
  uint64_t workspace_bytes = 0;
};

struct HeaderOptions {
  std::string cpp_namespace;    // empty: the C++ classes live in the global namespace
  std::string object_name;      // mentioned in the usage comment, e.g. "model.o"
};

std::string generate_header(const std::vector<AotFunction>& functions, const HeaderOptions& options);

// A valid C identifier from a nabla value or function name ('.' and other
// characters become '_', a leading digit gets a '_' in front).
std::string c_identifier(std::string_view name);

}  // namespace nabla
