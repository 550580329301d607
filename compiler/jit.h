#pragma once
// The in-process JIT: one ORC LLJIT per compiled function, for the host
// machine. Modules come in already optimized (compiler/codegen.h); the JIT
// only generates machine code and links it. libm and libc symbols that the
// kernels call are resolved to this process's own.
#include <memory>
#include <string>
#include <vector>

namespace llvm {
class LLVMContext;
class Module;
class TargetMachine;
}  // namespace llvm

namespace nabla {

struct TargetSpec;

class Jit {
 public:
  // A JIT for this machine: `spec` has an empty triple and the CPU "native"
  // (this machine's, with all its features), and gives the optimization level
  // of code generation.
  // Throws nabla::Error when LLVM cannot set up the host target.
  explicit Jit(const TargetSpec& spec);
  ~Jit();
  Jit(const Jit&) = delete;
  Jit& operator=(const Jit&) = delete;

  // The host target machine, for optimizing modules before they are added.
  llvm::TargetMachine& target_machine();

  // Adds a module (with the context it lives in) and returns the address of
  // its external function `symbol`, generating the machine code of the whole
  // module now. Throws nabla::Error when linking fails.
  void* add(std::unique_ptr<llvm::Module> module, std::unique_ptr<llvm::LLVMContext> context,
            const std::string& symbol);
  // Links relocatable objects compiled for the host (compiler/parallel_codegen.h)
  // and returns the address of `symbol`, defined by one of them.
  void* add_objects(const std::vector<std::string>& objects, const std::string& symbol);
  // Defines `symbol` as the absolute address `address` for the objects
  // added after (the large constants of compiler/lower.h, which code reaches
  // through the GOT). Throws nabla::Error when it is defined already.
  void define_absolute(const std::string& symbol, const void* address);
  // The address of another external function of a module added before.
  // Throws nabla::Error when there is none.
  void* lookup(const std::string& symbol);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nabla
