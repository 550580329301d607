// The three convolutions on the generated GEMM (compiler/gemm.h), through an
// explicit im2col: per image and channel group, the window's inputs are
// copied into a [K, P] matrix (K = the sum's terms in the interpreter's
// order, P = the result positions) in a slot of the scratch, and one product
// computes the result block:
//
//   conv2d              y[n, g]  = W_g [og, cg*kh*kw]   x col(x[n, g])   [cg*kh*kw, Ho*Wo]
//   conv2d_input_grad   dx[n, g] = W'_g [cg, og*kh*kw]  x col'(dy[n, g]) [og*kh*kw, H*W]
//   conv2d_weight_grad  dw[g]   += dy[n, g] [og, Ho*Wo] x col(x[n, g])^T [Ho*Wo, cg*kh*kw]
//                  or dw[g]^T += col(x[n, g]) [cg*kh*kw, Ho*Wo] x dy[n, g]^T [Ho*Wo, og]
//
// The GEMM packs a transposed B by turning it around 16 x 16 at a time; the
// second form of the weight gradient (wgrad_transposed) turns around dy's og
// rows per image instead of col's cg*kh*kw, summing dw^T in the scratch,
// transposed into dw after the last image (LeNet's second layer: 16 rows
// instead of 150).
//
// col' reads dy where the window of (iy, ix) meets a result position (0
// between strides and outside), and W'_g is the group's weights reordered
// [c', (o', ky, kx)]. A 1x1 convolution with stride 1 and no padding needs
// no copy: the image is its own col. Nor does a large enough convolution of
// horizontal stride 1 (implicit_pays): the GEMM packs its panels of col or
// col' straight from the image (lower_conv_pack.cpp). The GEMM's exact mode sums each element
// over k ascending from +0 with separate multiplies and adds, so results are
// the interpreter's bit for bit (weight_grad adds one image's sum at a time,
// the GEMM's beta = 1, as the interpreter does); with fast-math they are FMAs.
// conv2d and conv2d_input_grad split the (image, group) pairs over the
// thread slots; conv2d_weight_grad sums over the images, so each slot runs
// its share of the GEMM's output blocks for every image (one slot when the
// GEMM has fewer blocks than slots), copying only the planes of col its
// blocks read when they split dw's columns (slot_planes).
#include <algorithm>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Intrinsics.h>

#include "nabla/compiler/gemm.h"
#include "nabla/compiler/kernel_builder.h"
#include "nabla/compiler/lower.h"
#include "nabla/compiler/lower_conv.h"
#include "nabla/passes/fuse_matmul.h"

namespace nabla {
namespace {

int64_t aligned(int64_t bytes) { return (bytes + 63) / 64 * 64; }

struct ConvGemm {
  ConvGeometry g;
  Op op;
  DType t;
  int64_t slots = 1, items = 1;
  bool direct = false;            // the operand is its own col matrix
  bool col2im = false;            // input_grad: dcol = W_g^T dy, then summed into dx
  bool implicit = false;          // col packed by the GEMM from the operand (window)
  bool dw_transposed = false;     // weight_grad: dw^T = col x dy^T in the scratch, then transposed
  WindowPack window{};
  int64_t col_bytes = 0, pack_bytes = 0;  // per slot
  int64_t dwt_bytes = 0;                  // dw^T, shared by the slots (each sums its rows)
  GemmSpec spec;
  GemmPlan plan;
};

// Whether packing col straight from the image (lower_conv_pack.cpp) beats
// writing it out first, for a product of m rows over `planes` input planes:
// the packing sets up its masks per (ky, kx) and reuses them for every
// plane, and each packed element feeds m rows. Measured (docs/performance.md,
// "conv2d and its gradients"): faster for ResNet's 64 -> 64 3x3, slower
// for LeNet's first layer (1 plane, 6 rows: 0.23 -> 0.39 ms), which keeps
// the explicit copy.
bool implicit_pays(int64_t m, int64_t planes) { return m >= 16 && planes >= 8; }

// Whether the weight gradient sums dw^T = col x dy^T (B = dy, og x P per
// image turned around by the packing) rather than dw = dy x col^T (B = col,
// cg*kh*kw x P): when og is whole vectors (no lanes wasted), at most eight,
// and col has at least twice its rows. LeNet's conv1 (og = 6) would waste 10
// of 16 lanes: measured in docs/performance.md, "LeNet-5 training step". The
// turnaround saved is a share of about 1/og of the product's work, so its
// gain shrinks as og grows: 3x3 at N = 32 (docs/performance.md, "The 3x3
// weight gradient as dw^T"), og = 64 and 128 f32 10-15% faster, og = 256
// neither faster nor slower.
bool wgrad_transposed(int64_t og, int64_t col_rows, int64_t lanes) {
  return og % lanes == 0 && og <= 8 * lanes && col_rows >= 2 * og;
}

// The product for one (image, group) pair, and the choice to use it.
bool plan_conv_gemm(const Node& n, const LowerOptions& o, ConvGemm& c) {
  const ConvGeometry& g = c.g = conv_geometry(n);
  c.op = n.op();
  c.t = n.dtype();
  int64_t work = g.n * g.o * g.ho * g.wo * g.cg * g.kh * g.kw;
  bool widths = o.vector_bits == 128 || o.vector_bits == 256 || o.vector_bits == 512;
  if (!widths || work < 8 * kGemmMinWork) return false;
  int64_t groups = g.groups(), kk = g.kh * g.kw, p = g.ho * g.wo, pin = g.h * g.w;
  c.direct = kk == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 && p == pin;
  c.slots = o.num_threads > 1 && work >= o.min_parallel_work ? o.num_threads : 1;
  c.items = g.n * groups;
  GemmSpec& s = c.spec;
  s.dtype = c.t;
  s.exact = !o.fast_math;
  s.vector_bits = o.vector_bits;
  int64_t elem = static_cast<int64_t>(dtype_size(c.t)), lanes = o.vector_bits / (8 * elem);
  if (c.op == Op::Conv2D) {
    s.M = g.og, s.N = p, s.K = g.cg * kk;
    c.implicit = !c.direct && g.sw == 1 && g.wo >= lanes && implicit_pays(g.og, g.cg);
    c.window = {g.kh, g.kw, g.h, g.w, g.wo, g.sh, -g.pt, g.dh, -g.pl, g.dw};
    c.col_bytes = c.direct || c.implicit ? 0 : aligned(s.K * p * elem);
  } else if (c.op == Op::Conv2DInputGrad && !c.direct && o.fast_math && g.sh == 1 && g.sw == 1 && 4 * pin > 5 * p) {
    // Fewer result positions than input positions (LeNet's valid 5x5): col'
    // would be mostly zeros, as many multiply-adds wasted. dcol [cg*kh*kw,
    // Ho*Wo] = W_g^T dy instead (A read transposed in place), then col2im.
    c.col2im = true;
    s.M = g.cg * kk, s.N = p, s.K = g.og, s.trans_a = true;
    c.col_bytes = aligned(s.M * p * elem);
  } else if (c.op == Op::Conv2DInputGrad) {
    s.M = g.cg, s.N = pin, s.K = g.og * kk;
    s.trans_a = c.direct;  // W_g [og, cg] is W'_g transposed
    c.implicit = !c.direct && g.sh == 1 && g.sw == 1 && g.w >= lanes && implicit_pays(g.cg, g.og);
    c.window = {g.kh, g.kw, g.ho, g.wo, g.w, 1, g.pt, -g.dh, g.pl, -g.dw};
    // dy read in place would cost a kc-deep panel of rows Ho*Wo apart per
    // tile, beside the broadcasts of A^T from kc lines: packed, 128 x 784 x
    // 256 (ResNet's 1x1) runs at 0.57 ms instead of 0.70 (gemm_bench --cold).
    if (c.direct) s.tuning.pack_b = 1;
    // With 32 vector registers, a tile of 8 rows by 3 vectors: ResNet's 1x1
    // (128 rows, 16 tiles instead of 9 of 14 and one of 2; 11 loads per 24
    // FMAs instead of 16 per 28) 5.1-5.2 -> 4.9 ms on 2 threads.
    if (c.direct && o.vector_bits == 512 && g.cg % 8 == 0) s.tuning.mr = 8, s.tuning.nr = 3 * lanes;
    c.col_bytes = c.direct || c.implicit ? 0 : aligned(s.K * pin * elem);
    c.pack_bytes = c.direct ? 0 : aligned(s.M * s.K * elem);
  } else {
    c.dw_transposed = !c.direct && wgrad_transposed(g.og, g.cg * kk, lanes);
    s.M = g.og, s.N = g.cg * kk, s.K = p, s.trans_b = true, s.beta = 1;
    if (c.dw_transposed) {
      // A = col read in place (packing it would turn it around too); the
      // tasks split only dw^T's rows, one block per slot (left to itself the
      // plan splits N = og in two when it is two panels wide), so that each
      // slot transposes its own.
      std::swap(s.M, s.N);
      s.tuning.pack_a = 0;
      s.tuning.tasks_n = 1;
      s.tuning.tasks_m = c.slots;
      c.dwt_bytes = aligned(s.M * s.N * elem);
    }
    c.col_bytes = c.direct ? 0 : aligned(g.cg * kk * p * elem);
    s.threads = static_cast<int>(c.slots);
    // Each K block of an image is a pass over dw (beta = 1): one block when
    // the image's positions are at most 4 KiB of a packed row (ResNet's 1x1
    // at 28x28: 784 deep instead of 4 x 208, 2 threads 5.4 -> 4.8 ms).
    if (p * elem <= 4096) s.tuning.kc = (p + lanes - 1) / lanes * lanes;
  }
  if (c.implicit) s.tuning.pack_b = 1;
  c.plan = plan_gemm(s);
  if (c.op == Op::Conv2DWeightGrad && c.plan.num_tasks < c.slots) {
    // Fewer output blocks than slots: a slot would only repeat the copies
    // (and share dw's cache lines). One slot does it all.
    c.slots = 1;
    s.threads = 1;
    c.plan = plan_gemm(s);
  }
  return true;
}

// dst[i] = src[i * stride + offset] for i in [lo, hi), 0 elsewhere in [0, len):
// one row of a col matrix, from one row of the image (or nothing, all 0).
void copy_row(KernelBuilder& kb, DType t, llvm::Value* dst, llvm::Value* src, int64_t len, int64_t stride,
              int64_t offset, int64_t lo, int64_t hi) {
  lo = std::clamp<int64_t>(lo, 0, len), hi = std::clamp<int64_t>(hi, lo, len);
  auto zeros = [&](int64_t from, int64_t to) {
    if (from < to) kb.loop(kb.i64(from), kb.i64(to), [&](llvm::Value* i) { kb.store(t, kb.constant(t, 0), dst, i); }, 1, "z");
  };
  zeros(0, lo);
  if (src && lo < hi)
    kb.loop(kb.i64(lo), kb.i64(hi), [&](llvm::Value* i) {
      kb.store(t, kb.load(t, src, kb.b.CreateAdd(kb.b.CreateMul(i, kb.i64(stride)), kb.i64(offset))), dst, i);
    }, 1, "i");
  else
    zeros(lo, hi);
  zeros(hi, len);
}

// The first i >= 0 with i * s + off >= 0, and the first with i * s + off >= n.
int64_t first_at_least(int64_t s, int64_t off, int64_t n) { return std::max<int64_t>(0, (n - off + s - 1) / s); }

// col(x[n, g]): row (c, ky, kx), column (oy, ox) = x[n, c0 + c, oy*sh - pt + ky*dh, ox*sw - pl + kx*dw],
// for the planes c in [c_lo, c_hi) (default: all).
void emit_im2col(KernelBuilder& kb, DType t, const ConvGeometry& g, llvm::Value* image, llvm::Value* col,
                 llvm::Value* c_lo = nullptr, llvm::Value* c_hi = nullptr) {
  auto& b = kb.b;
  kb.loop(c_lo ? c_lo : kb.i64(0), c_hi ? c_hi : kb.i64(g.cg), [&](llvm::Value* c) {
    llvm::Value* plane = kb.element_ptr(t, image, b.CreateMul(c, kb.i64(g.h * g.w)));
    for (int64_t ky = 0; ky < g.kh; ++ky)
      for (int64_t kx = 0; kx < g.kw; ++kx) {
        llvm::Value* rows = kb.element_ptr(t, col, b.CreateMul(b.CreateAdd(b.CreateMul(c, kb.i64(g.kh * g.kw)),
                                                                           kb.i64(ky * g.kw + kx)), kb.i64(g.ho * g.wo)));
        int64_t yoff = ky * g.dh - g.pt, xoff = kx * g.dw - g.pl;
        int64_t xlo = first_at_least(g.sw, xoff, 0), xhi = first_at_least(g.sw, xoff, g.w);
        kb.loop(kb.i64(0), kb.i64(g.ho), [&](llvm::Value* oy) {
          llvm::Value* iy = b.CreateAdd(b.CreateMul(oy, kb.i64(g.sh)), kb.i64(yoff));
          llvm::Value* dst = kb.element_ptr(t, rows, b.CreateMul(oy, kb.i64(g.wo)));
          llvm::Value* inside = b.CreateICmpULT(iy, kb.i64(g.h));
          kb.when(inside, [&] {
            copy_row(kb, t, dst, kb.element_ptr(t, plane, b.CreateMul(iy, kb.i64(g.w))), g.wo, g.sw, xoff, xlo, xhi);
          });
          kb.when(b.CreateNot(inside), [&] { copy_row(kb, t, dst, nullptr, g.wo, 1, 0, 0, 0); });
        }, 1, "oy");
      }
  }, 1, "c");
}

// col'(dy[n, g]): row (o', ky, kx), column (iy, ix) = dy[n, o0 + o', oy, ox] with
// oy * sh = iy + pt - ky * dh (likewise ox), 0 where there is no such position.
void emit_col_transposed(KernelBuilder& kb, DType t, const ConvGeometry& g, llvm::Value* dy, llvm::Value* col) {
  auto& b = kb.b;
  kb.loop(kb.i64(0), kb.i64(g.og), [&](llvm::Value* o) {
    llvm::Value* plane = kb.element_ptr(t, dy, b.CreateMul(o, kb.i64(g.ho * g.wo)));
    for (int64_t ky = 0; ky < g.kh; ++ky)
      for (int64_t kx = 0; kx < g.kw; ++kx) {
        llvm::Value* rows = kb.element_ptr(t, col, b.CreateMul(b.CreateAdd(b.CreateMul(o, kb.i64(g.kh * g.kw)),
                                                                           kb.i64(ky * g.kw + kx)), kb.i64(g.h * g.w)));
        int64_t yoff = g.pt - ky * g.dh, xoff = g.pl - kx * g.dw;
        kb.loop(kb.i64(0), kb.i64(g.h), [&](llvm::Value* iy) {
          llvm::Value* ny = b.CreateAdd(iy, kb.i64(yoff));
          llvm::Value* dst = kb.element_ptr(t, rows, b.CreateMul(iy, kb.i64(g.w)));
          if (g.sw == 1) {  // a row of dy, shifted
            llvm::Value* oy = b.CreateSDiv(ny, kb.i64(g.sh));
            llvm::Value* inside = b.CreateAnd(b.CreateICmpULT(ny, kb.i64(g.sh * g.ho)),
                                              b.CreateICmpEQ(b.CreateSRem(ny, kb.i64(g.sh)), kb.i64(0)));
            kb.when(inside, [&] {
              copy_row(kb, t, dst, kb.element_ptr(t, plane, b.CreateMul(oy, kb.i64(g.wo))), g.w, 1, xoff,
                       -xoff, g.wo - xoff);
            });
            kb.when(b.CreateNot(inside), [&] { copy_row(kb, t, dst, nullptr, g.w, 1, 0, 0, 0); });
            return;
          }
          kb.loop(kb.i64(0), kb.i64(g.w), [&](llvm::Value* ix) {  // strided: element by element
            llvm::Value* nx = b.CreateAdd(ix, kb.i64(xoff));
            llvm::Value* ok = b.CreateAnd(b.CreateICmpULT(ny, kb.i64(g.sh * g.ho)), b.CreateICmpULT(nx, kb.i64(g.sw * g.wo)));
            ok = b.CreateAnd(ok, b.CreateICmpEQ(b.CreateSRem(ny, kb.i64(g.sh)), kb.i64(0)));
            ok = b.CreateAnd(ok, b.CreateICmpEQ(b.CreateSRem(nx, kb.i64(g.sw)), kb.i64(0)));
            llvm::Value* at = b.CreateAdd(b.CreateMul(b.CreateSDiv(ny, kb.i64(g.sh)), kb.i64(g.wo)), b.CreateSDiv(nx, kb.i64(g.sw)));
            llvm::AllocaInst* v = kb.local(kb.value_type(t), "v");
            b.CreateStore(kb.constant(t, 0), v);
            kb.when(ok, [&] { b.CreateStore(kb.load(t, plane, at), v); });
            kb.store(t, b.CreateLoad(v->getAllocatedType(), v), dst, ix);
          }, 1, "ix");
        }, 1, "iy");
      }
  }, 1, "o");
}

// col2im for stride 1: dx[c, iy, ix] = the sum over (ky, kx) of dcol[(c, ky,
// kx), (iy + pt - ky*dh, ix + pl - kx*dw)] where that position exists. Each
// row of dx is summed in vector registers, one masked vector load of a
// shifted dcol row per (ky, kx), and stored once (adding row by row into dx
// would reload what the last add just stored at an overlapping offset,
// which store forwarding cannot serve). fast-math only: the sums come in
// another order than the interpreter's.
void emit_col2im(KernelBuilder& kb, DType t, const ConvGeometry& g, llvm::Value* dcol, llvm::Value* dx) {
  auto& b = kb.b;
  const int64_t elem = static_cast<int64_t>(dtype_size(t)), lanes = kb.options.vector_bits / (8 * elem);
  llvm::Type* vec = llvm::FixedVectorType::get(kb.value_type(t), static_cast<unsigned>(lanes));
  const llvm::Align align(static_cast<uint64_t>(elem));
  llvm::Value* zero = llvm::Constant::getNullValue(vec);
  // Lanes [lo, hi) of the vector starting at column x0, clipped to the row.
  auto mask = [&](int64_t x0, int64_t lo, int64_t hi) {
    std::vector<llvm::Constant*> bits;
    for (int64_t k = 0; k < lanes; ++k) bits.push_back(b.getInt1(x0 + k >= lo && x0 + k < hi && x0 + k < g.w));
    return llvm::ConstantVector::get(bits);
  };
  llvm::AllocaInst* acc = kb.local(vec, "row");
  kb.loop(kb.i64(0), kb.i64(g.cg), [&](llvm::Value* c) {
    kb.loop(kb.i64(0), kb.i64(g.h), [&](llvm::Value* iy) {
      for (int64_t x0 = 0; x0 < g.w; x0 += lanes) {
        b.CreateStore(zero, acc);
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          llvm::Value* oy = b.CreateAdd(iy, kb.i64(g.pt - ky * g.dh));
          kb.when(b.CreateICmpULT(oy, kb.i64(g.ho)), [&] {
            for (int64_t kx = 0; kx < g.kw; ++kx) {
              int64_t shift = g.pl - kx * g.dw;  // ox = ix + shift, valid for ix in [-shift, wo - shift)
              llvm::Value* row = b.CreateAdd(b.CreateMul(c, kb.i64(g.kh * g.kw)), kb.i64(ky * g.kw + kx));
              llvm::Value* at = b.CreateAdd(b.CreateMul(b.CreateAdd(b.CreateMul(row, kb.i64(g.ho)), oy), kb.i64(g.wo)),
                                            kb.i64(x0 + shift));
              llvm::Value* v = b.CreateMaskedLoad(vec, kb.element_ptr(t, dcol, at), align, mask(x0, -shift, g.wo - shift), zero);
              b.CreateStore(b.CreateFAdd(b.CreateLoad(vec, acc), v), acc);
            }
          });
        }
        llvm::Value* out = kb.element_ptr(t, dx, b.CreateAdd(b.CreateMul(b.CreateAdd(b.CreateMul(c, kb.i64(g.h)), iy), kb.i64(g.w)), kb.i64(x0)));
        b.CreateMaskedStore(b.CreateLoad(vec, acc), out, align, mask(x0, 0, g.w));
      }
    }, 1, "iy");
  }, 1, "c");
}

// W'_g[c', (o', ky, kx)] = w[o0 + o', c', ky, kx].
void emit_pack_weights(KernelBuilder& kb, DType t, const ConvGeometry& g, llvm::Value* w, llvm::Value* packed) {
  auto& b = kb.b;
  int64_t kk = g.kh * g.kw;
  kb.loop(kb.i64(0), kb.i64(g.cg), [&](llvm::Value* c) {
    kb.loop(kb.i64(0), kb.i64(g.og * kk), [&](llvm::Value* k) {
      llvm::Value* o = b.CreateSDiv(k, kb.i64(kk));
      llvm::Value* src = b.CreateAdd(b.CreateMul(b.CreateAdd(b.CreateMul(o, kb.i64(g.cg)), c), kb.i64(kk)),
                                     b.CreateSRem(k, kb.i64(kk)));
      kb.store(t, kb.load(t, w, src), packed, b.CreateAdd(b.CreateMul(c, kb.i64(g.og * kk)), k));
    }, 1, "k");
  }, 1, "c");
}

// The planes [lo, hi) of col that a slot's share of the weight gradient's
// product reads: when the tasks split only the columns of dw (c, ky, kx),
// the planes of its tasks' columns, so that the slots split the im2col too
// instead of each copying every plane (64 -> 64 3x3 at 56x56: 7.2 MB per
// image); otherwise all of them.
// The columns of dw (c, ky, kx) [lo, hi) that a slot's share of the weight
// gradient's tasks computes, when the tasks split only them (dw's columns,
// or dw^T's rows); nullopt otherwise.
std::optional<std::pair<llvm::Value*, llvm::Value*>> slot_columns(KernelBuilder& kb, const ConvGemm& c, llvm::Value* slot) {
  auto& b = kb.b;
  const int64_t tasks = c.plan.num_tasks;
  const int64_t split = c.dw_transposed ? c.plan.tasks_m : c.plan.tasks_n;
  if (tasks != split) return std::nullopt;
  const int64_t width = c.dw_transposed ? c.plan.task_rows : c.plan.task_cols;
  const int64_t columns = c.dw_transposed ? c.spec.M : c.spec.N;
  llvm::Value* t0 = b.CreateUDiv(b.CreateMul(slot, kb.i64(tasks)), kb.i64(c.slots));
  llvm::Value* t1 = b.CreateUDiv(b.CreateMul(b.CreateAdd(slot, kb.i64(1)), kb.i64(tasks)), kb.i64(c.slots));
  auto at = [&](llvm::Value* t) {
    return b.CreateBinaryIntrinsic(llvm::Intrinsic::umin, b.CreateMul(t, kb.i64(width)), kb.i64(columns));
  };
  return std::pair{at(t0), at(t1)};
}

// The planes [lo, hi) of col that a slot's share of the weight gradient's
// product reads: when the tasks split only the columns of dw (c, ky, kx),
// the planes of its tasks' columns, so that the slots split the im2col too
// instead of each copying every plane (64 -> 64 3x3 at 56x56: 7.2 MB per
// image); otherwise all of them.
std::pair<llvm::Value*, llvm::Value*> slot_planes(KernelBuilder& kb, const ConvGemm& c, llvm::Value* slot) {
  auto& b = kb.b;
  const int64_t kk = c.g.kh * c.g.kw;
  auto cols = c.slots == 1 ? std::nullopt : slot_columns(kb, c, slot);
  if (!cols) return {kb.i64(0), kb.i64(c.g.cg)};
  llvm::Value* lo = b.CreateUDiv(cols->first, kb.i64(kk));
  llvm::Value* hi = b.CreateUDiv(b.CreateAdd(cols->second, kb.i64(kk - 1)), kb.i64(kk));
  return {lo, b.CreateSelect(b.CreateICmpUGT(cols->second, cols->first), hi, lo)};
}

// dw[o, j] = dw^T[j, o] for the columns j in [lo, hi).
void emit_untranspose(KernelBuilder& kb, DType t, const ConvGemm& c, llvm::Value* dwt, llvm::Value* dw,
                      std::pair<llvm::Value*, llvm::Value*> cols) {
  auto& b = kb.b;
  const int64_t og = c.g.og, n = c.spec.M;
  kb.loop(cols.first, cols.second, [&](llvm::Value* j) {
    kb.loop(kb.i64(0), kb.i64(og), [&](llvm::Value* o) {
      kb.store(t, kb.load(t, dwt, b.CreateAdd(b.CreateMul(j, kb.i64(og)), o)), dw, b.CreateAdd(b.CreateMul(o, kb.i64(n)), j));
    }, 1, "o");
  }, 1, "j");
}

// One slot's share of the weight gradient: for each group, every image's
// product (run_share runs the slot's tasks of one), then, for dw^T, its
// columns of dw.
using RunShare = std::function<void(llvm::Function*, llvm::Value*, llvm::Value*, llvm::Value*)>;
void emit_weight_grad_slot(KernelEnv& env, const ConvGemm& c, llvm::Value* slot, llvm::Value* col, llvm::Value* dwt,
                           llvm::Function* gemm0, llvm::Function* gemm, const RunShare& run_share) {
  KernelBuilder& kb = env.kb;
  auto& b = kb.b;
  const ConvGeometry& g = c.g;
  const DType t = c.t;
  const int64_t p = g.ho * g.wo, pin = g.h * g.w, groups = g.groups();
  std::pair<llvm::Value*, llvm::Value*> planes = slot_planes(kb, c, slot);
  kb.loop(kb.i64(0), kb.i64(groups), [&](llvm::Value* grp) {
    llvm::Value* dw = kb.element_ptr(t, env.result, b.CreateMul(grp, kb.i64(g.og * g.cg * g.kh * g.kw)));
    kb.loop(kb.i64(0), kb.i64(g.n), [&](llvm::Value* n) {
      llvm::Value* item = b.CreateAdd(b.CreateMul(n, kb.i64(groups)), grp);
      llvm::Value* image = kb.element_ptr(t, env.operands[0], b.CreateMul(item, kb.i64(g.cg * pin)));
      llvm::Value* dy = kb.element_ptr(t, env.operands[1], b.CreateMul(item, kb.i64(g.og * p)));
      if (!c.direct) emit_im2col(kb, t, g, image, col, planes.first, planes.second);
      llvm::Value* xs = c.direct ? image : col;
      llvm::Value* a = c.dw_transposed ? xs : dy;
      llvm::Value* bm = c.dw_transposed ? dy : xs;
      llvm::Value* out = c.dw_transposed ? dwt : dw;
      llvm::Value* is_first = b.CreateICmpEQ(n, kb.i64(0));
      kb.when(is_first, [&] { run_share(gemm0, a, bm, out); });
      kb.when(b.CreateNot(is_first), [&] { run_share(gemm, a, bm, out); });
    }, 1, "n");
    if (c.dw_transposed) {
      auto cols = c.slots == 1 ? std::nullopt : slot_columns(kb, c, slot);
      emit_untranspose(kb, t, c, dwt, dw, cols ? *cols : std::pair{kb.i64(0), kb.i64(c.spec.M)});
    }
  }, 1, "group");
}

}  // namespace

bool describe_conv_gemm(const Node& n, const LowerOptions& o, KernelInfo& info) {
  ConvGemm c;
  if (!plan_conv_gemm(n, o, c)) return false;
  info.tasks = c.slots;
  info.scratch_bytes = c.slots * (c.col_bytes + c.pack_bytes + c.plan.scratch_bytes) + c.dwt_bytes;
  return true;
}

bool emit_conv_gemm(KernelEnv& env) {
  ConvGemm c;
  if (!plan_conv_gemm(env.node, env.kb.options, c)) return false;
  KernelBuilder& kb = env.kb;
  auto& b = kb.b;
  const ConvGeometry& g = c.g;
  DType t = c.t;
  std::string name = "gemm.node" + std::to_string(env.node_id);
  if (c.implicit) c.spec.pack_b_fn = emit_window_pack(kb, t, c.window, c.plan.nr, c.plan.lanes, name + ".pack_window");
  llvm::Function* gemm = emit_gemm(kb.module, c.spec, name);
  llvm::Function* gemm0 = nullptr;  // weight_grad: the first image's sum overwrites dw
  if (c.op == Op::Conv2DWeightGrad) {
    GemmSpec first = c.spec;
    first.beta = 0;
    gemm0 = emit_gemm(kb.module, first, name + ".first");
  }
  llvm::Value* null = llvm::ConstantPointerNull::get(kb.ptr_type());
  auto bytes = [&](llvm::Value* base, llvm::Value* offset) { return b.CreateGEP(b.getInt8Ty(), base, offset); };
  llvm::Value* scratch = env.scratch ? env.scratch : null;
  llvm::Value* dwt = bytes(scratch, kb.i64(c.slots * (c.col_bytes + c.pack_bytes)));
  llvm::Value* gemm_scratch = bytes(dwt, kb.i64(c.dwt_bytes));
  int64_t p = g.ho * g.wo, pin = g.h * g.w, groups = g.groups();
  kb.loop(env.begin, env.end, [&](llvm::Value* slot) {
    llvm::Value* col = bytes(scratch, b.CreateMul(slot, kb.i64(c.col_bytes)));
    llvm::Value* pack = bytes(scratch, b.CreateAdd(kb.i64(c.slots * c.col_bytes), b.CreateMul(slot, kb.i64(c.pack_bytes))));
    // One product over all of the GEMM's tasks, or this slot's share of them.
    auto run = [&](llvm::Function* fn, llvm::Value* a, llvm::Value* bm, llvm::Value* out, bool shared) {
      llvm::Value* own = bytes(gemm_scratch, b.CreateMul(slot, kb.i64(c.plan.scratch_bytes)));
      if (shared) emit_gemm_slots(b, fn, c.plan, {a, bm, out, null, null}, gemm_scratch, slot, b.CreateAdd(slot, kb.i64(1)), c.slots);
      else emit_gemm_slots(b, fn, c.plan, {a, bm, out, null, null}, own, kb.i64(0), kb.i64(1), 1);
    };
    if (c.op == Op::Conv2DWeightGrad) {
      emit_weight_grad_slot(env, c, slot, col, dwt, gemm0, gemm, [&](llvm::Function* fn, llvm::Value* a, llvm::Value* bm, llvm::Value* out) {
        run(fn, a, bm, out, true);
      });
      return;
    }
    auto share = [&](llvm::Value* s) { return b.CreateUDiv(b.CreateMul(s, kb.i64(c.items)), kb.i64(c.slots)); };
    kb.loop(share(slot), share(b.CreateAdd(slot, kb.i64(1))), [&](llvm::Value* item) {
      llvm::Value* grp = b.CreateSRem(item, kb.i64(groups));
      if (c.op == Op::Conv2D) {
        llvm::Value* image = kb.element_ptr(t, env.operands[0], b.CreateMul(item, kb.i64(g.cg * pin)));
        if (!c.direct && !c.implicit) emit_im2col(kb, t, g, image, col);
        llvm::Value* w = kb.element_ptr(t, env.operands[1], b.CreateMul(grp, kb.i64(g.og * g.cg * g.kh * g.kw)));
        run(gemm, w, c.direct || c.implicit ? image : col, kb.element_ptr(t, env.result, b.CreateMul(item, kb.i64(g.og * p))), false);
        return;
      }
      llvm::Value* dy = kb.element_ptr(t, env.operands[0], b.CreateMul(item, kb.i64(g.og * p)));
      llvm::Value* w = kb.element_ptr(t, env.operands[1], b.CreateMul(grp, kb.i64(g.og * g.cg * g.kh * g.kw)));
      llvm::Value* dx = kb.element_ptr(t, env.result, b.CreateMul(item, kb.i64(g.cg * pin)));
      if (c.col2im) {
        run(gemm, w, dy, col, false);
        emit_col2im(kb, t, g, col, dx);
        return;
      }
      if (!c.direct && !c.implicit) emit_col_transposed(kb, t, g, dy, col);
      if (!c.direct) emit_pack_weights(kb, t, g, w, pack);
      run(gemm, c.direct ? w : pack, c.direct || c.implicit ? dy : col, dx, false);
    }, 1, "item");
  }, 1, "slot");
  return true;
}

}  // namespace nabla
