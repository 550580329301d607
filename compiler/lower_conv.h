#pragma once
// Internal to the convolution lowering (compiler/lower_conv*.cpp).
#include <cstdint>
#include <string>

#include "nabla/ir/node.h"

namespace llvm {
class Function;
}

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

// An im2col-like matrix B(k, q), k = (plane, ky, kx) for planes of src_h x
// src_w and a kh x kw window, q = (py, px) a position of a grid gw wide:
// src[plane][py * rs + ry0 + ky * ry1][px + rx0 + kx * rx1], 0 outside the
// plane (lower_conv_pack.cpp). gw must be at least the vector's lanes.
struct WindowPack {
  int64_t kh, kw, src_h, src_w, gw, rs, ry0, ry1, rx0, rx1;
};

// Emits `name`, the GEMM's packing of such a B (GemmSpec::pack_b_fn) for
// panels of nr columns and vectors of `lanes` elements of t.
class KernelBuilder;
llvm::Function* emit_window_pack(KernelBuilder& kb, DType t, const WindowPack& w, int64_t nr, int64_t lanes,
                                 const std::string& name);

}  // namespace nabla
