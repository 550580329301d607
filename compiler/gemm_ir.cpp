// Loops and vector helpers used by the GEMM emitter.
#include <llvm/IR/Intrinsics.h>

#include "compiler/gemm_emit.h"

namespace nabla::gemm_detail {

using namespace llvm;

IrTools::IrTools(IRBuilder<>& builder, Type* element, int64_t n)
    : b(builder),
      elt(element),
      lanes(n),
      vec(FixedVectorType::get(element, static_cast<unsigned>(n))),
      i64(builder.getInt64Ty()),
      ptr(builder.getPtrTy()) {}

Value* IrTools::c64(int64_t v) const { return b.getInt64(static_cast<uint64_t>(v)); }

Value* IrTools::splat(double v) const {
  return ConstantVector::getSplat(vec->getElementCount(), ConstantFP::get(elt, v));
}

Value* IrTools::zero_vec() const { return Constant::getNullValue(vec); }

Value* IrTools::at(Value* base, Value* i) { return b.CreateInBoundsGEP(elt, base, i); }

Value* IrTools::at(Value* base, int64_t i) { return i == 0 ? base : at(base, c64(i)); }

Constant* IrTools::mask(int64_t valid) const {
  std::vector<Constant*> bits;
  for (int64_t i = 0; i < lanes; ++i) bits.push_back(b.getInt1(i < valid));
  return ConstantVector::get(bits);
}

Value* IrTools::load(Value* p, int64_t valid, unsigned align) {
  if (valid >= lanes) return b.CreateAlignedLoad(vec, p, Align(align));
  return b.CreateMaskedLoad(vec, p, Align(align), mask(valid), zero_vec());
}

void IrTools::store(Value* v, Value* p, int64_t valid, unsigned align) {
  if (valid >= lanes)
    b.CreateAlignedStore(v, p, Align(align));
  else
    b.CreateMaskedStore(v, p, Align(align), mask(valid));
}

Value* IrTools::broadcast_load(Value* p) {
  Value* s = b.CreateLoad(elt, p);
  return b.CreateVectorSplat(static_cast<unsigned>(lanes), s);
}

void IrTools::prefetch(Value* p) {
  b.CreateIntrinsic(Intrinsic::prefetch, {ptr},
                    {p, b.getInt32(0), b.getInt32(3), b.getInt32(1)});
}

Value* IrTools::fma(Value* a, Value* x, Value* y) {
  return b.CreateIntrinsic(Intrinsic::fma, {vec}, {a, x, y});
}

// relu(x) = x > 0 ? x : 0 with NaN kept: x is kept when x > 0 or unordered.
Value* IrTools::relu(Value* v) {
  Value* keep = b.CreateFCmpUGT(v, zero_vec());
  return b.CreateSelect(keep, v, zero_vec());
}

// Block-swap transpose: at distance d, rows i and i+d (bit d of i clear)
// exchange the elements whose column has bit d set in row i with those whose
// column has it clear in row i+d. After every power of two, element (i, j) has
// moved to (j, i). Each new row is one two-source shuffle.
std::vector<Value*> IrTools::transpose(std::vector<Value*> rows) {
  int n = static_cast<int>(lanes);
  for (int d = 1; d < n; d *= 2) {
    std::vector<Value*> next(rows.size());
    for (int i = 0; i < n; ++i) {
      if (i & d) continue;
      std::vector<int> lo(n), hi(n);
      for (int j = 0; j < n; ++j) {
        // Second shuffle operand indices start at n.
        lo[j] = (j & d) ? n + j - d : j;
        hi[j] = (j & d) ? n + j : j + d;
      }
      next[i] = b.CreateShuffleVector(rows[i], rows[i + d], lo);
      next[i + d] = b.CreateShuffleVector(rows[i], rows[i + d], hi);
    }
    rows = std::move(next);
  }
  return rows;
}

void IrTools::loop(Value* begin, Value* end, int64_t step,
                   const std::function<void(Value*)>& body, const char* name) {
  Function* f = b.GetInsertBlock()->getParent();
  LLVMContext& ctx = f->getContext();
  BasicBlock* pre = b.GetInsertBlock();
  BasicBlock* head = BasicBlock::Create(ctx, std::string(name) + ".body", f);
  BasicBlock* exit = BasicBlock::Create(ctx, std::string(name) + ".end", f);
  b.CreateCondBr(b.CreateICmpSLT(begin, end), head, exit);
  b.SetInsertPoint(head);
  PHINode* iv = b.CreatePHI(i64, 2, name);
  iv->addIncoming(begin, pre);
  body(iv);
  Value* next = b.CreateAdd(iv, c64(step), std::string(name) + ".next", true, true);
  iv->addIncoming(next, b.GetInsertBlock());
  b.CreateCondBr(b.CreateICmpSLT(next, end), head, exit);
  b.SetInsertPoint(exit);
}

void IrTools::when(Value* cond, const std::function<void()>& then) {
  Function* f = b.GetInsertBlock()->getParent();
  LLVMContext& ctx = f->getContext();
  BasicBlock* yes = BasicBlock::Create(ctx, "then", f);
  BasicBlock* done = BasicBlock::Create(ctx, "endif", f);
  b.CreateCondBr(cond, yes, done);
  b.SetInsertPoint(yes);
  then();
  b.CreateBr(done);
  b.SetInsertPoint(done);
}

Value* IrTools::min(Value* x, Value* y) {
  return b.CreateSelect(b.CreateICmpSLT(x, y), x, y);
}

}  // namespace nabla::gemm_detail
