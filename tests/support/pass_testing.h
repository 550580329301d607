#pragma once
// Small helpers for pass tests.
#include <string>
#include <vector>

#include "nabla/ir/function.h"

namespace nabla::test {

// How many body nodes have op `op`.
inline int count_ops(const Function& f, Op op) {
  int n = 0;
  for (const Node* m : f) n += m->op() == op;
  return n;
}

// The ops of the body in order, as text names: "add,mul,...".
inline std::string op_sequence(const Function& f) {
  std::string s;
  for (const Node* m : f) s += (s.empty() ? "" : ",") + std::string(op_name(m->op()));
  return s;
}

// Checks of what the default pipeline promises, written independently of the
// passes themselves (pairwise comparisons rather than hashing).

// The number of (earlier, later) body node pairs that compute the same value:
// same op, type, attributes and operands (either order when commutative).
// Barriers are excluded: they are never merged by design.
int mergeable_pairs(const Function& f);
// Body nodes that reach no result.
int dead_nodes(const Function& f);
// Matmul operands that are explicit transposes of the last two axes.
int transposes_feeding_matmul(const Function& f);

}  // namespace nabla::test
