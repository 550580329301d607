#pragma once
// relu on a float scalar or vector register value: the elementwise kernels'
// and the GEMM epilogue's (defined in lower_scalar.cpp). Its own header,
// free of nabla's IR types, for the GEMM emitter that works in LLVM's names.
namespace llvm {
class IRBuilderBase;
class Value;
}  // namespace llvm

namespace nabla {

// x > 0 or NaN: x (quieted); else +0.
llvm::Value* emit_relu(llvm::IRBuilderBase& b, llvm::Value* x);

}  // namespace nabla
