#pragma once
// A JIT for tests and benchmarks that build LLVM modules by hand (the GEMM
// emitter's): the backend's host target machine, O3 pipeline and ORC JIT
// (compiler/codegen.h, compiler/jit.h), with one LLVM context per module.
#include <map>
#include <memory>
#include <string>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include "nabla/compiler/jit.h"

namespace nabla::testing {

class TestJit {
 public:
  TestJit();
  ~TestJit();
  TestJit(const TestJit&) = delete;
  TestJit& operator=(const TestJit&) = delete;

  const std::string& cpu() const { return cpu_; }
  const std::string& features() const { return features_; }

  // A fresh module (in a context of its own) for the host.
  std::unique_ptr<llvm::Module> new_module(const std::string& name);

  // Optimizes `module` (O3), adds it and returns the address of the external
  // function `symbol`. Throws nabla::Error when verification or lookup fails.
  // When `asm_path` is not empty the optimized module's assembly goes there.
  void* compile(std::unique_ptr<llvm::Module> module, const std::string& symbol,
                const std::string& asm_path = "");
  // The address of an external function of a module compiled before.
  void* lookup(const std::string& symbol);

 private:
  Jit jit_;
  std::map<llvm::Module*, std::unique_ptr<llvm::LLVMContext>> contexts_;
  std::string cpu_, features_;
};

// Adds `extern "C" void NAME(ptr x8 args as in compiler/gemm.h)` forwarding to
// the internal function `callee`, so that a test can look it up.
void add_external_wrapper(llvm::Module& module, const std::string& callee, const std::string& name);

}  // namespace nabla::testing
