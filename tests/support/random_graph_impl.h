#pragma once
// Private to the random graph generator (random_graph*.cpp).
#include <functional>
#include <random>

#include "nabla/ir/builder.h"
#include "tests/support/random_graph.h"

namespace nabla::test {

class Generator {
 public:
  Generator(uint64_t seed, const RandomGraphOptions& options, Function& f);
  void build();

  // random_graph.cpp: randomness, shapes and the pool of values.
  int64_t uniform(int64_t lo, int64_t hi);  // inclusive
  bool chance(double p);
  template <class T> const T& pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(uniform(0, static_cast<int64_t>(v.size()) - 1))];
  }
  Shape random_shape(int min_rank = 0);
  // A shape that broadcasts with s (same, dims set to 1, a suffix, a scalar).
  Shape partner_shape(const Shape& s);
  // A shape s broadcasts to (1-dims widened, maybe a leading axis added).
  Shape widened_shape(const Shape& s);
  // A shape with the same element count.
  Shape reshaped(const Shape& s);
  std::vector<int64_t> random_perm(int64_t rank);
  DType random_dtype();

  Node* keep(Value v);  // adds to the pool, returns v
  Node* new_input(DType t, Shape s);
  Node* new_constant(DType t, Shape s);
  Node* splat(DType t, Shape s, double v);
  // A pool value (biased to recent ones) satisfying `ok`, or nullptr.
  Node* find(const std::function<bool(const Node*)>& ok);
  Node* any_value();
  Node* numeric_value();  // not bool
  Node* float_value();
  Node* int_value();
  Node* ranked_value(Node* x, int min_rank);  // x reshaped to rank >= min_rank
  // A value of x's dtype whose shape broadcasts with x's.
  Node* partner(Node* x);
  // A value of dtype t and exactly shape s: from the pool, or a new leaf.
  Node* value_of(DType t, const Shape& s);
  // Integers in [lo, hi] of shape s (labels, indices): a constant, or an
  // integer value clamped into the range.
  Node* int_in(const Shape& s, int64_t lo, int64_t hi);

  // random_graph_ops.cpp: one op of each kind.
  void emit_op(Op op);
  // random_graph_patterns.cpp: a subgraph one of the passes rewrites.
  void emit_pattern();
  void emit_algebra_pattern(int64_t kind);
  void emit_reduce_select_pattern(int64_t kind);
  void emit_cse_fold_matmul_pattern(int64_t kind);

  Function& f;

 private:
  void emit_unary(Op op);
  Node* emit_collective();  // all_reduce with a random reduction
  void emit_binary(Op op);
  void emit_select();
  void emit_reduce(Op op);
  void emit_layout(Op op);
  void emit_concat();
  void emit_matmul();
  void emit_neural(Op op);
  void emit_axis(Op op);
  void emit_conv(Op op);
  void emit_loop(Op op);
  // A random float value computed in a loop body from `seeds` (its inputs),
  // by a generator of its own that adds no inputs and no loops.
  Value body_value(std::span<const Value> seeds);
  void emit_grads();
  void pick_results();

  std::mt19937_64 rng_;
  const RandomGraphOptions& options_;
  std::vector<Node*> pool_;
  DType float_;  // the graph's main float dtype
  bool in_body_ = false;
};

}  // namespace nabla::test
