#pragma once
// Helpers for writing kernels with an IRBuilder: nabla dtypes as LLVM types,
// element loads and stores, counted loops and the math functions. Internal to
// compiler/ (the lowering files).
#include <cstdint>
#include <functional>
#include <string>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include "nabla/runtime/dtype.h"

namespace nabla {

struct LowerOptions;

class KernelBuilder {
 public:
  KernelBuilder(llvm::Module& module, const LowerOptions& options);

  llvm::Module& module;
  llvm::LLVMContext& ctx;
  llvm::IRBuilder<> b;
  const LowerOptions& options;

  llvm::Type* i64_type() { return b.getInt64Ty(); }
  llvm::PointerType* ptr_type() { return b.getPtrTy(); }
  llvm::ConstantInt* i64(int64_t v) { return b.getInt64(static_cast<uint64_t>(v)); }

  // How an element is stored (bool: i8 holding 0 or 1) and how it is held in
  // a register (bool: i1).
  llvm::Type* memory_type(DType t);
  llvm::Type* value_type(DType t);
  // A register-typed constant (bool: v != 0).
  llvm::Constant* constant(DType t, double v);

  // &base[index] for elements of dtype t; index is an i64 value.
  llvm::Value* element_ptr(DType t, llvm::Value* base, llvm::Value* index);
  // base[index] as a register value, and its store (bool: 0/1 bytes).
  llvm::Value* load(DType t, llvm::Value* base, llvm::Value* index);
  void store(DType t, llvm::Value* value, llvm::Value* base, llvm::Value* index);

  // Loops emitted while this is set get metadata that keeps LLVM from
  // vectorizing, interleaving or unrolling them: for loops whose body calls
  // libm (exp, tanh, ...), which the vectorizer would widen into vector
  // intrinsics that code generation splits back into scalar calls.
  bool scalar_loops = false;
  // When > 0, loops built ask the vectorizer to interleave this many vector
  // iterations (independent chains for long per-element computations).
  int interleave = 0;

  // for (i = begin; i < end; i += step) body(i), with an i64 counter; the
  // builder is left after the loop. Nothing runs when begin >= end.
  void loop(llvm::Value* begin, llvm::Value* end, const std::function<void(llvm::Value*)>& body,
            int64_t step = 1, const char* name = "i");
  // if (cond) then(); the builder is left after it.
  void when(llvm::Value* cond, const std::function<void()>& then);

  // A stack slot in the function's entry block (promoted to a register by
  // LLVM), e.g. for an accumulator carried across loop iterations.
  llvm::AllocaInst* local(llvm::Type* type, const char* name = "acc");

  // A call of the libm function `name` (the double version's name; "f" is
  // appended for float), e.g. math("tanh", {x}) calls tanhf for a float x.
  // The call is `nobuiltin`: LLVM neither constant-folds it (its folder
  // computes sinf as a rounded double sin, which can differ in the last bit)
  // nor turns it into an intrinsic, so the result is always the C library's,
  // as in the interpreter. It is marked as touching no memory.
  llvm::Value* math(const std::string& name, llvm::ArrayRef<llvm::Value*> args);
  // A call of an overloaded intrinsic on `args` (the type of args[0]).
  llvm::Value* intrinsic(llvm::Intrinsic::ID id, llvm::ArrayRef<llvm::Value*> args);
  // fadd/fsub/fmul/fdiv for floats, wrapping add/sub/mul for integers.
  llvm::Value* add(llvm::Value* a, llvm::Value* b);
  llvm::Value* mul(llvm::Value* a, llvm::Value* b);

  // A private constant global holding `bytes` (aligned to 64 bytes); at
  // options.external_constants->min_bytes and above, an external declaration
  // of the bytes where they are (compiler/lower.h, ExternalConstants), which
  // must then stay valid and unchanged while the code runs.
  llvm::GlobalVariable* constant_data(const void* bytes, size_t size, const std::string& name);
};

// Replaces each pair of calls sin(x), cos(x) of one x in one block of f by one
// call to sincos (kernel_builder.cpp).
void combine_sincos(llvm::Function& f);

}  // namespace nabla
