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
#include "nabla/passes/sparsity.h"

namespace nabla {

struct AotFunction {
  const Function* function = nullptr;
  std::string symbol;           // the exported C symbol
  uint64_t workspace_bytes = 0;
  std::string check_symbol;     // link_check_symbol(): defined by the object, referenced by the header
};

// What an object was compiled for, recorded in its header.
struct AotTarget {
  std::string triple, cpu, features;
};

// The CSR pattern of a function's first output, a vector of nonzeros (a
// sparse Jacobian or Hessian): the header gives it as static const arrays
// SYMBOL_row_ptr and SYMBOL_col_idx (int32_t, as IPOPT's and acados' indices)
// and the macros SYMBOL_PATTERN_ROWS, _COLS and _NNZ.
struct HeaderPattern {
  std::string function;  // the function whose output 0 holds the values
  std::string what;      // for the comment, e.g. "the Hessian of @f's result in %x, lower triangle"
  SparsityPattern pattern;
};

struct HeaderOptions {
  std::string cpp_namespace;    // empty: the C++ classes live in the global namespace
  std::string object_name;      // mentioned in the usage comment, e.g. "model.o"
  std::vector<HeaderPattern> patterns;
};

std::string generate_header(const std::vector<AotFunction>& functions, const AotTarget& target,
                            const HeaderOptions& options);

// The symbol an object defines for each function and its header references,
// so that a header linked with an object of another compile (another target,
// another signature or workspace size) fails at link time with an undefined
// reference, not at run time: the entry's name, the ABI version, the target
// triple and a hash of the signature and the workspace size, e.g.
// "nabla_logreg__abi3_x86_64_pc_linux_gnu_3f2a9c1b".
std::string link_check_symbol(const AotFunction& f, const std::string& triple);

// A valid C identifier from a nabla value or function name ('.' and other
// characters become '_', a leading digit gets a '_' in front).
std::string c_identifier(std::string_view name);

}  // namespace nabla
