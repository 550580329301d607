// The implicit im2col: the generated GEMM's packing of B (GemmSpec::pack_b_fn)
// read straight from the image, so that no col matrix is written to memory
// and read back (lower_conv_gemm.cpp). B(k, q) with k = (plane, ky, kx) and q
// = (py, px) a position of a grid gw wide is
//   src[plane][py * rs + ry0 + ky * ry1][px + rx0 + kx * rx1]
// and 0 outside the plane. A vector of `lanes` positions spans at most two
// grid rows (gw >= lanes): lanes [0, s) come from one source row and [s,
// lanes) from the next, two masked loads of the rows shifted by (ky, kx). The
// masks and offsets depend on (ky, kx) only, so they are made once per
// vector and (ky, kx) and reused for every plane.
#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>

#include "nabla/compiler/kernel_builder.h"
#include "nabla/compiler/lower.h"
#include "nabla/compiler/lower_conv.h"

namespace nabla {
namespace {

struct PackContext {
  KernelBuilder& kb;
  const WindowPack& w;
  DType t;
  int64_t nr, lanes;
  llvm::Type* vec;
  llvm::Value* lane;  // <0, 1, ..., lanes - 1>
};

// The lanes l with lo <= l < hi, as an i1 vector.
llvm::Value* lanes_between(PackContext& p, llvm::Value* lo, llvm::Value* hi) {
  auto& b = p.kb.b;
  unsigned n = static_cast<unsigned>(p.lanes);
  return b.CreateAnd(b.CreateICmpSGE(p.lane, b.CreateVectorSplat(n, lo)), b.CreateICmpSLT(p.lane, b.CreateVectorSplat(n, hi)));
}

// ceil(max(a, 0) / d) for d > 0.
llvm::Value* ceil_div_pos(KernelBuilder& kb, llvm::Value* a, int64_t d) {
  auto& b = kb.b;
  llvm::Value* pos = b.CreateSelect(b.CreateICmpSGT(a, kb.i64(0)), a, kb.i64(0));
  return b.CreateUDiv(b.CreateAdd(pos, kb.i64(d - 1)), kb.i64(d));
}

llvm::Value* smin(KernelBuilder& kb, llvm::Value* a, llvm::Value* b) { return kb.b.CreateSelect(kb.b.CreateICmpSLT(a, b), a, b); }
llvm::Value* smax(KernelBuilder& kb, llvm::Value* a, llvm::Value* b) { return kb.b.CreateSelect(kb.b.CreateICmpSGT(a, b), a, b); }

// One vector of positions [q, q + lanes) (valid below `limit` lanes) for
// kernel rows k in [pc, pc + kc), stored at dst + (k - pc) * nr.
void pack_vector(PackContext& p, llvm::Value* src, llvm::Value* dst, llvm::Value* q, llvm::Value* limit,
                 llvm::Value* pc, llvm::Value* kc) {
  KernelBuilder& kb = p.kb;
  auto& b = kb.b;
  const WindowPack& w = p.w;
  const int64_t kk = w.kh * w.kw, plane = w.src_h * w.src_w;
  llvm::Value* py = b.CreateUDiv(q, kb.i64(w.gw));
  llvm::Value* px = b.CreateURem(q, kb.i64(w.gw));
  llvm::Value* s = smin(kb, kb.i64(p.lanes), b.CreateSub(kb.i64(w.gw), px));  // lanes in row py
  llvm::Value* zero = llvm::Constant::getNullValue(p.vec);
  const llvm::Align align(dtype_size(p.t));
  for (int64_t r = 0; r < kk; ++r) {
    const int64_t ky = r / w.kw, kx = r % w.kw, x0 = w.rx0 + kx * w.rx1;
    llvm::Value* ya = b.CreateAdd(b.CreateMul(py, kb.i64(w.rs)), kb.i64(w.ry0 + ky * w.ry1));
    llvm::Value* yb = b.CreateAdd(ya, kb.i64(w.rs));
    // Row py: lane l reads column px + l + x0; row py + 1: column l - s + x0.
    llvm::Value* xa = b.CreateAdd(px, kb.i64(x0));
    llvm::Value* lo_a = smax(kb, kb.i64(0), b.CreateNeg(xa));
    llvm::Value* hi_a = smin(kb, smin(kb, s, b.CreateSub(kb.i64(w.src_w), xa)), limit);
    hi_a = b.CreateSelect(b.CreateICmpULT(ya, kb.i64(w.src_h)), hi_a, kb.i64(0));
    llvm::Value* lo_b = smax(kb, s, b.CreateSub(s, kb.i64(x0)));
    llvm::Value* hi_b = smin(kb, b.CreateAdd(s, kb.i64(w.src_w - x0)), limit);
    hi_b = b.CreateSelect(b.CreateICmpULT(yb, kb.i64(w.src_h)), hi_b, kb.i64(0));
    llvm::Value* mask_a = lanes_between(p, lo_a, hi_a);
    llvm::Value* mask_b = lanes_between(p, lo_b, hi_b);
    llvm::Value* off_a = b.CreateAdd(b.CreateMul(ya, kb.i64(w.src_w)), xa);
    llvm::Value* off_b = b.CreateSub(b.CreateAdd(b.CreateMul(yb, kb.i64(w.src_w)), kb.i64(x0)), s);
    // The planes c with pc <= c * kk + r < pc + kc.
    llvm::Value* c0 = ceil_div_pos(kb, b.CreateSub(pc, kb.i64(r)), kk);
    llvm::Value* c1 = ceil_div_pos(kb, b.CreateSub(b.CreateAdd(pc, kc), kb.i64(r)), kk);
    kb.loop(c0, c1, [&](llvm::Value* c) {
      llvm::Value* base = b.CreateMul(c, kb.i64(plane));
      llvm::Type* et = kb.memory_type(p.t);
      llvm::Value* vb = b.CreateMaskedLoad(p.vec, b.CreateGEP(et, src, b.CreateAdd(base, off_b)), align, mask_b, zero);
      llvm::Value* v = b.CreateMaskedLoad(p.vec, b.CreateGEP(et, src, b.CreateAdd(base, off_a)), align, mask_a, vb);
      llvm::Value* k = b.CreateSub(b.CreateAdd(b.CreateMul(c, kb.i64(kk)), kb.i64(r)), pc);
      b.CreateAlignedStore(v, b.CreateGEP(et, dst, b.CreateMul(k, kb.i64(p.nr))), align);
    }, 1, "plane");
  }
}

}  // namespace

llvm::Function* emit_window_pack(KernelBuilder& kb, DType t, const WindowPack& w, int64_t nr, int64_t lanes,
                                 const std::string& name) {
  auto& b = kb.b;
  llvm::Type* ptr = kb.ptr_type();
  llvm::Type* i64 = kb.i64_type();
  auto* type = llvm::FunctionType::get(b.getVoidTy(), {ptr, ptr, i64, i64, i64, i64}, false);
  auto* f = llvm::Function::Create(type, llvm::GlobalValue::InternalLinkage, name, kb.module);
  f->addFnAttr(llvm::Attribute::NoInline);
  f->addFnAttr(llvm::Attribute::NoUnwind);
  f->addFnAttr("prefer-vector-width", std::to_string(kb.options.vector_bits));
  f->addFnAttr("min-legal-vector-width", std::to_string(kb.options.vector_bits));
  f->addParamAttr(0, llvm::Attribute::NoAlias);
  f->addParamAttr(1, llvm::Attribute::NoAlias);
  llvm::IRBuilderBase::InsertPointGuard guard(b);
  b.SetInsertPoint(llvm::BasicBlock::Create(kb.ctx, "entry", f));
  llvm::Value *src = f->getArg(0), *dst = f->getArg(1), *pc = f->getArg(2), *jc = f->getArg(3);
  llvm::Value *kc = f->getArg(4), *nc = f->getArg(5);
  std::vector<llvm::Constant*> idx;
  for (int64_t l = 0; l < lanes; ++l) idx.push_back(b.getInt64(static_cast<uint64_t>(l)));
  PackContext p{kb, w, t, nr, lanes, llvm::FixedVectorType::get(kb.value_type(t), static_cast<unsigned>(lanes)),
                llvm::ConstantVector::get(idx)};
  const int64_t per_panel = nr / lanes;
  // Every vector of the whole panels, the last one's padding included.
  llvm::Value* vectors = b.CreateMul(b.CreateUDiv(b.CreateAdd(nc, kb.i64(nr - 1)), kb.i64(nr)), kb.i64(per_panel));
  kb.loop(kb.i64(0), vectors, [&](llvm::Value* v) {
    llvm::Value* offset = b.CreateMul(v, kb.i64(lanes));  // from jc
    llvm::Value* at = b.CreateAdd(b.CreateMul(b.CreateMul(b.CreateUDiv(v, kb.i64(per_panel)), kb.i64(nr)), kc),
                                  b.CreateMul(b.CreateURem(v, kb.i64(per_panel)), kb.i64(lanes)));
    pack_vector(p, src, b.CreateGEP(kb.memory_type(t), dst, at), b.CreateAdd(jc, offset), b.CreateSub(nc, offset), pc, kc);
  }, 1, "vector");
  b.CreateRetVoid();
  return f;
}

}  // namespace nabla
