#pragma once
// Op kinds and their static traits, all generated from ir/ops.def.
#include <cstdint>
#include <optional>
#include <string_view>

#include "ir/attrs.h"

namespace nabla {

enum class Op : uint8_t {
#define NABLA_OP(Enum, name, arity, Kind, flags, attrs) Enum,
#include "ir/ops.def"
};

// Broad families of ops; see ir/ops.def.
enum class OpKind : uint8_t {
  Leaf, Unary, Binary, Compare, Select, Reduce, Layout, Contract, Neural, Convert, Deriv, Region
};

// Op flags.
inline constexpr uint32_t kFloatOnly = 1u << 0;    // operands must be f32/f64
inline constexpr uint32_t kCommutative = 1u << 1;  // op(a, b) == op(b, a)
inline constexpr uint32_t kAnyDType = 1u << 2;     // bool operands accepted too

inline constexpr int kNumOps = 0
#define NABLA_OP(Enum, name, arity, Kind, flags, attrs) +1
#include "ir/ops.def"
    ;

std::string_view op_name(Op op);
// Number of operands; -1 for variadic (concat).
int op_arity(Op op);
OpKind op_kind(Op op);
uint32_t op_flags(Op op);
// The attributes the op takes, as a mask of attr:: bits.
uint32_t op_attr_mask(Op op);
std::optional<Op> op_from_name(std::string_view name);

inline bool is_elementwise(Op op) {
  OpKind k = op_kind(op);
  return k == OpKind::Unary || k == OpKind::Binary || k == OpKind::Compare ||
         k == OpKind::Select || op == Op::Cast;
}
inline bool is_commutative(Op op) { return (op_flags(op) & kCommutative) != 0; }

// Ops whose compiled code calls libm (exp, log, tanh, ...): the backend keeps
// loops holding them scalar, so that results equal the interpreter's, and
// the fusion passes group them accordingly.
inline bool calls_libm(Op op) {
  switch (op) {
    case Op::Exp: case Op::Log: case Op::Log1p: case Op::Tanh: case Op::Sin: case Op::Cos:
    case Op::Pow: case Op::Sigmoid:
      return true;
    default:
      return false;
  }
}

}  // namespace nabla
