#pragma once
// Internal to the convolution lowering (compiler/lower_conv*.cpp).
#include <cstdint>

#include "nabla/ir/node.h"

namespace nabla {

struct KernelEnv;

// The sizes of a convolution, whichever of the three ops: x [n, c, h, w],
// weights [o, cg, kh, kw] (og = o / groups), y [n, o, ho, wo], and the
// attributes.
struct ConvGeometry {
  int64_t n, c, h, w, o, cg, og, kh, kw, ho, wo;
  int64_t sh, sw, pt, pl, dh, dw;
  int64_t groups() const { return c / cg; }
};

ConvGeometry conv_geometry(const Node& n);

// The three convolutions as direct loops, in the interpreter's order.
void emit_conv_loops(KernelEnv& env);

// The three convolutions on the generated GEMM (lower_conv_gemm.cpp), when
// they are large enough: describe fills info and emit emits the kernel, each
// returning false (and doing nothing) for a convolution left to the loops.
struct KernelInfo;
struct LowerOptions;
bool describe_conv_gemm(const Node& n, const LowerOptions& o, KernelInfo& info);
bool emit_conv_gemm(KernelEnv& env);

}  // namespace nabla
