#pragma once
// Ahead-of-time compilation (the engine of nablac): every function of a module
// through the pipeline, fusion and the same lowering as the JIT, into one LLVM
// module for any target LLVM supports, then an object file, assembly or IR.
// The object needs only libc and libm: the kernel ABI is runtime/abi.h.
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "nabla/compiler/aot_header.h"
#include "nabla/compiler/codegen.h"
#include "nabla/compiler/pipeline.h"

namespace llvm {
class LLVMContext;
class Module;
class TargetMachine;
}  // namespace llvm

namespace nabla {

struct AotOptions {
  TargetSpec target;          // empty triple: the host
  PipelineSpec pipeline;
  bool fast_math = false;
  int64_t stream_store_bytes = int64_t{16} << 20;  // as CompileOptions::stream_store_bytes
};

class AotModule {
 public:
  AotModule();
  ~AotModule();
  AotModule(AotModule&&) noexcept;
  AotModule& operator=(AotModule&&) noexcept;

  // One per compiled function: its symbol and workspace size.
  const std::vector<AotFunction>& functions() const { return functions_; }
  // The target triple, CPU and features of the code.
  AotTarget target() const;
  // What the caller should tell the user (nablac prints each as `nablac:
  // warning: ...`): today one, when the code has multiply-adds that could use
  // an FMA instruction and the CPU has none (docs/nablac.md#targets-and-cpus).
  const std::vector<std::string>& warnings() const { return warnings_; }
  // The C/C++ header for the object (aot_header.h).
  std::string header(const HeaderOptions& options) const { return generate_header(functions_, target(), options); }

  // The optimized module as an object file, assembly or LLVM IR (each call
  // generates code from a copy, so they can be combined). Throw nabla::Error.
  std::string object_bytes();
  std::string assembly_text();
  std::string llvm_ir_text();

 private:
  friend AotModule compile_ahead_of_time(Module& m, const AotOptions& options);
  std::unique_ptr<llvm::LLVMContext> context_;
  std::unique_ptr<llvm::TargetMachine> tm_;
  std::unique_ptr<llvm::Module> module_;
  std::vector<AotFunction> functions_;
  std::vector<std::string> warnings_;
};

// Runs the pipeline on m in place (m's functions then hold what was compiled,
// and AotFunction::function points into m), lowers all of them into one LLVM
// module for the target and optimizes it. Throws nabla::Error for an unknown
// target or CPU, a pass failure, or an op that cannot be lowered.
AotModule compile_ahead_of_time(Module& m, const AotOptions& options);

}  // namespace nabla
