#pragma once
// Optimization and machine code for one lowered module on several threads:
// the module's functions are dealt out into parts of about equal work (local
// symbols become hidden externals so that the parts link; small constants are
// copied into each part), and each part is optimized and compiled to an object
// file on its own thread, with its own LLVMContext and TargetMachine: the
// first in the module itself on the calling thread, the others in copies read
// back from the module's bitcode. The JIT links the objects together.
#include <memory>
#include <string>
#include <vector>

#include "nabla/compiler/codegen.h"

namespace llvm {
class Module;
}  // namespace llvm

namespace nabla {

struct CompiledParts {
  std::vector<std::string> objects;  // one relocatable object per part
  std::string llvm_ir;               // the optimized parts' IR, when asked for
  std::string assembly;              // their assembly, when asked for
  double optimize_ms = 0;            // the slowest part's optimization
  double codegen_ms = 0;             // the slowest part's code generation
};

struct PartsOptions {
  int parts = 1;         // at most this many partitions (and threads)
  bool want_ir = false;  // fill CompiledParts::llvm_ir
  bool want_asm = false; // fill CompiledParts::assembly
};

// Compiles `m` (lowered, not optimized; it is split or optimized in place, so
// use it for nothing else afterwards) for `target`. Throws
// nabla::Error (from whichever part failed first) when a part does not verify.
CompiledParts compile_parts(llvm::Module& m, const TargetSpec& target, const PartsOptions& o);

}  // namespace nabla
