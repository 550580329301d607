#pragma once
// Matmul epilogue fusion: a float matmul whose only user is an elementwise op
// or an elementwise fused region of the same type (it reads the product at
// the same index, so no broadcast of it) becomes one fused node whose body
// holds the matmul and then the elementwise part:
//
//   %m = matmul %x, %w                  %h = fused %x, %w, %b (%x0, %x1, %x2) {
//   %h = fused %m, %b {add; relu}  =>      %m = matmul %x0, %x1
//                                          %v = add %m, %x2
//                                          %h = relu %v }
//
// The backend computes such a node as one generated GEMM whose epilogue
// evaluates the elementwise part on each output vector of the last K block
// (compiler/gemm_epilogue.h), so the product never goes to memory by itself.
// Run after `fuse` (the compile pipeline does). Products left alone: integer
// ones, those under kGemmMinWork multiply-adds (the backend's simple kernel
// computes them), those used elsewhere or returned, consumers that reduce,
// regions of several results (sibling fusion), consumers that call libm (exp, log, tanh, ... are scalar calls, not vector code), and
// operands whose batch axes broadcast only in part (e.g. [2,1,M,N] against
// [2,3,M,N]).
#include <cstdint>
#include <memory>

#include "ir/function.h"
#include "passes/pass.h"

namespace nabla {

// Multiply-adds (batch * M * N * K) from which a float matmul is lowered onto
// the generated GEMM; smaller ones use the backend's simple kernel.
inline constexpr int64_t kGemmMinWork = 4096;

// Returns true when it fused at least one matmul.
bool fuse_matmul(Function& f);

std::unique_ptr<Pass> create_fuse_matmul_pass();

}  // namespace nabla
