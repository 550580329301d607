#pragma once
// Structured loops: `scan` and `while` (semantics in docs/ops.md, text syntax
// in docs/ir.md). A loop node owns its body functions, like a fused node; a
// loop of k results is k consecutive nodes over the same operands sharing the
// body, node i being result i (Node::body_result, fused_group in ir/fused.h).
//
//   scan   operands (c_1..c_k, xs_1..xs_m, w_1..w_p), attributes length = N,
//          num_carry = k, num_xs = m, reverse, checkpoint. Body (c, x, w) -> (c', y): x_j
//          is slice i of xs_j along its leading axis (length N). Results: the
//          final carries, then each y stacked along a new leading axis of N.
//          dynamic_length = j > 0: invariant w_j (an i64 scalar n, 0 <= n <= N)
//          is the number of steps run, at run time: steps 0..n-1 (n-1..0 when
//          reverse) and stacked rows n..N-1 zero.
//   while  operands (c_1..c_k, w_1..w_p), attribute max_trip_count (-1: no
//          bound). Condition body (c, w) -> bool[] (Node::cond), step body
//          (c, w) -> c' (Node::body). Results: the carries once the condition
//          fails; more than max_trip_count steps is a run-time error.
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "nabla/ir/function.h"

namespace nabla {

inline bool is_loop(Op op) { return op == Op::Scan || op == Op::While; }

// The types of f's inputs, in order.
std::vector<TensorType> input_types(const Function& f);

// Adds inputs of these types to f (named a0, a1, ... by position) and returns them.
std::vector<Node*> add_inputs(Function& f, std::span<const TensorType> types);

// Where a loop's operands and results sit.
struct LoopLayout {
  size_t carry = 0;      // carried values (operands 0..carry-1, results 0..carry-1)
  size_t xs = 0;         // scan: sliced operands after the carries
  size_t invariant = 0;  // loop-invariant operands, last
  size_t ys = 0;         // scan: stacked results after the carries
  int64_t length = 0;    // scan: the trip count (its bound when `count` is set)
  int64_t count = -1;    // scan: the operand holding the run-time trip count (dynamic_length), or -1
};
LoopLayout loop_layout(const Node& n);

// Checks the bodies against the operand types and attributes and returns the
// result types. Throws nabla::Error naming the op and the types, e.g.
//   "scan: body result 0 is f32[4], but carried value 0 is f32[3]".
std::vector<TensorType> check_loop(Op op, std::span<const TensorType> operands, const Attrs& attrs,
                                   const Function& body, const Function* cond);

// Creates the nodes of a loop at f's insertion point (checked with check_loop;
// attributes normalized) and returns them, one per result.
std::vector<Node*> make_loop(Function& f, Op op, std::vector<Node*> operands, Attrs attrs,
                             std::shared_ptr<const Function> body,
                             std::shared_ptr<const Function> cond = nullptr);

// Runs `fn` on a copy of every loop body of f (of the bodies inside it first,
// recursively); a copy that fn changed (it returns true) replaces the body on
// the loop's nodes, as bodies are shared and immutable. Returns true when a
// body changed. Passes reach loop bodies this way (passes/pass_manager.cpp).
bool rewrite_bodies(Function& f, const std::function<bool(Function&)>& fn);

// ---- The C++ API (docs/ir.md, "Loops"). ----
// A body is built by a callback on the body function's inputs; values of the
// enclosing function reach it as invariants, never directly.
struct ScanBodyResult {
  std::vector<Value> carry;  // c', the types of c
  std::vector<Value> ys;     // y, stacked by the scan
};
using ScanBody = std::function<ScanBodyResult(std::span<const Value> c, std::span<const Value> x,
                                              std::span<const Value> w)>;
struct ScanResult {
  std::vector<Value> carry;  // the final carried values
  std::vector<Value> ys;     // the stacked per-iteration outputs, leading axis `length`
};
struct ScanOptions {
  int64_t length = -1;  // -1: the leading axis of the xs (required when there are none)
  bool reverse = false;
  // Reverse mode stores the carries of every k-th step only and recomputes
  // the others (docs/autodiff.md, "Checkpointing"): 0 stores every step's
  // carries and the values of products the backward step reads (at most 4x
  // the carries' bytes), 1 every step's carries only, kSqrtCheckpoint takes
  // k = ceil(sqrt(length)), nested_checkpoint(L) nests L levels of blocks
  // (about (L + 1) length^(1/(L+1)) carries stored, the forward steps run
  // L + 1 times).
  int64_t checkpoint = 0;
  // An i64 scalar n in [0, length]: the scan runs n steps, decided at run
  // time (appended to the invariants; the stacked rows from n on are zero).
  Value steps = {};
};
inline constexpr int64_t kSqrtCheckpoint = -1;
inline constexpr int64_t kMaxCheckpointLevels = 8;
// The checkpoint attribute of L nested levels (1 <= L <= kMaxCheckpointLevels;
// 1 is kSqrtCheckpoint).
constexpr int64_t nested_checkpoint(int64_t levels) { return -levels; }
ScanResult scan(const ScanBody& body, std::vector<Value> init, std::vector<Value> xs,
                std::vector<Value> invariants = {}, ScanOptions options = {});

using WhileCond = std::function<Value(std::span<const Value> c, std::span<const Value> w)>;
using WhileStep = std::function<std::vector<Value>(std::span<const Value> c, std::span<const Value> w)>;
// max_trip_count -1: no bound (reverse mode then checkpoints the carries in
// nested levels, for up to 2^24 steps: docs/autodiff.md).
std::vector<Value> while_loop(const WhileCond& cond, const WhileStep& step, std::vector<Value> init,
                              std::vector<Value> invariants = {}, int64_t max_trip_count = -1);

}  // namespace nabla
