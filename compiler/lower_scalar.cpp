#include "nabla/compiler/lower_scalar.h"

#include <cmath>
#include <optional>

#include <llvm/IR/Intrinsics.h>

#include "nabla/compiler/kernel_builder.h"
#include "nabla/compiler/lower_relu.h"
#include "nabla/runtime/error.h"

namespace nabla {

using llvm::Intrinsic::ID;

namespace {

[[noreturn]] void unsupported(Op op, DType t) {
  throw Error(std::string(op_name(op)) + ": no " + std::string(dtype_name(t)) + " lowering");
}

// sign(x) of a float: -1, +0 or 1, and NaN for NaN.
llvm::Value* float_sign(llvm::IRBuilderBase& b, llvm::Value* x) {
  llvm::Type* type = x->getType();
  llvm::Value* zero = llvm::ConstantFP::get(type, 0.0);
  llvm::Value* s = b.CreateSelect(b.CreateFCmpOLT(x, zero), llvm::ConstantFP::get(type, -1.0), zero);
  s = b.CreateSelect(b.CreateFCmpOGT(x, zero), llvm::ConstantFP::get(type, 1.0), s);
  return b.CreateSelect(b.CreateFCmpUNO(x, x), x, s);
}

llvm::Value* int_sign(llvm::IRBuilderBase& b, llvm::Value* x) {
  llvm::Value* zero = llvm::ConstantInt::get(x->getType(), 0);
  llvm::Value* pos = b.CreateZExt(b.CreateICmpSGT(x, zero), x->getType());
  llvm::Value* neg = b.CreateZExt(b.CreateICmpSLT(x, zero), x->getType());
  return b.CreateSub(pos, neg);
}

// x >= 0 ? 1 / (1 + e^-x) : e^x / (1 + e^x), with one exp: e = e^-|x|.
llvm::Value* sigmoid(KernelBuilder& kb, llvm::Value* x) {
  auto& b = kb.b;
  llvm::Value* zero = llvm::ConstantFP::get(x->getType(), 0.0);
  llvm::Value* one = llvm::ConstantFP::get(x->getType(), 1.0);
  llvm::Value* positive = b.CreateFCmpOGE(x, zero);
  llvm::Value* e = kb.math("exp", {b.CreateSelect(positive, b.CreateFNeg(x), x)});
  llvm::Value* denom = b.CreateFAdd(one, e);
  return b.CreateSelect(positive, b.CreateFDiv(one, denom), b.CreateFDiv(e, denom));
}

// IEEE comparisons: false with a NaN, except not_equal; integers signed (bool
// only reaches equal / not_equal). One case per comparison of ops.def and no
// `default:` (ir/op.h).
llvm::Value* emit_compare(KernelBuilder& kb, Op op, DType t, llvm::Value* x, llvm::Value* y) {
  auto& b = kb.b;
  bool fp = is_float(t);
  switch (op) {
    case Op::Less: return fp ? b.CreateFCmpOLT(x, y) : b.CreateICmpSLT(x, y);
    case Op::LessEqual: return fp ? b.CreateFCmpOLE(x, y) : b.CreateICmpSLE(x, y);
    case Op::Greater: return fp ? b.CreateFCmpOGT(x, y) : b.CreateICmpSGT(x, y);
    case Op::GreaterEqual: return fp ? b.CreateFCmpOGE(x, y) : b.CreateICmpSGE(x, y);
    case Op::Equal: return fp ? b.CreateFCmpOEQ(x, y) : b.CreateICmpEQ(x, y);
    case Op::NotEqual: return fp ? b.CreateFCmpUNE(x, y) : b.CreateICmpNE(x, y);
#define NABLA_OP(Enum, name, arity, Kind, flags, attrs) NABLA_CASE_UNLESS_KIND(Kind, Compare, Enum)
#include "nabla/ir/ops.def"
      break;
  }
  unsupported(op, t);
}

}  // namespace

// relu(x) = x > 0 or NaN: x (a signaling NaN comes out quieted; NaN payloads
// are not promised, docs/ir.md); else +0. Written (x < 0 ? 0 : x) + 0, which x86
// computes as max(0, x) + 0 on the adder pipes (a NaN x is max's second
// operand, so it passes; -0 + 0 = +0) instead of a compare into a mask
// register and a masked move: on Zen 4 compares share the multiplier pipes,
// which a function and its derivative keep busy (docs/performance.md). With
// fast-math (no signed zeros) LLVM drops the + 0 and relu(-0) may be -0.
llvm::Value* emit_relu(llvm::IRBuilderBase& b, llvm::Value* x) {
  llvm::Value* zero = llvm::ConstantFP::get(x->getType(), 0.0);
  return b.CreateFAdd(b.CreateSelect(b.CreateFCmpOLT(x, zero), zero, x), zero);
}

// One case per unary op of ops.def and no `default:` (ir/op.h). Integers wrap:
// -INT_MIN and abs(INT_MIN) are INT_MIN.
llvm::Value* emit_unary(KernelBuilder& kb, Op op, DType t, llvm::Value* x) {
  auto& b = kb.b;
  bool fp = is_float(t);
  if (!fp && (has_flag(op, kFloatOnly) || (!is_int(t) && !has_flag(op, kAnyDType)))) unsupported(op, t);
  switch (op) {
    case Op::StopGradient:
    case Op::Barrier: return x;
    // IEEE negate and absolute value: the sign bit flipped or cleared.
    case Op::Neg: return fp ? b.CreateFNeg(x) : b.CreateNeg(x);
    case Op::Abs: return fp ? kb.intrinsic(llvm::Intrinsic::fabs, {x})
                            : b.CreateBinaryIntrinsic(llvm::Intrinsic::abs, x, b.getFalse());
    case Op::Sign: return fp ? float_sign(b, x) : int_sign(b, x);
    case Op::Exp: return kb.math("exp", {x});
    case Op::Log: return kb.math("log", {x});
    case Op::Log1p: return kb.math("log1p", {x});
    case Op::Sqrt: return kb.intrinsic(llvm::Intrinsic::sqrt, {x});
    case Op::Rsqrt:
      return b.CreateFDiv(llvm::ConstantFP::get(x->getType(), 1.0), kb.intrinsic(llvm::Intrinsic::sqrt, {x}));
    case Op::Tanh: return kb.math("tanh", {x});
    case Op::Sigmoid: return sigmoid(kb, x);
    case Op::Relu: return emit_relu(b, x);
    case Op::Sin: return kb.math("sin", {x});
    case Op::Cos: return kb.math("cos", {x});
    case Op::Floor: return kb.intrinsic(llvm::Intrinsic::floor, {x});
    case Op::Erf: return kb.math("erf", {x});
#define NABLA_OP(Enum, name, arity, Kind, flags, attrs) NABLA_CASE_UNLESS_KIND(Kind, Unary, Enum)
#include "nabla/ir/ops.def"
      break;
  }
  unsupported(op, t);
}

// The binary ops and (through emit_compare) the comparisons. One case per
// binary op of ops.def and no `default:` (ir/op.h). Integers wrap (no nsw/nuw).
llvm::Value* emit_binary(KernelBuilder& kb, Op op, DType t, llvm::Value* x, llvm::Value* y) {
  if (op_kind(op) == OpKind::Compare) return emit_compare(kb, op, t, x, y);
  auto& b = kb.b;
  bool fp = is_float(t);
  if (!fp && has_flag(op, kFloatOnly)) unsupported(op, t);
  switch (op) {
    case Op::Add: return fp ? b.CreateFAdd(x, y) : b.CreateAdd(x, y);
    case Op::Sub: return fp ? b.CreateFSub(x, y) : b.CreateSub(x, y);
    case Op::Mul: return fp ? b.CreateFMul(x, y) : b.CreateMul(x, y);
    case Op::Div: return b.CreateFDiv(x, y);
    case Op::Pow: return kb.math("pow", {x, y});
    case Op::Maximum: return fp ? kb.intrinsic(llvm::Intrinsic::maximum, {x, y})
                                : b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, x, y);
    case Op::Minimum: return fp ? kb.intrinsic(llvm::Intrinsic::minimum, {x, y})
                                : b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, x, y);
#define NABLA_OP(Enum, name, arity, Kind, flags, attrs) NABLA_CASE_UNLESS_KIND(Kind, Binary, Enum)
#include "nabla/ir/ops.def"
      break;
  }
  unsupported(op, t);
}

llvm::Value* emit_cast(KernelBuilder& kb, DType from, DType to, llvm::Value* x) {
  auto& b = kb.b;
  llvm::Type* type = kb.value_type(to);
  if (auto* vt = llvm::dyn_cast<llvm::VectorType>(x->getType()))  // GEMM epilogues cast vectors
    type = llvm::VectorType::get(type, vt->getElementCount());
  if (from == to) return x;
  if (to == DType::bool_)  // v != 0 (NaN is true)
    return is_float(from) ? b.CreateFCmpUNE(x, llvm::ConstantFP::get(x->getType(), 0.0))
                          : b.CreateICmpNE(x, llvm::ConstantInt::get(x->getType(), 0));
  if (from == DType::bool_) return is_float(to) ? b.CreateUIToFP(x, type) : b.CreateZExt(x, type);
  if (is_float(from) && is_float(to)) return b.CreateFPCast(x, type);
  if (is_int(from) && is_float(to)) return b.CreateSIToFP(x, type);
  // Toward zero, saturating, NaN -> 0: exactly llvm.fptosi.sat.
  if (is_float(from)) return b.CreateIntrinsic(llvm::Intrinsic::fptosi_sat, {type, x->getType()}, {x});
  return b.CreateSExtOrTrunc(x, type);  // two's complement: i64 -> i32 keeps the low bits
}

namespace {

// The value of a one-element constant, or nothing for any other node.
std::optional<double> scalar_constant(const Node* c) {
  if (c->op() != Op::Constant || c->type().numel() != 1) return std::nullopt;
  return c->attrs().value.get(0);
}

// The value of a one-element float constant that is neither NaN nor zero.
std::optional<double> plain_scalar_constant(const Node* c) {
  std::optional<double> v = scalar_constant(c);
  if (!v || !is_float(c->dtype()) || std::isnan(*v) || *v == 0) return std::nullopt;
  return v;
}

// minimum/maximum of x and a constant c that is neither NaN nor zero: no tie
// of +0 with -0 and no NaN in c, so one compare and select is the whole IEEE
// rule (x NaN: the compare fails and x passes through). LLVM lowers its
// minimum/maximum intrinsics with NaN and signed-zero fix-ups; and this
// compare is the one the derivative's select makes (build-grad's
// less(c, x) for minimum), so the two are one instruction.
llvm::Value* min_max_with_constant(KernelBuilder& kb, const Node& n, std::span<llvm::Value* const> args) {
  if (n.op() != Op::Minimum && n.op() != Op::Maximum) return nullptr;
  int k = plain_scalar_constant(n.operand(1)) ? 1 : plain_scalar_constant(n.operand(0)) ? 0 : -1;
  if (k < 0) return nullptr;
  llvm::Value* c = args[static_cast<size_t>(k)];
  llvm::Value* x = args[static_cast<size_t>(1 - k)];
  // min: x > c ? c : x; max: x < c ? c : x
  llvm::Value* c_wins = n.op() == Op::Minimum ? kb.b.CreateFCmpOGT(x, c) : kb.b.CreateFCmpOLT(x, c);
  return kb.b.CreateSelect(c_wins, c, x);
}

// A one-element constant zero (+0 or -0). The derivative rules of minimum,
// maximum and select zero the gradient where the other operand won:
// select(c, 0, g). Written select(!c, g, 0) instead, LLVM folds the zeroing
// into the AVX-512 op that computes g or uses it (a zero-masked multiply,
// add or compare) and merges nested zeroing selects into one mask (kand);
// the first form costs a masked move each. On the elementwise bench the
// fused function-and-gradient loop went from 77 to 65 cycles per 16 floats.
bool is_scalar_zero(const Node* c) {
  std::optional<double> v = scalar_constant(c);
  return v && *v == 0;
}

// abs's derivative select(x > 0, g, select(x < 0, -g, 0)) (passes/bprop.cpp)
// as g with x's sign bit xored in where x is neither zero nor NaN, else 0:
// the same bits with one compare instead of two (compares are what the
// function-and-gradient loops of the elementwise bench run out of). x is
// read off the emitted compare x > 0.
llvm::Value* abs_derivative_as_sign_xor(KernelBuilder& kb, const Node& n, std::span<llvm::Value* const> args) {
  if (n.op() != Op::Select || !is_float(n.dtype())) return nullptr;
  const Node* gt = n.operand(0);
  const Node* inner = n.operand(2);
  if (gt->op() != Op::Greater || !is_scalar_zero(gt->operand(1)) || inner->op() != Op::Select) return nullptr;
  const Node* lt = inner->operand(0);
  const Node* neg = inner->operand(1);
  if (lt->op() != Op::Less || lt->operand(0) != gt->operand(0) || !is_scalar_zero(lt->operand(1)) ||
      neg->op() != Op::Neg || neg->operand(0) != n.operand(1) || !is_scalar_zero(inner->operand(2)) ||
      std::signbit(*scalar_constant(inner->operand(2))))  // the result's zero must be +0
    return nullptr;
  // The compare emitted for x > 0 in this program (not a bool read from memory).
  auto* cmp = llvm::dyn_cast<llvm::FCmpInst>(args[0]);
  if (!cmp || cmp->getPredicate() != llvm::FCmpInst::FCMP_OGT || cmp->getOperand(0)->getType() != args[1]->getType())
    return nullptr;
  auto& b = kb.b;
  llvm::Value* x = cmp->getOperand(0);
  llvm::Value* g = args[1];
  llvm::Type* f = g->getType();
  llvm::Type* i = b.getIntNTy(f->getScalarSizeInBits());
  if (auto* v = llvm::dyn_cast<llvm::VectorType>(f)) i = llvm::VectorType::get(i, v->getElementCount());
  llvm::Value* sign = b.CreateAnd(b.CreateBitCast(x, i), llvm::ConstantInt::get(i, llvm::APInt::getSignMask(f->getScalarSizeInBits())));
  llvm::Value* flipped = b.CreateBitCast(b.CreateXor(b.CreateBitCast(g, i), sign), f);
  return b.CreateSelect(b.CreateFCmpONE(x, llvm::Constant::getNullValue(f)), flipped, llvm::Constant::getNullValue(f));
}

}  // namespace

llvm::Value* emit_element(KernelBuilder& kb, const Node& n, std::span<llvm::Value* const> args) {
  if (llvm::Value* v = min_max_with_constant(kb, n, args)) return v;
  if (llvm::Value* v = abs_derivative_as_sign_xor(kb, n, args)) return v;
  switch (op_kind(n.op())) {
    case OpKind::Unary: return emit_unary(kb, n.op(), n.dtype(), args[0]);
    case OpKind::Binary:
    case OpKind::Compare: return emit_binary(kb, n.op(), n.operand(0)->dtype(), args[0], args[1]);
    case OpKind::Select:
      // select(c, 0, x) as select(!c, x, 0): see is_scalar_zero.
      if (is_scalar_zero(n.operand(1)) && !is_scalar_zero(n.operand(2)))
        return kb.b.CreateSelect(kb.b.CreateNot(args[0]), args[2], args[1]);
      return kb.b.CreateSelect(args[0], args[1], args[2]);
    case OpKind::Convert: return emit_cast(kb, n.operand(0)->dtype(), n.dtype(), args[0]);
    default: break;
  }
  if (n.op() == Op::BroadcastTo) return args[0];  // indexing does the broadcast
  throw Error(std::string(op_name(n.op())) + ": not an elementwise op");
}

}  // namespace nabla
