#pragma once
// The elementwise part of a fused node whose body holds a matmul (made by the
// fuse-matmul pass, passes/fuse_matmul.h) as the generated GEMM's general
// epilogue (GemmSpec::epilogue): the body's ops after the product, evaluated
// on each output vector of the last K block with emit_element (the same
// element code as the elementwise kernels, so exact mode stays bit-equal to
// the interpreter), every other leaf loaded at the same (batch, m, n)
// through its broadcast strides.
#include <vector>

#include "nabla/compiler/gemm.h"
#include "nabla/ir/node.h"

namespace nabla {

struct KernelEnv;

struct FusedGemmEpilogue {
  GemmEpilogue epilogue;
  std::vector<llvm::Value*> operands;  // E0, E1, ... in the kernel being emitted
};

// For the fused node env.node whose body's matmul is `product`: the body
// values that go to C (values[0]) and to the extra outputs O0, O1, ...
// (values[1], ...). Empty epilogue when values is just the product.
FusedGemmEpilogue fused_gemm_epilogue(KernelEnv& env, const Node& product,
                                      const std::vector<const Node*>& values);

}  // namespace nabla
