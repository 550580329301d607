// Loops and vector helpers used by the GEMM emitter.
#include <llvm/IR/Intrinsics.h>

#include "nabla/compiler/gemm_emit.h"
#include "nabla/compiler/lower_relu.h"

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

Value* IrTools::load_of(Type* element, Value* p, int64_t valid, unsigned align) {
  auto* type = FixedVectorType::get(element, static_cast<unsigned>(lanes));
  if (valid >= lanes) return b.CreateAlignedLoad(type, p, Align(align));
  return b.CreateMaskedLoad(type, p, Align(align), mask(valid), Constant::getNullValue(type));
}

Value* IrTools::broadcast_load(Value* p, bool is_volatile) {
  Value* s = b.CreateLoad(elt, p, is_volatile);
  return b.CreateVectorSplat(static_cast<unsigned>(lanes), s);
}

void IrTools::prefetch(Value* p) {
  b.CreateIntrinsic(Intrinsic::prefetch, {ptr},
                    {p, b.getInt32(0), b.getInt32(3), b.getInt32(1)});
}

Value* IrTools::fmuladd(Value* a, Value* x, Value* y) {
  return b.CreateIntrinsic(Intrinsic::fmuladd, {vec}, {a, x, y});
}

// The elementwise kernels' relu (compiler/lower_relu.h), on a vector.
Value* IrTools::relu(Value* v) { return nabla::emit_relu(b, v); }

// Block-swap transpose: at distance d, rows i and i+d (bit d of i clear)
// exchange the elements whose column has bit d set in row i with those whose
// column has it clear in row i+d. After every power of two, element (i, j) has
// moved to (j, i). Each new row is one two-source shuffle.
std::vector<Value*> IrTools::transpose(std::vector<Value*> rows) {
  int n = static_cast<int>(lanes);
  if (n * elt->getPrimitiveSizeInBits() == 512 && (n == 16 || n == 8))
    return transpose_512(std::move(rows));
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

// The same for 512-bit vectors with shuffles that map one to one onto the
// instructions x86 has for them (unpcklps/unpckhps, unpcklpd/unpckhpd within
// 128-bit lanes, then vshuff32x4 across lanes): the same 64 (f32) or 24 (f64)
// shuffles, but much cheaper for instruction selection than arbitrary masks.
// Stage 1 transposes within 128-bit lanes: vec(g, c) then holds, in lane L,
// column e*L + c of the e rows of group g (e elements per lane). Stage 2
// transposes the 4 x 4 lanes of vec(0..3, c).
std::vector<Value*> IrTools::transpose_512(std::vector<Value*> r) {
  const int n = static_cast<int>(lanes), e = n / 4;
  auto shuffle = [&](Value* x, Value* y, const std::function<int(int lane, int k)>& pick) {
    std::vector<int> mask;
    for (int lane = 0; lane < 4; ++lane)
      for (int k = 0; k < e; ++k) mask.push_back(pick(lane, k));
    return b.CreateShuffleVector(x, y, mask);
  };
  // Pairs of 2^s elements from x and y interleaved within each lane, from the
  // low (half 0) or the high (half 1) part of the lane.
  auto unpack = [&](Value* x, Value* y, int width, int half) {
    return shuffle(x, y, [&](int lane, int k) {
      int block = k / width, in = k % width;
      int src = block % 2, pos = half * (e / 2) + (block / 2) * width + in;
      return (src ? n : 0) + lane * e + pos;
    });
  };
  std::vector<Value*> vec(n);  // vec[g * e + c]
  if (e == 4) {
    std::vector<Value*> t(n);
    for (int i = 0; i < n / 2; ++i) {
      t[2 * i] = unpack(r[2 * i], r[2 * i + 1], 1, 0);
      t[2 * i + 1] = unpack(r[2 * i], r[2 * i + 1], 1, 1);
    }
    for (int g = 0; g < 4; ++g) {
      vec[4 * g + 0] = unpack(t[4 * g], t[4 * g + 2], 2, 0);
      vec[4 * g + 1] = unpack(t[4 * g], t[4 * g + 2], 2, 1);
      vec[4 * g + 2] = unpack(t[4 * g + 1], t[4 * g + 3], 2, 0);
      vec[4 * g + 3] = unpack(t[4 * g + 1], t[4 * g + 3], 2, 1);
    }
  } else {
    for (int g = 0; g < 4; ++g) {
      vec[2 * g] = unpack(r[2 * g], r[2 * g + 1], 1, 0);
      vec[2 * g + 1] = unpack(r[2 * g], r[2 * g + 1], 1, 1);
    }
  }
  // Whole lanes: result lanes 0,1 from x's lanes (l0, l1), 2,3 from y's (l2, l3).
  auto lanes_of = [&](Value* x, Value* y, int l0, int l1, int l2, int l3) {
    const int pick[4] = {l0, l1, n / e + l2, n / e + l3};
    return shuffle(x, y, [&](int lane, int k) {
      int src_lane = pick[lane];
      return (src_lane >= 4 ? n + (src_lane - 4) * e : src_lane * e) + k;
    });
  };
  std::vector<Value*> out(n);
  for (int c = 0; c < e; ++c) {
    Value* v0 = lanes_of(vec[c], vec[e + c], 0, 1, 0, 1);
    Value* v1 = lanes_of(vec[c], vec[e + c], 2, 3, 2, 3);
    Value* v2 = lanes_of(vec[2 * e + c], vec[3 * e + c], 0, 1, 0, 1);
    Value* v3 = lanes_of(vec[2 * e + c], vec[3 * e + c], 2, 3, 2, 3);
    out[0 * e + c] = lanes_of(v0, v2, 0, 2, 0, 2);
    out[1 * e + c] = lanes_of(v0, v2, 1, 3, 1, 3);
    out[2 * e + c] = lanes_of(v1, v3, 0, 2, 0, 2);
    out[3 * e + c] = lanes_of(v1, v3, 1, 3, 1, 3);
  }
  return out;
}

void IrTools::loop(Value* begin, Value* end, int64_t step,
                   const std::function<void(Value*)>& body, const char* name) {
  // Constant bounds of at most one step: the body without a loop, or nothing.
  auto* cb = dyn_cast<ConstantInt>(begin);
  auto* ce = dyn_cast<ConstantInt>(end);
  if (cb && ce && ce->getSExtValue() - cb->getSExtValue() <= step) {
    if (cb->getSExtValue() < ce->getSExtValue()) body(begin);
    return;
  }
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
  keep_rolled(b.CreateCondBr(b.CreateICmpSLT(next, end), head, exit));
  b.SetInsertPoint(exit);
}

// The loops are written as they should run: unrolling them only costs
// compile time (and code size).
void IrTools::keep_rolled(BranchInst* latch) {
  LLVMContext& ctx = latch->getContext();
  MDNode* disable = MDNode::get(ctx, MDString::get(ctx, "llvm.loop.unroll.disable"));
  MDNode* loop = MDNode::getDistinct(ctx, {nullptr, disable});
  loop->replaceOperandWith(0, loop);
  latch->setMetadata(LLVMContext::MD_loop, loop);
}

void IrTools::when(Value* cond, const std::function<void()>& then) {
  if (auto* c = dyn_cast<ConstantInt>(cond)) {
    if (!c->isZero()) then();
    return;
  }
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
