#pragma once
// Op kinds and their static traits, all generated from ir/ops.def.
#include <cstdint>
#include <optional>
#include <string_view>

#include "nabla/ir/attrs.h"

namespace nabla {

enum class Op : uint8_t {
#define NABLA_OP(Enum, name, arity, Kind, flags, attrs) Enum,
#include "nabla/ir/ops.def"
};

// Broad families of ops; see ir/ops.def.
enum class OpKind : uint8_t {
  Leaf, Unary, Binary, Compare, Select, Reduce, Layout, Contract, Neural, Convert, Deriv, Region,
  Axis, Collective, Conv, Loop
};

// Case labels for every op whose kind is not `Wanted`, generated from ops.def.
// A switch over the ops of one kind lists its own ops and then these, with no
// `default:`, so -Wswitch names an op of that kind the switch forgot:
//   switch (op) {
//     case Op::Less: ...
//     ...
//   #define NABLA_OP(Enum, name, arity, Kind, flags, attrs) NABLA_CASE_UNLESS_KIND(Kind, Compare, Enum)
//   #include "nabla/ir/ops.def"
//       break;
//   }
// (NABLA_SAME_KIND_K_K expands to a first argument for NABLA_SECOND_, so the
// labels of Wanted's own ops vanish; a kind missing below gives duplicate case
// labels, not a silent gap.)
#define NABLA_SECOND_(a, b, ...) b
#define NABLA_SECOND(...) NABLA_SECOND_(__VA_ARGS__)
#define NABLA_CASE_UNLESS_KIND(Kind, Wanted, Enum) NABLA_SECOND(NABLA_SAME_KIND_##Kind##_##Wanted, case Op::Enum:, )
#define NABLA_SAME_KIND_Leaf_Leaf ~,
#define NABLA_SAME_KIND_Unary_Unary ~,
#define NABLA_SAME_KIND_Binary_Binary ~,
#define NABLA_SAME_KIND_Compare_Compare ~,
#define NABLA_SAME_KIND_Select_Select ~,
#define NABLA_SAME_KIND_Reduce_Reduce ~,
#define NABLA_SAME_KIND_Layout_Layout ~,
#define NABLA_SAME_KIND_Contract_Contract ~,
#define NABLA_SAME_KIND_Neural_Neural ~,
#define NABLA_SAME_KIND_Convert_Convert ~,
#define NABLA_SAME_KIND_Deriv_Deriv ~,
#define NABLA_SAME_KIND_Region_Region ~,
#define NABLA_SAME_KIND_Axis_Axis ~,
#define NABLA_SAME_KIND_Collective_Collective ~,
#define NABLA_SAME_KIND_Conv_Conv ~,
#define NABLA_SAME_KIND_Loop_Loop ~,

// Op flags: the traits that ops.def states per op.
inline constexpr uint32_t kFloatOnly = 1u << 0;    // operands must be f32/f64
inline constexpr uint32_t kCommutative = 1u << 1;  // op(a, b) == op(b, a)
inline constexpr uint32_t kAnyDType = 1u << 2;     // bool operands accepted too
// Its compiled code calls libm (exp, log, tanh, ...): the backend keeps loops
// holding it scalar, so that results equal the interpreter's, and the fusion
// passes group such ops accordingly.
inline constexpr uint32_t kLibm = 1u << 3;
// Costs more than a few cycles per element (a libm call, a division, a square
// root): fusion stores it rather than compute it twice.
inline constexpr uint32_t kCostly = 1u << 4;
// Produces no code: the result is the operand's storage (reshape, and the
// identities stop_gradient and barrier).
inline constexpr uint32_t kAlias = 1u << 5;
// No element of the result is ever -0 (for the simplifier's x + 0 -> x).
inline constexpr uint32_t kNoNegZero = 1u << 6;
// Checks integer operands (labels, indices) at run time and may fail with a
// status (runtime/abi.h): its kernel runs even when its result is empty.
inline constexpr uint32_t kMayFail = 1u << 7;
// Talks to the other processes (all_reduce): its value depends on every
// rank's operand, so it is never evaluated at compile time (folding), and
// every rank must run it in the same order (docs/distributed.md).
inline constexpr uint32_t kCollective = 1u << 8;

inline constexpr int kNumOps = 0
#define NABLA_OP(Enum, name, arity, Kind, flags, attrs) +1
#include "nabla/ir/ops.def"
    ;

std::string_view op_name(Op op);
// Number of operands; -1 for variadic (concat).
int op_arity(Op op);
OpKind op_kind(Op op);
uint32_t op_flags(Op op);
// The attributes the op takes, as a mask of attr:: bits.
uint32_t op_attr_mask(Op op);
std::optional<Op> op_from_name(std::string_view name);

inline bool has_flag(Op op, uint32_t flag) { return (op_flags(op) & flag) != 0; }
inline bool is_commutative(Op op) { return has_flag(op, kCommutative); }
inline bool calls_libm(Op op) { return has_flag(op, kLibm); }
inline bool is_costly(Op op) { return has_flag(op, kCostly); }
inline bool is_alias_op(Op op) { return has_flag(op, kAlias); }
inline bool is_collective(Op op) { return has_flag(op, kCollective); }

// Element i of the result depends only on element i of each (broadcast)
// operand: the unary, binary, comparison, select and cast ops.
inline bool is_elementwise(Op op) {
  OpKind k = op_kind(op);
  return k == OpKind::Unary || k == OpKind::Binary || k == OpKind::Compare ||
         k == OpKind::Select || k == OpKind::Convert;
}

// What one loop nest computes element by element: the elementwise ops and
// broadcast_to (which is only indexing). Fused bodies, GEMM epilogues and the
// elementwise kernels hold these.
inline bool is_loop_op(Op op) { return is_elementwise(op) || op == Op::BroadcastTo; }

}  // namespace nabla
