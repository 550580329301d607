#pragma once
// Matmul epilogue fusion: a float matmul and an elementwise op or elementwise
// fused region of the same type that reads it (at the same index, so no
// broadcast of it) become one fused node whose body holds the matmul and then
// the elementwise part:
//
//   %m = matmul %x, %w                  %h = fused %x, %w, %b (%x0, %x1, %x2) {
//   %h = fused %m, %b {add; relu}  =>      %m = matmul %x0, %x1
//                                          %v = add %m, %x2
//                                          %h = relu %v }
//
// The backend computes such a node as one generated GEMM whose epilogue
// evaluates the elementwise part on each output vector of the last K block
// (compiler/gemm_epilogue.h), so the product never goes to memory by itself.
//
// When the product has other users too (or is returned), the first user in
// schedule order that qualifies is fused and the product stays a result: the
// body returns both and the node becomes a group of two (ir/fused.h),
// `%m, %h = fused %x, %w, %b`; the GEMM then stores the product and the
// epilogue's value in one pass. The group stands where the user stood when
// every other user of the product comes later, else where the product stood
// when the user's other operands exist by then (else nothing is fused).
// Run after `fuse` (the compile pipeline does). Products left alone: integer
// ones, those under kGemmMinWork multiply-adds (the backend's simple kernel
// computes them), consumers that reduce,
// regions of several results (sibling fusion), consumers that call libm (exp, log, tanh, ... are scalar calls, not vector code), and
// operands whose batch axes broadcast only in part (e.g. [2,1,M,N] against
// [2,3,M,N]).
#include <cstdint>
#include <memory>

#include "nabla/ir/function.h"

namespace nabla {

// Multiply-adds (batch * M * N * K) from which a float matmul is lowered onto
// the generated GEMM; smaller ones use the backend's simple kernel.
inline constexpr int64_t kGemmMinWork = 4096;

// Returns true when it fused at least one matmul.
bool fuse_matmul(Function& f);

}  // namespace nabla
