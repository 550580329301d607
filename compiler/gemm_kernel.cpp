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

// Kernel arguments: a, b, c, kc, first, last, bias, d.
//   a: A(r, k) at a[r * rs_a + k * cs_a] (packed panel or A in place)
//   b: B(k, j) at b[k * rs_b + j] (packed panel, zero padded, or B in place)
//   c: C(r, j) at c[r * ldc + j]; first: the first K block (C's old value is
//   scaled by beta), last: the last one (the epilogue is applied).
Function* GemmEmitter::kernel(int64_t mr, int64_t ncols) {
  auto key = std::make_pair(mr, ncols);
  if (auto it = kernels_.find(key); it != kernels_.end()) return it->second;
  IRBuilderBase::InsertPointGuard guard(b_);
  Type* p = t_.ptr;
  Type* i1 = b_.getInt1Ty();
  std::vector<Type*> params{p, p, p, t_.i64, i1, i1, p, p};
  const unsigned num_e =
      static_cast<unsigned>(spec_.epilogue.operands.size() + static_cast<size_t>(spec_.epilogue.outputs));
  params.insert(params.end(), num_e, p);
  auto* type = FunctionType::get(b_.getVoidTy(), params, false);
  Function* f = new_function(fmt::format("kernel.{}x{}", mr, ncols), type);
  for (unsigned i : {0u, 1u, 2u, 6u, 7u}) f->addParamAttr(i, Attribute::NoAlias);
  for (unsigned i : {0u, 1u, 6u, 7u}) f->addParamAttr(i, Attribute::ReadOnly);
  for (unsigned i = 8; i < 8 + num_e; ++i) {
    f->addParamAttr(i, Attribute::NoAlias);
    if (i < 8 + spec_.epilogue.operands.size()) f->addParamAttr(i, Attribute::ReadOnly);
  }
  kernels_[key] = f;

  const int64_t W = plan_.lanes;
  const int64_t nv = ceil_div(ncols, W);
  const int64_t last_lanes = ncols - (nv - 1) * W;
  const int64_t rs_a = plan_.pack_a ? 1 : (spec_.trans_a ? 1 : plan_.lda);
  const int64_t cs_a = plan_.pack_a ? plan_.mr : (spec_.trans_a ? plan_.lda : 1);
  const int64_t rs_b = plan_.pack_b ? plan_.nr : plan_.ldb;
  const unsigned b_align = plan_.pack_b ? static_cast<unsigned>(W * dtype_size(spec_.dtype)) : 1;

  Value* a = f->getArg(0);
  Value* bp = f->getArg(1);
  Value* kc = f->getArg(3);
  LLVMContext& ctx = f->getContext();
  BasicBlock* entry = BasicBlock::Create(ctx, "entry", f);
  BasicBlock* body = BasicBlock::Create(ctx, "k.body", f);
  BasicBlock* done = BasicBlock::Create(ctx, "k.end", f);
  b_.SetInsertPoint(entry);
  b_.CreateCondBr(b_.CreateICmpSGT(kc, t_.c64(0)), body, done);

  b_.SetInsertPoint(body);
  PHINode* k = b_.CreatePHI(t_.i64, 2, "k");
  k->addIncoming(t_.c64(0), entry);
  // Exact sums over several K blocks go on from what C holds (the sum so far).
  const bool carry = spec_.exact && spec_.K > plan_.kc;
  std::vector<Value*> init(mr * nv, t_.zero_vec());
  if (carry) {
    IRBuilderBase::InsertPointGuard at_entry(b_);
    b_.SetInsertPoint(entry->getTerminator());
    for (int64_t r = 0; r < mr; ++r)
      for (int64_t j = 0; j < nv; ++j) {
        Value* old = t_.load(t_.at(f->getArg(2), r * plan_.ldc + j * W), j < nv - 1 ? W : last_lanes);
        init[r * nv + j] = b_.CreateSelect(f->getArg(4), t_.zero_vec(), old);
      }
  }
  std::vector<PHINode*> acc_phi;
  for (int64_t i = 0; i < mr * nv; ++i) {
    acc_phi.push_back(b_.CreatePHI(t_.vec, 2, "acc"));
    acc_phi.back()->addIncoming(init[i], entry);
  }
  Value* brow = t_.at(bp, b_.CreateMul(k, t_.c64(rs_b)));
  std::vector<Value*> bv;
  for (int64_t j = 0; j < nv; ++j) {
    int64_t valid = plan_.pack_b || j < nv - 1 ? W : last_lanes;
    bv.push_back(t_.load(t_.at(brow, j * W), valid, b_align));
  }
  Value* acol = t_.at(a, b_.CreateMul(k, t_.c64(cs_a)));
  std::vector<Value*> acc_next(mr * nv);
  for (int64_t r = 0; r < mr; ++r) {
    Value* s = t_.broadcast_load(t_.at(acol, r * rs_a));
    for (int64_t j = 0; j < nv; ++j)
      acc_next[r * nv + j] = spec_.exact
                                 ? b_.CreateFAdd(acc_phi[r * nv + j], b_.CreateFMul(s, bv[j]))
                                 : t_.fma(s, bv[j], acc_phi[r * nv + j]);
  }
  Value* k_next = b_.CreateAdd(k, t_.c64(1), "k.next", true, true);
  k->addIncoming(k_next, body);
  for (int64_t i = 0; i < mr * nv; ++i) acc_phi[i]->addIncoming(acc_next[i], body);
  t_.keep_rolled(b_.CreateCondBr(b_.CreateICmpSLT(k_next, kc), body, done));

  b_.SetInsertPoint(done);
  std::vector<Value*> acc;
  for (int64_t i = 0; i < mr * nv; ++i) {
    PHINode* phi = b_.CreatePHI(t_.vec, 2, "sum");
    phi->addIncoming(init[i], entry);
    phi->addIncoming(acc_next[i], body);
    acc.push_back(phi);
  }
  kernel_store(f, mr, ncols, acc);
  return f;
}

// C = alpha * acc + (first ? beta * C : C), then on the last K block
// C += bias + d_scale * D and relu (or C = D > 0 ? C : 0).
void GemmEmitter::kernel_store(Function* f, int64_t mr, int64_t ncols, std::vector<Value*>& acc) {
  const int64_t W = plan_.lanes;
  const int64_t nv = ceil_div(ncols, W);
  const int64_t last_lanes = ncols - (nv - 1) * W;
  LLVMContext& ctx = f->getContext();
  Value* c = f->getArg(2);
  auto lanes_of = [&](int64_t j) { return j < nv - 1 ? W : last_lanes; };
  auto c_at = [&](int64_t r, int64_t j) { return t_.at(c, r * plan_.ldc + j * W); };

  // Merges the values of two branches (then-block computes `on_true`).
  auto branch = [&](Value* cond, const std::function<std::vector<Value*>()>& on_true,
                    const std::function<std::vector<Value*>()>& on_false) {
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
  };

  Value* alpha = t_.splat(spec_.alpha);
  auto scaled = [&](Value* v) { return spec_.alpha == 1.0 ? v : b_.CreateFMul(alpha, v); };
  // s * x + y, fused unless exact.
  auto mul_add = [&](Value* s, Value* x, Value* y) {
    return spec_.exact ? b_.CreateFAdd(y, b_.CreateFMul(s, x)) : t_.fma(s, x, y);
  };
  // Partial products of later K blocks are added to what C holds.
  auto add_to_c = [&] {
    std::vector<Value*> out;
    for (int64_t r = 0; r < mr; ++r)
      for (int64_t j = 0; j < nv; ++j) {
        if (spec_.exact) {  // acc went on from C's partial sum (alpha is 1)
          out.push_back(acc[r * nv + j]);
          continue;
        }
        Value* old = t_.load(c_at(r, j), lanes_of(j));
        out.push_back(spec_.alpha == 1.0 ? b_.CreateFAdd(old, acc[r * nv + j])
                                         : t_.fma(alpha, acc[r * nv + j], old));
      }
    return out;
  };
  auto first_block = [&] {
    std::vector<Value*> out;
    Value* beta = t_.splat(spec_.beta);
    for (int64_t r = 0; r < mr; ++r)
      for (int64_t j = 0; j < nv; ++j) {
        Value* v = scaled(acc[r * nv + j]);
        if (spec_.beta != 0.0) {
          Value* old = t_.load(c_at(r, j), lanes_of(j));
          v = spec_.beta == 1.0 ? b_.CreateFAdd(old, v) : mul_add(beta, old, v);
        }
        out.push_back(v);
      }
    return out;
  };
  // With one K block (K <= kc) every call is the first and the last: no branches.
  const bool one_block = spec_.K <= plan_.kc;
  std::vector<Value*> v = one_block ? first_block() : branch(f->getArg(4), first_block, add_to_c);

  bool epilogue = spec_.bias || spec_.has_d || spec_.relu || spec_.epilogue.apply;
  if (epilogue) {
    auto apply = [&] {
      std::vector<Value*> out;
      Value* ds = t_.splat(spec_.d_scale);
      for (int64_t r = 0; r < mr; ++r)
        for (int64_t j = 0; j < nv; ++j) {
          Value* x = v[r * nv + j];
          if (spec_.bias) x = b_.CreateFAdd(x, t_.load(t_.at(f->getArg(6), j * W), lanes_of(j)));
          Value* dv = nullptr;
          if (spec_.has_d) dv = t_.load(t_.at(f->getArg(7), r * plan_.ldd + j * W), lanes_of(j));
          if (dv && !spec_.d_relu_mask)
            x = spec_.d_scale == 1.0 ? b_.CreateFAdd(x, dv) : mul_add(ds, dv, x);
          if (spec_.relu) x = t_.relu(x);
          if (dv && spec_.d_relu_mask)
            x = b_.CreateSelect(b_.CreateFCmpOGT(dv, t_.zero_vec()), x, t_.zero_vec());
          if (spec_.epilogue.apply) x = apply_epilogue(f, x, r, j, lanes_of(j));
          out.push_back(x);
        }
      return out;
    };
    v = one_block ? apply() : branch(f->getArg(5), apply, [&] { return v; });
  }
  for (int64_t r = 0; r < mr; ++r)
    for (int64_t j = 0; j < nv; ++j) t_.store(v[r * nv + j], c_at(r, j), lanes_of(j));
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
    Value* p = b_.CreateInBoundsGEP(mt, f->getArg(8 + static_cast<unsigned>(i)),
                                    t_.c64(r * op.stride_m + j * W * op.stride_n));
    Value* v = op.stride_n == 0
                 ? b_.CreateVectorSplat(static_cast<unsigned>(W), b_.CreateAlignedLoad(mt, p, Align(align)))
                 : t_.load_of(mt, p, valid, align);
    if (op.dtype == DType::bool_) v = b_.CreateICmpNE(v, Constant::getNullValue(v->getType()));
    e.push_back(v);
  }
  std::vector<Value*> out = spec_.epilogue.apply(b_, x, e);
  const unsigned first_out = 8 + static_cast<unsigned>(spec_.epilogue.operands.size());
  for (int64_t i = 0; i < spec_.epilogue.outputs; ++i)
    t_.store(out.at(static_cast<size_t>(i + 1)),
             t_.at(f->getArg(first_out + static_cast<unsigned>(i)), r * plan_.ldc + j * W), valid);
  return out.at(0);
}

}  // namespace nabla::gemm_detail
