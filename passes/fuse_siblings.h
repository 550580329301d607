#pragma once
// Sibling fusion, the second step of the fuse pass (passes/fuse.h): fused
// elementwise regions of the same shape that read a common operand become
// one region with several results (ir/fused.h), so that the loop reads each
// operand once and computes the work the regions share once.
#include "nabla/ir/function.h"

namespace nabla {

// Returns true when it merged at least two regions.
bool merge_fused_siblings(Function& f);

// sin(x) and cos(x) of one x, each a lone op (libm ops stay out of the
// vectorized regions, and the fuser makes no region of one op), become one
// fused group of two results: one loop, where the backend computes both with
// one call to libm's sincos (compiler/kernel_builder.cpp). Returns true when
// it paired any.
bool pair_sin_cos(Function& f);

}  // namespace nabla
