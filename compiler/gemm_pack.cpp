// Packing of A and B into the contiguous panels the micro-kernel reads:
//   A: panels of mr rows, element (r, k) at panel[k * mr + r];
//   B: panels of nr columns, element (k, j) at panel[k * nr + j], zero padded.
// A stored row-major (A[m][k]) and B stored transposed (B^T[n][k]) are turned
// around in registers, lanes x lanes blocks at a time.
#include <algorithm>

#include "nabla/compiler/codegen.h"
#include "nabla/compiler/gemm_emit.h"

namespace nabla::gemm_detail {

using namespace llvm;

namespace {
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
}  // namespace

// void transpose(src, ld, rows, depth, dst, dst_stride, lanes_out):
//   dst[k * dst_stride + r] = src[r * ld + k] for k < depth <= lanes, r < lanes,
// zero for r >= rows; the first lanes_out elements of each dst row are
// written. One lanes x lanes block turned around in registers. It is shared
// by every GEMM of the module: instruction selection of its shuffles is the
// costliest part of compiling a GEMM, so it is done once.
Function* GemmEmitter::transpose_block() {
  const int64_t W = plan_.lanes;
  std::string fname = "nabla.gemm.transpose." + std::string(dtype_name(spec_.dtype)) + "x" +
                      std::to_string(W);
  if (Function* f = mod_.getFunction(fname)) return f;
  IRBuilderBase::InsertPointGuard guard(b_);
  Type* p = t_.ptr;
  Type* i64 = t_.i64;
  auto* type = FunctionType::get(b_.getVoidTy(), {p, i64, i64, i64, p, i64, i64}, false);
  Function* f = Function::Create(type, GlobalValue::InternalLinkage, fname, mod_);
  set_attributes(f);
  // About 30 us a lane squared to compile (7.7 ms for 16 x 16 on Zen 4,
  // instruction selection most of it), ten times what its instruction count
  // suggests (kWorkAttribute).
  f->addFnAttr(kWorkAttribute, std::to_string(30 * W * W));
  f->addParamAttr(0, Attribute::NoAlias);
  f->addParamAttr(4, Attribute::NoAlias);
  b_.SetInsertPoint(BasicBlock::Create(f->getContext(), "entry", f));
  Value *src = f->getArg(0), *ld = f->getArg(1), *rows = f->getArg(2), *depth = f->getArg(3);
  Value *dst = f->getArg(4), *dst_stride = f->getArg(5), *lanes_out = f->getArg(6);
  std::vector<Constant*> idx;
  for (int64_t i = 0; i < W; ++i) idx.push_back(b_.getInt64(static_cast<uint64_t>(i)));
  Value* lane = ConstantVector::get(idx);
  auto below = [&](Value* n) {
    return b_.CreateICmpULT(lane, b_.CreateVectorSplat(static_cast<unsigned>(W), n));
  };
  Value* none = Constant::getNullValue(below(depth)->getType());
  Value* load_mask = below(depth);
  std::vector<Value*> rv;
  for (int64_t i = 0; i < W; ++i) {
    Value* row = b_.CreateGEP(t_.elt, src, b_.CreateMul(t_.c64(i), ld));
    t_.prefetch(b_.CreateGEP(t_.elt, row, t_.c64(4 * W)));  // the same row, further on
    Value* m = b_.CreateSelect(b_.CreateICmpSLT(t_.c64(i), rows), load_mask, none);
    rv.push_back(b_.CreateMaskedLoad(t_.vec, row, Align(1), m, t_.zero_vec()));
  }
  std::vector<Value*> cols = t_.transpose(rv);
  Value* store_mask = below(lanes_out);
  for (int64_t k = 0; k < W; ++k) {
    Value* m = b_.CreateSelect(b_.CreateICmpSLT(t_.c64(k), depth), store_mask, none);
    b_.CreateMaskedStore(cols[k], b_.CreateGEP(t_.elt, dst, b_.CreateMul(t_.c64(k), dst_stride)),
                         Align(1), m);
  }
  b_.CreateRetVoid();
  return f;
}

// dst[k * dst_stride + r] = src[r * ld + k] for r < rows, k < kc, lanes x
// lanes blocks at a time, one group of lanes rows after the other (lanes
// streams for the prefetchers). The depth kc is a multiple of the vector width
// except in the last K block.
void GemmEmitter::pack_transposed(Value* src, int64_t ld, Value* dst, int64_t dst_stride,
                                  Value* kc, int64_t rows) {
  const int64_t W = plan_.lanes;
  const bool full_stores = dst_stride % W == 0;  // B panels: zero padded to whole vectors
  Function* tf = transpose_block();
  for (int64_t g = 0; g < ceil_div(rows, W); ++g) {
    int64_t group_rows = std::min(W, rows - g * W);
    int64_t lanes_out = full_stores ? W : group_rows;
    auto block = [&](Value* k0, Value* depth) {
      b_.CreateCall(tf, {t_.at(src, b_.CreateAdd(t_.c64(g * W * ld), k0)), t_.c64(ld),
                         t_.c64(group_rows), depth,
                         t_.at(dst, b_.CreateAdd(b_.CreateMul(k0, t_.c64(dst_stride)),
                                                 t_.c64(g * W))),
                         t_.c64(dst_stride), t_.c64(lanes_out)});
    };
    Value* kfull = b_.CreateMul(b_.CreateUDiv(kc, t_.c64(W)), t_.c64(W));
    t_.loop(t_.c64(0), kfull, W, [&](Value* k0) { block(k0, t_.c64(W)); }, "kg");
    if (spec_.K % W != 0)
      t_.when(b_.CreateICmpNE(kfull, kc), [&] { block(kfull, b_.CreateSub(kc, kfull)); });
  }
}

void GemmEmitter::pack_a_panel(Value* src, Value* dst, Value* kc, int64_t rows) {
  const int64_t W = plan_.lanes;
  if (!spec_.trans_a) return pack_transposed(src, plan_.lda, dst, plan_.mr, kc, rows);
  // A^T[k][m]: the mr values of a column k are contiguous already.
  t_.loop(t_.c64(0), kc, 1, [&](Value* k) {
    Value* from = t_.at(src, b_.CreateMul(k, t_.c64(plan_.lda)));
    Value* to = t_.at(dst, b_.CreateMul(k, t_.c64(plan_.mr)));
    for (int64_t g = 0; g * W < rows; ++g) {
      int64_t valid = std::min(W, rows - g * W);
      t_.store(t_.load(t_.at(from, g * W), valid), t_.at(to, g * W), valid);
    }
  }, "k");
}

void GemmEmitter::pack_b_panel(Value* src, Value* dst, Value* kc, int64_t cols) {
  const int64_t W = plan_.lanes;
  if (spec_.trans_b) return pack_transposed(src, plan_.ldb, dst, plan_.nr, kc, cols);
  unsigned align = static_cast<unsigned>(W * dtype_size(spec_.dtype));
  t_.loop(t_.c64(0), kc, 1, [&](Value* k) {
    Value* from = t_.at(src, b_.CreateMul(k, t_.c64(plan_.ldb)));
    Value* to = t_.at(dst, b_.CreateMul(k, t_.c64(plan_.nr)));
    for (int64_t v = 0; v < ceil_div(cols, W); ++v) {
      int64_t valid = std::min(W, cols - v * W);
      t_.store(t_.load(t_.at(from, v * W), valid), t_.at(to, v * W), W, align);
    }
  }, "k");
}

// void pack_a(src = &A(ic, pc), dst, kc, mc): mc / mr whole panels, then the
// edge panel of M % mr rows when this block holds it.
Function* GemmEmitter::pack_a() {
  if (pack_a_fn_) return pack_a_fn_;
  IRBuilderBase::InsertPointGuard guard(b_);
  Type* p = t_.ptr;
  auto* type = FunctionType::get(b_.getVoidTy(), {p, p, t_.i64, t_.i64}, false);
  Function* f = pack_a_fn_ = new_function("pack_a", type);
  f->addParamAttr(0, Attribute::NoAlias);
  f->addParamAttr(1, Attribute::NoAlias);
  b_.SetInsertPoint(BasicBlock::Create(f->getContext(), "entry", f));
  Value *src = f->getArg(0), *dst = f->getArg(1), *kc = f->getArg(2), *mc = f->getArg(3);
  const int64_t mr = plan_.mr, row_step = spec_.trans_a ? 1 : plan_.lda;
  Value* full = b_.CreateUDiv(mc, t_.c64(mr));
  auto panel = [&](Value* i, int64_t rows) {
    Value* from = t_.at(src, b_.CreateMul(i, t_.c64(mr * row_step)));
    Value* to = t_.at(dst, b_.CreateMul(b_.CreateMul(i, t_.c64(mr)), kc));
    pack_a_panel(from, to, kc, rows);
  };
  t_.loop(t_.c64(0), full, 1, [&](Value* i) { panel(i, mr); }, "panel");
  if (int64_t edge = spec_.M % mr)
    t_.when(b_.CreateICmpNE(b_.CreateURem(mc, t_.c64(mr)), t_.c64(0)), [&] { panel(full, edge); });
  b_.CreateRetVoid();
  return f;
}

// void pack_b(src = &B(pc, jc), dst, kc, nc), like pack_a over column panels.
Function* GemmEmitter::pack_b() {
  if (pack_b_fn_) return pack_b_fn_;
  IRBuilderBase::InsertPointGuard guard(b_);
  Type* p = t_.ptr;
  auto* type = FunctionType::get(b_.getVoidTy(), {p, p, t_.i64, t_.i64}, false);
  Function* f = pack_b_fn_ = new_function("pack_b", type);
  f->addParamAttr(0, Attribute::NoAlias);
  f->addParamAttr(1, Attribute::NoAlias);
  b_.SetInsertPoint(BasicBlock::Create(f->getContext(), "entry", f));
  Value *src = f->getArg(0), *dst = f->getArg(1), *kc = f->getArg(2), *nc = f->getArg(3);
  const int64_t nr = plan_.nr, col_step = spec_.trans_b ? plan_.ldb : 1;
  Value* full = b_.CreateUDiv(nc, t_.c64(nr));
  auto panel = [&](Value* i, int64_t cols) {
    Value* from = t_.at(src, b_.CreateMul(i, t_.c64(nr * col_step)));
    Value* to = t_.at(dst, b_.CreateMul(b_.CreateMul(i, t_.c64(nr)), kc));
    pack_b_panel(from, to, kc, cols);
  };
  t_.loop(t_.c64(0), full, 1, [&](Value* i) { panel(i, nr); }, "panel");
  if (int64_t edge = spec_.N % nr)
    t_.when(b_.CreateICmpNE(b_.CreateURem(nc, t_.c64(nr)), t_.c64(0)), [&] { panel(full, edge); });
  b_.CreateRetVoid();
  return f;
}

}  // namespace nabla::gemm_detail
