#pragma once
// Test-only JIT: optimizes a module at O3 for the host (the TargetMachine given
// to PassBuilder, so the vectorizers and the cost models see AVX-512) and
// compiles it with ORC LLJIT. Used by the GEMM tests and benchmarks until the
// backend's JIT takes over.
#include <memory>
#include <string>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

namespace nabla::testing {

class TestJit {
 public:
  TestJit();
  ~TestJit();
  TestJit(const TestJit&) = delete;
  TestJit& operator=(const TestJit&) = delete;

  const std::string& cpu() const { return cpu_; }
  const std::string& features() const { return features_; }

  // A fresh module for this JIT (data layout and triple of the host).
  std::unique_ptr<llvm::Module> new_module(const std::string& name);
  llvm::LLVMContext& context();

  // Optimizes `module` (O3), adds it and returns the address of the external
  // function `symbol`. Throws nabla::Error when verification or lookup fails.
  // When `asm_path` is not empty the optimized module's assembly goes there.
  void* compile(std::unique_ptr<llvm::Module> module, const std::string& symbol,
                const std::string& asm_path = "");
  // The address of an external function of a module compiled before.
  void* lookup(const std::string& symbol);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string cpu_, features_;
};

// Adds `extern "C" void NAME(ptr x8 args as in compiler/gemm.h)` forwarding to
// the internal function `callee`, so that a test can look it up.
void add_external_wrapper(llvm::Module& module, const std::string& callee, const std::string& name);

}  // namespace nabla::testing
