#pragma once
// The element-level semantics of every elementwise op, as LLVM IR on register
// values (bool is i1). The one place that says how neg, sigmoid, maximum, cast,
// ... compute one element; the elementwise, fused and reduction kernels all
// call it. It matches the interpreter (ir/interpreter_elementwise.cpp) op for
// op: same IEEE operations in the same order, the same libm functions.
#include <span>

#include "nabla/ir/node.h"

namespace llvm {
class Value;
}

namespace nabla {

class KernelBuilder;

// emit_element computes the ops of is_loop_op (ir/op.h).
// The value of `n` for one element, given its operands' values at that element.
llvm::Value* emit_element(KernelBuilder& kb, const Node& n, std::span<llvm::Value* const> args);

// Element ops by kind, for kernels that combine values themselves.
llvm::Value* emit_unary(KernelBuilder& kb, Op op, DType t, llvm::Value* x);
llvm::Value* emit_binary(KernelBuilder& kb, Op op, DType t, llvm::Value* a, llvm::Value* b);
llvm::Value* emit_cast(KernelBuilder& kb, DType from, DType to, llvm::Value* x);

}  // namespace nabla
