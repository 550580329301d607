// Convolution and pooling: conv2d, conv2d_input_grad, conv2d_weight_grad,
// max_pool2d, max_pool2d_argmax, avg_pool2d, as direct loops: the
// interpreter's (ir/interpreter_conv.cpp) written in LLVM IR, with the same
// sums in the same order. Tasks split the output planes (conv2d,
// pooling), the input planes (conv2d_input_grad) or the filters
// (conv2d_weight_grad), so each element is computed by one task. Pooling
// without padding reads its windows unchecked and unrolled, output rows
// innermost (vectorized); with padding it checks every element.
#include <algorithm>

#include "nabla/compiler/kernel_builder.h"
#include "nabla/compiler/lower.h"
#include "nabla/compiler/lower_conv.h"
#include "nabla/runtime/error.h"

namespace nabla {

ConvGeometry conv_geometry(const Node& n) {
  bool weight = n.op() == Op::Conv2DWeightGrad, input = n.op() == Op::Conv2DInputGrad;
  const Shape& x = input ? n.shape() : n.operand(0)->shape();
  const Shape& w = weight ? n.shape() : n.operand(1)->shape();
  const Shape& y = n.op() == Op::Conv2D ? n.shape() : n.operand(input ? 0 : 1)->shape();
  const Attrs& a = n.attrs();
  return {x[0], x[1], x[2], x[3], w[0], w[1], w[0] / a.groups, w[2], w[3], y[2], y[3],
          a.stride[0], a.stride[1], a.padding[0], a.padding[1], a.dilation[0], a.dilation[1]};
}

namespace {

llvm::Value* add(KernelBuilder& kb, llvm::Value* a, llvm::Value* b) { return kb.b.CreateAdd(a, b); }
llvm::Value* mul(KernelBuilder& kb, llvm::Value* a, int64_t b) { return kb.b.CreateMul(a, kb.i64(b)); }

// acc += (cond ? src[at] : 0) * w[wat], loading src only when cond holds.
void accumulate(KernelBuilder& kb, DType t, llvm::AllocaInst* acc, llvm::Value* cond, llvm::Value* src,
                llvm::Value* at, llvm::Value* w, llvm::Value* wat) {
  auto& b = kb.b;
  llvm::AllocaInst* v = kb.local(kb.value_type(t), "v");
  b.CreateStore(kb.constant(t, 0), v);
  kb.when(cond, [&] { b.CreateStore(kb.load(t, src, at), v); });
  llvm::Value* product = b.CreateFMul(b.CreateLoad(v->getAllocatedType(), v), kb.load(t, w, wat));
  b.CreateStore(b.CreateFAdd(b.CreateLoad(acc->getAllocatedType(), acc), product), acc);
}

llvm::Value* in_range(KernelBuilder& kb, llvm::Value* i, int64_t n) {
  return kb.b.CreateICmpULT(i, kb.i64(n));  // 0 <= i < n
}

// Runs body(acc) and stores the sum at out[at].
void sum_into(KernelBuilder& kb, DType t, llvm::Value* out, llvm::Value* at, const std::function<void(llvm::AllocaInst*)>& body) {
  llvm::AllocaInst* acc = kb.local(kb.value_type(t), "acc");
  kb.b.CreateStore(kb.constant(t, 0), acc);
  body(acc);
  kb.store(t, kb.b.CreateLoad(acc->getAllocatedType(), acc), out, at);
}

// Task (n, o): y[n, o, :, :].
void emit_conv2d(KernelEnv& env, const ConvGeometry& g) {
  KernelBuilder& kb = env.kb;
  DType t = env.node.dtype();
  kb.loop(env.begin, env.end, [&](llvm::Value* task) {
    llvm::Value* n = kb.b.CreateSDiv(task, kb.i64(g.o));
    llvm::Value* o = kb.b.CreateSRem(task, kb.i64(g.o));
    llvm::Value* c0 = mul(kb, kb.b.CreateSDiv(o, kb.i64(g.og)), g.cg);
    kb.loop(kb.i64(0), kb.i64(g.ho), [&](llvm::Value* oy) {
      kb.loop(kb.i64(0), kb.i64(g.wo), [&](llvm::Value* ox) {
        llvm::Value* at = add(kb, mul(kb, add(kb, mul(kb, task, g.ho), oy), g.wo), ox);
        sum_into(kb, t, env.result, at, [&](llvm::AllocaInst* acc) {
          kb.loop(kb.i64(0), kb.i64(g.cg * g.kh * g.kw), [&](llvm::Value* k) {
            llvm::Value* c = kb.b.CreateSDiv(k, kb.i64(g.kh * g.kw));
            llvm::Value* ky = kb.b.CreateSRem(kb.b.CreateSDiv(k, kb.i64(g.kw)), kb.i64(g.kh));
            llvm::Value* kx = kb.b.CreateSRem(k, kb.i64(g.kw));
            llvm::Value* iy = add(kb, mul(kb, oy, g.sh), add(kb, mul(kb, ky, g.dh), kb.i64(-g.pt)));
            llvm::Value* ix = add(kb, mul(kb, ox, g.sw), add(kb, mul(kb, kx, g.dw), kb.i64(-g.pl)));
            llvm::Value* plane = add(kb, mul(kb, n, g.c), add(kb, c0, c));
            llvm::Value* xat = add(kb, mul(kb, add(kb, mul(kb, plane, g.h), iy), g.w), ix);
            llvm::Value* ok = kb.b.CreateAnd(in_range(kb, iy, g.h), in_range(kb, ix, g.w));
            accumulate(kb, t, acc, ok, env.operands[0], xat, env.operands[1], add(kb, mul(kb, o, g.cg * g.kh * g.kw), k));
          }, 1, "k");
        });
      }, 1, "ox");
    }, 1, "oy");
  }, 1, "plane");
}

// Task (n, c): dx[n, c, :, :]; the term of (o', ky, kx) reads dy where
// oy * sh = iy + pt - ky * dh.
void emit_input_grad(KernelEnv& env, const ConvGeometry& g) {
  KernelBuilder& kb = env.kb;
  auto& b = kb.b;
  DType t = env.node.dtype();
  kb.loop(env.begin, env.end, [&](llvm::Value* task) {
    llvm::Value* n = b.CreateSDiv(task, kb.i64(g.c));
    llvm::Value* c = b.CreateSRem(task, kb.i64(g.c));
    llvm::Value* o0 = mul(kb, b.CreateSDiv(c, kb.i64(g.cg)), g.og);
    kb.loop(kb.i64(0), kb.i64(g.h), [&](llvm::Value* iy) {
      kb.loop(kb.i64(0), kb.i64(g.w), [&](llvm::Value* ix) {
        llvm::Value* at = add(kb, mul(kb, add(kb, mul(kb, task, g.h), iy), g.w), ix);
        sum_into(kb, t, env.result, at, [&](llvm::AllocaInst* acc) {
          kb.loop(kb.i64(0), kb.i64(g.og * g.kh * g.kw), [&](llvm::Value* k) {
            llvm::Value* o = add(kb, o0, b.CreateSDiv(k, kb.i64(g.kh * g.kw)));
            llvm::Value* ky = b.CreateSRem(b.CreateSDiv(k, kb.i64(g.kw)), kb.i64(g.kh));
            llvm::Value* kx = b.CreateSRem(k, kb.i64(g.kw));
            llvm::Value* ny = add(kb, iy, add(kb, mul(kb, ky, -g.dh), kb.i64(g.pt)));
            llvm::Value* nx = add(kb, ix, add(kb, mul(kb, kx, -g.dw), kb.i64(g.pl)));
            llvm::Value* oy = b.CreateSDiv(ny, kb.i64(g.sh));
            llvm::Value* ox = b.CreateSDiv(nx, kb.i64(g.sw));
            llvm::Value* ok = b.CreateAnd(b.CreateICmpSGE(ny, kb.i64(0)), b.CreateICmpSGE(nx, kb.i64(0)));
            ok = b.CreateAnd(ok, b.CreateICmpEQ(b.CreateSRem(ny, kb.i64(g.sh)), kb.i64(0)));
            ok = b.CreateAnd(ok, b.CreateICmpEQ(b.CreateSRem(nx, kb.i64(g.sw)), kb.i64(0)));
            ok = b.CreateAnd(ok, b.CreateAnd(in_range(kb, oy, g.ho), in_range(kb, ox, g.wo)));
            llvm::Value* yat = add(kb, mul(kb, add(kb, mul(kb, add(kb, mul(kb, n, g.o), o), g.ho), oy), g.wo), ox);
            llvm::Value* wat = add(kb, mul(kb, add(kb, mul(kb, o, g.cg), b.CreateSRem(c, kb.i64(g.cg))), g.kh * g.kw),
                                   b.CreateSRem(k, kb.i64(g.kh * g.kw)));
            accumulate(kb, t, acc, ok, env.operands[0], yat, env.operands[1], wat);
          }, 1, "k");
        });
      }, 1, "ix");
    }, 1, "iy");
  }, 1, "plane");
}

// Task o: dw[o, :, :, :], each a sum over the images of the sum over (oy, ox) of dy times x.
void emit_weight_grad(KernelEnv& env, const ConvGeometry& g) {
  KernelBuilder& kb = env.kb;
  auto& b = kb.b;
  DType t = env.node.dtype();
  kb.loop(env.begin, env.end, [&](llvm::Value* o) {
    llvm::Value* c0 = mul(kb, b.CreateSDiv(o, kb.i64(g.og)), g.cg);
    kb.loop(kb.i64(0), kb.i64(g.cg * g.kh * g.kw), [&](llvm::Value* k) {
      llvm::Value* c = add(kb, c0, b.CreateSDiv(k, kb.i64(g.kh * g.kw)));
      llvm::Value* ky = b.CreateSRem(b.CreateSDiv(k, kb.i64(g.kw)), kb.i64(g.kh));
      llvm::Value* kx = b.CreateSRem(k, kb.i64(g.kw));
      sum_into(kb, t, env.result, add(kb, mul(kb, o, g.cg * g.kh * g.kw), k), [&](llvm::AllocaInst* acc) {
        kb.loop(kb.i64(0), kb.i64(g.n), [&](llvm::Value* n) {
          llvm::AllocaInst* image = kb.local(kb.value_type(t), "image");
          b.CreateStore(kb.constant(t, 0), image);
          kb.loop(kb.i64(0), kb.i64(g.ho * g.wo), [&](llvm::Value* p) {
            llvm::Value* oy = b.CreateSDiv(p, kb.i64(g.wo));
            llvm::Value* ox = b.CreateSRem(p, kb.i64(g.wo));
            llvm::Value* iy = add(kb, mul(kb, oy, g.sh), add(kb, mul(kb, ky, g.dh), kb.i64(-g.pt)));
            llvm::Value* ix = add(kb, mul(kb, ox, g.sw), add(kb, mul(kb, kx, g.dw), kb.i64(-g.pl)));
            llvm::Value* xat = add(kb, mul(kb, add(kb, mul(kb, add(kb, mul(kb, n, g.c), c), g.h), iy), g.w), ix);
            llvm::Value* yat = add(kb, mul(kb, add(kb, mul(kb, n, g.o), o), g.ho * g.wo), p);
            llvm::Value* ok = b.CreateAnd(in_range(kb, iy, g.h), in_range(kb, ix, g.w));
            // dy * x, in this order (the interpreter's)
            llvm::AllocaInst* v = kb.local(kb.value_type(t), "x");
            b.CreateStore(kb.constant(t, 0), v);
            kb.when(ok, [&] { b.CreateStore(kb.load(t, env.operands[0], xat), v); });
            llvm::Value* product = b.CreateFMul(kb.load(t, env.operands[1], yat), b.CreateLoad(v->getAllocatedType(), v));
            b.CreateStore(b.CreateFAdd(b.CreateLoad(image->getAllocatedType(), image), product), image);
          }, 1, "p");
          llvm::Value* sum = b.CreateLoad(acc->getAllocatedType(), acc);
          b.CreateStore(b.CreateFAdd(sum, b.CreateLoad(image->getAllocatedType(), image)), acc);
        }, 1, "n");
      });
    }, 1, "k");
  }, 1, "filter");
}

// The window step of max pooling: takes v over cur when cur is a number and v
// is a NaN or larger (floats), or when v is larger (integers).
llvm::Value* pool_takes(KernelBuilder& kb, DType t, llvm::Value* v, llvm::Value* cur) {
  auto& b = kb.b;
  if (!is_float(t)) return b.CreateICmpSGT(v, cur);
  return b.CreateAnd(b.CreateFCmpORD(cur, cur), b.CreateOr(b.CreateFCmpUNO(v, v), b.CreateFCmpOGT(v, cur)));
}

// Pooling without padding: every window lies inside the image (the output
// size is floor((h - kh) / sh) + 1), so its elements are read without checks,
// the window unrolled and the output row the innermost loop, which LLVM
// vectorizes (strided loads). The same selects and sums as emit_pool.
void emit_pool_inside(KernelEnv& env) {
  KernelBuilder& kb = env.kb;
  const Node& n = env.node;
  const Attrs& a = n.attrs();
  DType t = n.operand(0)->dtype();
  const int64_t h = n.operand(0)->shape()[2], w = n.operand(0)->shape()[3];
  kb.loop(env.begin, env.end, [&](llvm::Value* plane) {
    const int64_t ho = n.shape()[2], wo = n.shape()[3];
    kb.loop(kb.i64(0), kb.i64(ho), [&](llvm::Value* oy) {
      llvm::Value* row = mul(kb, add(kb, mul(kb, plane, h), mul(kb, oy, a.stride[0])), w);
      llvm::Value* out_row = mul(kb, add(kb, mul(kb, plane, ho), oy), wo);
      kb.loop(kb.i64(0), kb.i64(wo), [&](llvm::Value* ox) {
        llvm::Value* corner = add(kb, row, mul(kb, ox, a.stride[1]));
        llvm::Value *best = nullptr, *at = nullptr, *sum = nullptr;
        for (int64_t ky = 0; ky < a.window[0]; ++ky)
          for (int64_t kx = 0; kx < a.window[1]; ++kx) {
            llvm::Value* i = add(kb, corner, kb.i64(ky * w + kx));
            llvm::Value* v = kb.load(t, env.operands[0], i);
            sum = kb.add(sum ? sum : kb.constant(t, 0), v);
            llvm::Value* take = best ? pool_takes(kb, t, v, best) : nullptr;
            best = take ? kb.b.CreateSelect(take, v, best) : v;
            at = take ? kb.b.CreateSelect(take, i, at) : i;
          }
        llvm::Value* out = add(kb, out_row, ox);
        if (n.op() == Op::MaxPool2DArgmax) kb.store(DType::i64, at, env.result, out);
        else if (n.op() == Op::MaxPool2D) kb.store(t, best, env.result, out);
        else kb.store(t, kb.b.CreateFDiv(sum, kb.constant(t, double(a.window[0] * a.window[1]))), env.result, out);
      }, 1, "ox");
    }, 1, "oy");
  }, 1, "plane");
}

// The vectors of a row of outputs at once, for pool_rows: `valid` outputs
// from column ox0 of the output row, whose windows start at x[start + ox *
// sw] (ox from 0). Each window row is loaded as whole vectors (masked to the
// elements the windows read) and the element kx of every window picked out by
// one shuffle; then the same selects and sums as emit_pool_inside, in the
// same order, on vectors.
struct PoolRow {
  KernelEnv& env;
  DType t;
  int64_t lanes, w, kh, kw, sw;

  // The first `count` elements from p as vectors of `lanes`, joined.
  llvm::Value* span(llvm::Value* p, int64_t count) {
    KernelBuilder& kb = env.kb;
    auto& b = kb.b;
    llvm::Type* vec = llvm::FixedVectorType::get(kb.value_type(t), static_cast<unsigned>(lanes));
    std::vector<llvm::Value*> parts;
    for (int64_t v = 0; v * lanes < count; ++v) {
      std::vector<llvm::Constant*> bits;
      for (int64_t i = 0; i < lanes; ++i) bits.push_back(b.getInt1(v * lanes + i < count));
      parts.push_back(b.CreateMaskedLoad(vec, kb.element_ptr(t, p, kb.i64(v * lanes)),
                                         llvm::Align(dtype_size(t)), llvm::ConstantVector::get(bits),
                                         llvm::Constant::getNullValue(vec)));
    }
    while (parts.size() & (parts.size() - 1)) parts.push_back(llvm::Constant::getNullValue(vec));
    for (size_t width = lanes; parts.size() > 1; width *= 2) {  // pairwise concatenation
      std::vector<int> both(2 * width);
      for (size_t i = 0; i < both.size(); ++i) both[i] = static_cast<int>(i);
      std::vector<llvm::Value*> next;
      for (size_t i = 0; i < parts.size(); i += 2) next.push_back(b.CreateShuffleVector(parts[i], parts[i + 1], both));
      parts = std::move(next);
    }
    return parts[0];
  }

  void emit(llvm::Value* start, llvm::Value* out, int64_t valid) {
    KernelBuilder& kb = env.kb;
    auto& b = kb.b;
    const Node& n = env.node;
    const int64_t count = (valid - 1) * sw + kw;
    std::vector<llvm::Constant*> step;
    for (int64_t i = 0; i < lanes; ++i) step.push_back(b.getInt64(static_cast<uint64_t>(i < valid ? i * sw : 0)));
    llvm::Value* first = b.CreateAdd(b.CreateVectorSplat(static_cast<unsigned>(lanes), start), llvm::ConstantVector::get(step));
    llvm::Value *best = nullptr, *at = nullptr, *sum = nullptr;
    for (int64_t ky = 0; ky < kh; ++ky) {
      llvm::Value* row = span(kb.element_ptr(t, env.operands[0], b.CreateAdd(start, kb.i64(ky * w))), count);
      for (int64_t kx = 0; kx < kw; ++kx) {
        std::vector<int> pick;
        for (int64_t i = 0; i < lanes; ++i) pick.push_back(static_cast<int>(i < valid ? i * sw + kx : kx));
        llvm::Value* v = b.CreateShuffleVector(row, pick);
        llvm::Value* i = b.CreateAdd(first, b.CreateVectorSplat(static_cast<unsigned>(lanes), kb.i64(ky * w + kx)));
        sum = kb.add(sum ? sum : llvm::Constant::getNullValue(v->getType()), v);
        llvm::Value* take = best ? pool_takes(kb, t, v, best) : nullptr;
        best = take ? b.CreateSelect(take, v, best) : v;
        at = take ? b.CreateSelect(take, i, at) : i;
      }
    }
    std::vector<llvm::Constant*> bits;
    for (int64_t i = 0; i < lanes; ++i) bits.push_back(b.getInt1(i < valid));
    llvm::Value* mask = llvm::ConstantVector::get(bits);
    DType rt = n.op() == Op::MaxPool2DArgmax ? DType::i64 : t;
    llvm::Value* r = n.op() == Op::MaxPool2DArgmax ? at : n.op() == Op::MaxPool2D ? best : nullptr;
    if (!r) r = b.CreateFDiv(sum, b.CreateVectorSplat(static_cast<unsigned>(lanes), kb.constant(t, double(kh * kw))));
    b.CreateMaskedStore(r, kb.element_ptr(rt, env.result, out), llvm::Align(dtype_size(rt)), mask);
  }
};

// Pooling without padding, a vector of outputs of a row at a time (PoolRow),
// when a vector's windows span at most 4 vectors of x: whole vectors and
// shuffles instead of the strided (gather) loads LLVM makes of
// emit_pool_inside's loops (LeNet's 2x2 max-pool: 4 gathers per vector).
bool emit_pool_rows(KernelEnv& env) {
  KernelBuilder& kb = env.kb;
  const Node& n = env.node;
  const Attrs& a = n.attrs();
  DType t = n.operand(0)->dtype();
  const int64_t lanes = kb.options.vector_bits / (8 * static_cast<int64_t>(dtype_size(t)));
  const int64_t h = n.operand(0)->shape()[2], w = n.operand(0)->shape()[3], ho = n.shape()[2], wo = n.shape()[3];
  PoolRow pr{env, t, lanes, w, a.window[0], a.window[1], a.stride[1]};
  if (lanes < 2 || (lanes - 1) * pr.sw + pr.kw > 4 * lanes) return false;
  kb.loop(env.begin, env.end, [&](llvm::Value* plane) {
    kb.loop(kb.i64(0), kb.i64(ho), [&](llvm::Value* oy) {
      llvm::Value* row = mul(kb, add(kb, mul(kb, plane, h), mul(kb, oy, a.stride[0])), w);
      llvm::Value* out_row = mul(kb, add(kb, mul(kb, plane, ho), oy), wo);
      auto chunk = [&](llvm::Value* ox0, int64_t valid) { pr.emit(add(kb, row, mul(kb, ox0, pr.sw)), add(kb, out_row, ox0), valid); };
      if (wo >= lanes) kb.loop(kb.i64(0), kb.i64(wo / lanes * lanes), [&](llvm::Value* ox0) { chunk(ox0, lanes); }, lanes, "ox");
      if (wo % lanes) chunk(kb.i64(wo / lanes * lanes), wo % lanes);
    }, 1, "oy");
  }, 1, "plane");
  return true;
}

// Task: one plane of x. Over each window's elements inside the image: the
// first largest (a NaN is taken over a number, and nothing replaces a NaN)
// and its flat position, or the sum divided by their count.
void emit_pool(KernelEnv& env) {
  KernelBuilder& kb = env.kb;
  auto& b = kb.b;
  const Node& n = env.node;
  const Attrs& a = n.attrs();
  DType t = n.operand(0)->dtype();
  int64_t h = n.operand(0)->shape()[2], w = n.operand(0)->shape()[3], ho = n.shape()[2], wo = n.shape()[3];
  llvm::AllocaInst* best = kb.local(kb.value_type(t), "best");
  llvm::AllocaInst* sum = kb.local(kb.value_type(t), "sum");
  llvm::AllocaInst* at = kb.local(kb.i64_type(), "at");
  llvm::AllocaInst* count = kb.local(kb.i64_type(), "count");
  auto get = [&](llvm::AllocaInst* v) { return b.CreateLoad(v->getAllocatedType(), v); };
  kb.loop(env.begin, env.end, [&](llvm::Value* plane) {
    kb.loop(kb.i64(0), kb.i64(ho * wo), [&](llvm::Value* r) {
      llvm::Value* oy = b.CreateSDiv(r, kb.i64(wo));
      llvm::Value* ox = b.CreateSRem(r, kb.i64(wo));
      b.CreateStore(kb.constant(t, 0), best);
      b.CreateStore(kb.constant(t, 0), sum);
      b.CreateStore(kb.i64(-1), at);
      b.CreateStore(kb.i64(0), count);
      kb.loop(kb.i64(0), kb.i64(a.window[0] * a.window[1]), [&](llvm::Value* k) {
        llvm::Value* iy = add(kb, mul(kb, oy, a.stride[0]), add(kb, b.CreateSDiv(k, kb.i64(a.window[1])), kb.i64(-a.padding[0])));
        llvm::Value* ix = add(kb, mul(kb, ox, a.stride[1]), add(kb, b.CreateSRem(k, kb.i64(a.window[1])), kb.i64(-a.padding[1])));
        kb.when(b.CreateAnd(in_range(kb, iy, h), in_range(kb, ix, w)), [&] {
          llvm::Value* i = add(kb, mul(kb, add(kb, mul(kb, plane, h), iy), w), ix);
          llvm::Value* v = kb.load(t, env.operands[0], i);
          llvm::Value* cur = get(best);
          llvm::Value* take = b.CreateOr(b.CreateICmpSLT(get(at), kb.i64(0)), pool_takes(kb, t, v, cur));
          b.CreateStore(b.CreateSelect(take, v, cur), best);
          b.CreateStore(b.CreateSelect(take, i, get(at)), at);
          b.CreateStore(kb.add(get(sum), v), sum);
          b.CreateStore(add(kb, get(count), kb.i64(1)), count);
        });
      }, 1, "k");
      llvm::Value* out = add(kb, mul(kb, plane, ho * wo), r);
      if (n.op() == Op::MaxPool2DArgmax) kb.store(DType::i64, get(at), env.result, out);
      else if (n.op() == Op::MaxPool2D) kb.store(t, get(best), env.result, out);
      else kb.store(t, b.CreateFDiv(get(sum), b.CreateSIToFP(get(count), kb.value_type(t))), env.result, out);
    }, 1, "r");
  }, 1, "plane");
}

}  // namespace

KernelInfo describe_conv(const Node& n, const LowerOptions& o) {
  KernelInfo info;
  info.kind = "conv";
  const Shape& x = n.operand(0)->shape();
  switch (n.op()) {
    case Op::MaxPool2D: case Op::MaxPool2DArgmax: case Op::AvgPool2D:
      info.tasks = x[0] * x[1];
      info.work = n.type().numel() * n.attrs().window[0] * n.attrs().window[1];
      return info;
    case Op::Conv2D: case Op::Conv2DInputGrad: case Op::Conv2DWeightGrad: break;
#define NABLA_OP(Enum, name, arity, Kind, flags, attrs) NABLA_CASE_UNLESS_KIND(Kind, Conv, Enum)
#include "nabla/ir/ops.def"
      throw InternalError(std::string(op_name(n.op())) + ": not a conv op");
  }
  ConvGeometry g = conv_geometry(n);
  info.work = g.n * g.o * g.ho * g.wo * g.cg * g.kh * g.kw;
  if (describe_conv_gemm(n, o, info)) return info;
  info.tasks = n.op() == Op::Conv2D ? g.n * g.o : n.op() == Op::Conv2DInputGrad ? g.n * g.c : g.o;
  return info;
}

void emit_conv(KernelEnv& env) {
  const Node& n = env.node;
  if (n.op() == Op::MaxPool2D || n.op() == Op::MaxPool2DArgmax || n.op() == Op::AvgPool2D) {
    const std::vector<int64_t>& pad = n.attrs().padding;
    bool inside = std::all_of(pad.begin(), pad.end(), [](int64_t p) { return p == 0; });
    if (inside && emit_pool_rows(env)) return;
    return inside ? emit_pool_inside(env) : emit_pool(env);
  }
  emit_conv_loops(env);
}

void emit_conv_loops(KernelEnv& env) {
  if (emit_conv_gemm(env)) return;
  ConvGeometry g = conv_geometry(env.node);
  switch (env.node.op()) {
    case Op::Conv2D: return emit_conv2d(env, g);
    case Op::Conv2DInputGrad: return emit_input_grad(env, g);
    case Op::Conv2DWeightGrad: return emit_weight_grad(env, g);
    case Op::MaxPool2D: case Op::MaxPool2DArgmax: case Op::AvgPool2D:  // emit_conv's pools
#define NABLA_OP(Enum, name, arity, Kind, flags, attrs) NABLA_CASE_UNLESS_KIND(Kind, Conv, Enum)
#include "nabla/ir/ops.def"
      throw InternalError(std::string(op_name(env.node.op())) + ": not a convolution");
  }
}

}  // namespace nabla
