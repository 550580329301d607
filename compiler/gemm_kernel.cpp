// The register-tiled micro-kernel: an mr x ncols tile of C held in mr * nv
// vector accumulators, updated for each k by nv vector loads of a row of B and
// mr broadcasts of A's column, each broadcast feeding nv FMAs.
#include <fmt/format.h>
#include <llvm/IR/Intrinsics.h>

#include "nabla/compiler/gemm_emit.h"

namespace nabla::gemm_detail {

using namespace llvm;

namespace {
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
}  // namespace

// Kernel arguments (slots in kernel_arg): a, b, c, kc, first, last, bias, d, lda, e...
//   a: A(r, k) at a[r * rs_a + k * cs_a] (packed panel, or A in place: then
//   one of the strides is lda, an argument, so that the products of a module
//   that differ only in A's leading dimension share one kernel:
//   merge_equal_functions, compiler/codegen.h, keeps one of equal functions)
//   b: B(k, j) at b[k * rs_b + j] (packed panel, zero padded, or B in place)
//   c: C(r, j) at c[r * ldc + j]; first: the first K block (C's old value is
//   scaled by beta), last: the last one (the epilogue is applied).
Function* GemmEmitter::kernel(int64_t mr, int64_t ncols) {
  auto key = std::make_pair(mr, ncols);
  if (auto it = kernels_.find(key); it != kernels_.end()) return it->second;
  IRBuilderBase::InsertPointGuard guard(b_);
  Function* f = declare_kernel(mr, ncols);
  kernels_[key] = f;
  const Tile tile = tile_of(f, mr, ncols);
  std::vector<Value*> acc = kernel_k_loop(tile);
  kernel_store(tile, acc);
  return f;
}

// The kernel's declaration: its arguments (kernel_arg) and their attributes.
Function* GemmEmitter::declare_kernel(int64_t mr, int64_t ncols) {
  Type* p = t_.ptr;
  Type* i1 = b_.getInt1Ty();
  std::vector<Type*> params{p, p, p, t_.i64, i1, i1, p, p, t_.i64};
  const unsigned num_in = static_cast<unsigned>(spec_.epilogue.operands.size());
  const unsigned num_e = num_in + static_cast<unsigned>(spec_.epilogue.outputs);
  params.insert(params.end(), num_e, p);
  auto* type = FunctionType::get(b_.getVoidTy(), params, false);
  Function* f = new_function(fmt::format("kernel.{}x{}", mr, ncols), type);
  using namespace kernel_arg;
  for (unsigned i : {a, b, c, bias, d}) f->addParamAttr(i, Attribute::NoAlias);
  for (unsigned i : {a, b, bias, d}) f->addParamAttr(i, Attribute::ReadOnly);
  for (unsigned i = epilogue; i < epilogue + num_e; ++i) {
    f->addParamAttr(i, Attribute::NoAlias);
    if (i < epilogue + num_in) f->addParamAttr(i, Attribute::ReadOnly);
  }
  return f;
}

GemmEmitter::Tile GemmEmitter::tile_of(Function* f, int64_t mr, int64_t ncols) const {
  const int64_t W = plan_.lanes;
  const int64_t nv = ceil_div(ncols, W);
  return Tile{f, mr, nv, W, ncols - (nv - 1) * W};
}

Value* GemmEmitter::c_at(const Tile& t, int64_t r, int64_t j) {
  return t_.at(t.f->getArg(kernel_arg::c), r * plan_.ldc + j * t.lanes);
}

// The accumulators' start: zero, or for exact sums over several K blocks
// what C holds (the sum so far) unless this is the first block. Emitted at
// the end of `entry`.
std::vector<Value*> GemmEmitter::kernel_init(const Tile& t, BasicBlock* entry) {
  std::vector<Value*> init(t.mr * t.nv, t_.zero_vec());
  if (!(spec_.exact && spec_.K > plan_.kc)) return init;
  IRBuilderBase::InsertPointGuard at_entry(b_);
  b_.SetInsertPoint(entry->getTerminator());
  for (int64_t r = 0; r < t.mr; ++r)
    for (int64_t j = 0; j < t.nv; ++j) {
      Value* old = t_.load(c_at(t, r, j), t.lanes_of(j));
      init[r * t.nv + j] = b_.CreateSelect(t.f->getArg(kernel_arg::first), t_.zero_vec(), old);
    }
  return init;
}

// The offsets of the tile's rows of A from its column k (A in place, not
// transposed: r * lda, computed in `entry`; else r).
std::vector<Value*> GemmEmitter::a_row_offsets(const Tile& t, BasicBlock* entry) {
  std::vector<Value*> rows;
  const bool lda_rows = !plan_.pack_a && !spec_.trans_a;
  IRBuilderBase::InsertPointGuard at_entry(b_);
  b_.SetInsertPoint(entry->getTerminator());
  for (int64_t r = 0; r < t.mr; ++r)
    rows.push_back(lda_rows && r > 0 ? b_.CreateMul(t.f->getArg(kernel_arg::lda), t_.c64(r)) : t_.c64(lda_rows ? 0 : r));
  return rows;
}

// One step k of the loop: the accumulators after adding A's column k times
// B's row k (nv vector loads of B, mr broadcasts of A each feeding nv FMAs).
std::vector<Value*> GemmEmitter::kernel_step(const Tile& t, Value* k, const std::vector<Value*>& a_rows,
                                             const std::vector<PHINode*>& acc) {
  const int64_t W = t.lanes, nv = t.nv;
  const int64_t rs_b = plan_.pack_b ? plan_.nr : plan_.ldb;
  const unsigned b_align = plan_.pack_b ? static_cast<unsigned>(W * dtype_size(spec_.dtype)) : 1;
  Value* brow = t_.at(t.f->getArg(kernel_arg::b), b_.CreateMul(k, t_.c64(rs_b)));
  std::vector<Value*> bv;
  for (int64_t j = 0; j < nv; ++j) bv.push_back(t_.load(t_.at(brow, j * W), plan_.pack_b ? W : t.lanes_of(j), b_align));
  Value* cs_a = plan_.pack_a ? t_.c64(plan_.mr) : spec_.trans_a ? t.f->getArg(kernel_arg::lda) : t_.c64(1);
  Value* acol = t_.at(t.f->getArg(kernel_arg::a), b_.CreateMul(k, cs_a));
  std::vector<Value*> next(t.mr * nv);
  // Exact mode multiplies, then adds: on Zen 4 a vbroadcastss (and a vector
  // load) takes a slot of the pipes that add, so each multiply reads A's
  // element itself as an embedded broadcast (bench/fp_pipes_bench; the FMA
  // kernels leave those pipes idle and keep one broadcast per row).
  for (int64_t r = 0; r < t.mr; ++r) {
    Value* pa = t_.at(acol, a_rows[static_cast<size_t>(r)]);
    Value* s = spec_.exact ? nullptr : t_.broadcast_load(pa);
    for (int64_t j = 0; j < nv; ++j)
      next[r * nv + j] = spec_.exact ? b_.CreateFAdd(acc[r * nv + j], b_.CreateFMul(t_.broadcast_load(pa, true), bv[j]))
                                     : t_.fmuladd(s, bv[j], acc[r * nv + j]);
  }
  return next;
}

// for (k = 0; k < kc; ++k) acc += A(:, k) B(k, :), acc held in mr * nv
// vectors; returns their values after the loop (the builder is at its end).
std::vector<Value*> GemmEmitter::kernel_k_loop(const Tile& t) {
  Value* kc = t.f->getArg(kernel_arg::kc);
  LLVMContext& ctx = t.f->getContext();
  BasicBlock* entry = BasicBlock::Create(ctx, "entry", t.f);
  BasicBlock* body = BasicBlock::Create(ctx, "k.body", t.f);
  BasicBlock* done = BasicBlock::Create(ctx, "k.end", t.f);
  b_.SetInsertPoint(entry);
  b_.CreateCondBr(b_.CreateICmpSGT(kc, t_.c64(0)), body, done);

  b_.SetInsertPoint(body);
  PHINode* k = b_.CreatePHI(t_.i64, 2, "k");
  k->addIncoming(t_.c64(0), entry);
  const size_t n = static_cast<size_t>(t.mr * t.nv);
  std::vector<Value*> init = kernel_init(t, entry);
  std::vector<PHINode*> acc_phi;
  for (size_t i = 0; i < n; ++i) {
    acc_phi.push_back(b_.CreatePHI(t_.vec, 2, "acc"));
    acc_phi.back()->addIncoming(init[i], entry);
  }
  std::vector<Value*> acc_next = kernel_step(t, k, a_row_offsets(t, entry), acc_phi);
  Value* k_next = b_.CreateAdd(k, t_.c64(1), "k.next", true, true);
  k->addIncoming(k_next, body);
  for (size_t i = 0; i < n; ++i) acc_phi[i]->addIncoming(acc_next[i], body);
  t_.keep_rolled(b_.CreateCondBr(b_.CreateICmpSLT(k_next, kc), body, done));

  b_.SetInsertPoint(done);
  std::vector<Value*> acc;
  for (size_t i = 0; i < n; ++i) {
    PHINode* phi = b_.CreatePHI(t_.vec, 2, "sum");
    phi->addIncoming(init[i], entry);
    phi->addIncoming(acc_next[i], body);
    acc.push_back(phi);
  }
  return acc;
}

// Merges the values of two branches (then-block computes `on_true`).
std::vector<Value*> GemmEmitter::branch(Function* f, Value* cond, const std::function<std::vector<Value*>()>& on_true,
                                        const std::function<std::vector<Value*>()>& on_false) {
  LLVMContext& ctx = f->getContext();
  BasicBlock* yes = BasicBlock::Create(ctx, "yes", f);
  BasicBlock* no = BasicBlock::Create(ctx, "no", f);
  BasicBlock* join = BasicBlock::Create(ctx, "join", f);
  b_.CreateCondBr(cond, yes, no);
  b_.SetInsertPoint(yes);
  std::vector<Value*> tv = on_true();
  BasicBlock* yes_end = b_.GetInsertBlock();
  b_.CreateBr(join);
  b_.SetInsertPoint(no);
  std::vector<Value*> fv = on_false();
  BasicBlock* no_end = b_.GetInsertBlock();
  b_.CreateBr(join);
  b_.SetInsertPoint(join);
  std::vector<Value*> out;
  for (size_t i = 0; i < tv.size(); ++i) {
    PHINode* phi = b_.CreatePHI(t_.vec, 2);
    phi->addIncoming(tv[i], yes_end);
    phi->addIncoming(fv[i], no_end);
    out.push_back(phi);
  }
  return out;
}

// s * x + y, fused unless exact.
Value* GemmEmitter::mul_add(Value* s, Value* x, Value* y) {
  return spec_.exact ? b_.CreateFAdd(y, b_.CreateFMul(s, x)) : t_.fmuladd(s, x, y);
}

// The first K block: alpha * acc + beta * C.
std::vector<Value*> GemmEmitter::store_first_block(const Tile& t, const std::vector<Value*>& acc) {
  std::vector<Value*> out;
  Value* alpha = t_.splat(spec_.alpha);
  Value* beta = t_.splat(spec_.beta);
  for (int64_t r = 0; r < t.mr; ++r)
    for (int64_t j = 0; j < t.nv; ++j) {
      Value* v = acc[r * t.nv + j];
      if (spec_.alpha != 1.0) v = b_.CreateFMul(alpha, v);
      if (spec_.beta != 0.0) {
        Value* old = t_.load(c_at(t, r, j), t.lanes_of(j));
        v = spec_.beta == 1.0 ? b_.CreateFAdd(old, v) : mul_add(beta, old, v);
      }
      out.push_back(v);
    }
  return out;
}

// Partial products of later K blocks are added to what C holds.
std::vector<Value*> GemmEmitter::store_later_block(const Tile& t, const std::vector<Value*>& acc) {
  std::vector<Value*> out;
  Value* alpha = t_.splat(spec_.alpha);
  for (int64_t r = 0; r < t.mr; ++r)
    for (int64_t j = 0; j < t.nv; ++j) {
      if (spec_.exact) {  // acc went on from C's partial sum (alpha is 1)
        out.push_back(acc[r * t.nv + j]);
        continue;
      }
      Value* old = t_.load(c_at(t, r, j), t.lanes_of(j));
      out.push_back(spec_.alpha == 1.0 ? b_.CreateFAdd(old, acc[r * t.nv + j])
                                       : t_.fmuladd(alpha, acc[r * t.nv + j], old));
    }
  return out;
}

// The last K block's epilogue on the tile's values v: + bias + d_scale * D,
// relu (or D > 0 ? v : 0), then the general epilogue.
std::vector<Value*> GemmEmitter::kernel_epilogue(const Tile& t, const std::vector<Value*>& v) {
  std::vector<Value*> out;
  Value* ds = t_.splat(spec_.d_scale);
  for (int64_t r = 0; r < t.mr; ++r)
    for (int64_t j = 0; j < t.nv; ++j) {
      const int64_t lanes = t.lanes_of(j);
      Value* x = v[r * t.nv + j];
      if (spec_.bias) x = b_.CreateFAdd(x, t_.load(t_.at(t.f->getArg(kernel_arg::bias), j * t.lanes), lanes));
      Value* dv = nullptr;
      if (spec_.has_d) dv = t_.load(t_.at(t.f->getArg(kernel_arg::d), r * plan_.ldd + j * t.lanes), lanes);
      if (dv && !spec_.d_relu_mask) x = spec_.d_scale == 1.0 ? b_.CreateFAdd(x, dv) : mul_add(ds, dv, x);
      if (spec_.relu) x = t_.relu(x);
      if (dv && spec_.d_relu_mask) x = b_.CreateSelect(b_.CreateFCmpOGT(dv, t_.zero_vec()), x, t_.zero_vec());
      if (spec_.epilogue.apply) x = apply_epilogue(t.f, x, r, j, lanes);
      out.push_back(x);
    }
  return out;
}

// C = alpha * acc + (first ? beta * C : C), then on the last K block
// C += bias + d_scale * D and relu (or C = D > 0 ? C : 0).
void GemmEmitter::kernel_store(const Tile& t, const std::vector<Value*>& acc) {
  // With one K block (K <= kc) every call is the first and the last: no branches.
  const bool one_block = spec_.K <= plan_.kc;
  auto first = [&] { return store_first_block(t, acc); };
  auto later = [&] { return store_later_block(t, acc); };
  std::vector<Value*> v = one_block ? first() : branch(t.f, t.f->getArg(kernel_arg::first), first, later);
  if (spec_.bias || spec_.has_d || spec_.relu || spec_.epilogue.apply) {
    auto apply = [&] { return kernel_epilogue(t, v); };
    v = one_block ? apply() : branch(t.f, t.f->getArg(kernel_arg::last), apply, [&] { return v; });
  }
  for (int64_t r = 0; r < t.mr; ++r)
    for (int64_t j = 0; j < t.nv; ++j) t_.store(v[r * t.nv + j], c_at(t, r, j), t.lanes_of(j));
  b_.CreateRetVoid();
}

// The operands' vectors at tile element (r, j), then spec.epilogue.apply;
// stores the extra outputs (this runs on the last K block only).
Value* GemmEmitter::apply_epilogue(Function* f, Value* x, int64_t r, int64_t j, int64_t valid) {
  const int64_t W = plan_.lanes;
  std::vector<Value*> e;
  for (size_t i = 0; i < spec_.epilogue.operands.size(); ++i) {
    const GemmEpilogueOperand& op = spec_.epilogue.operands[i];
    Type* mt = memory_type(op.dtype);
    auto align = static_cast<unsigned>(dtype_size(op.dtype));
    Value* p = b_.CreateInBoundsGEP(mt, f->getArg(kernel_arg::epilogue + static_cast<unsigned>(i)),
                                    t_.c64(r * op.stride_m + j * W * op.stride_n));
    Value* v = op.stride_n == 0
                 ? b_.CreateVectorSplat(static_cast<unsigned>(W), b_.CreateAlignedLoad(mt, p, Align(align)))
                 : t_.load_of(mt, p, valid, align);
    if (op.dtype == DType::bool_) v = b_.CreateICmpNE(v, Constant::getNullValue(v->getType()));
    e.push_back(v);
  }
  std::vector<Value*> out = spec_.epilogue.apply(b_, x, e);
  const unsigned first_out = kernel_arg::epilogue + static_cast<unsigned>(spec_.epilogue.operands.size());
  for (int64_t i = 0; i < spec_.epilogue.outputs; ++i)
    t_.store(out.at(static_cast<size_t>(i + 1)),
             t_.at(f->getArg(first_out + static_cast<unsigned>(i)), r * plan_.ldc + j * W), valid);
  return out.at(0);
}

}  // namespace nabla::gemm_detail
