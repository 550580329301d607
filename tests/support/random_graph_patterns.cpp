// The generator's pattern steps: small subgraphs that cse, fold, simplify or
// transpose-fold rewrite (and near misses they must leave alone).
#include <algorithm>

#include "tests/support/random_graph_impl.h"

namespace nabla::test {
namespace {

// A non-leaf pool node to clone, for cse.
Node* clone_of(Generator& g) {
  Node* n = g.find([](const Node* m) { return m->op() != Op::Input && m->op() != Op::Constant && !m->body(); });
  if (!n) return nullptr;
  std::vector<Node*> ops(n->operands().begin(), n->operands().end());
  if (is_commutative(n->op()) && g.chance(0.5)) std::swap(ops[0], ops[1]);
  return g.f.make(n->op(), ops, n->attrs());
}

}  // namespace

void Generator::emit_pattern() {
  int64_t kind = uniform(0, 16);
  if (kind <= 6) return emit_algebra_pattern(kind);
  if (kind <= 9) return emit_reduce_select_pattern(kind);
  emit_cse_fold_matmul_pattern(kind);
}

// Kinds 0-6: identities of arithmetic, transpose, reshape and broadcast.
void Generator::emit_algebra_pattern(int64_t kind) {
  switch (kind) {
    case 0: {  // x * 1, 1 * x, x / 1 (1 possibly broadcast)
      Node* x = float_value();
      Node* one = splat(x->dtype(), partner_shape(x->shape()), 1);
      keep(chance(0.3) ? div(x, one) : chance(0.5) ? mul(x, one) : mul(one, x));
      return;
    }
    case 1: {  // x + 0, x + -0, x - 0, x - -0, integer or float
      Node* x = chance(0.3) ? int_value() : float_value();
      double z = chance(0.5) ? 0.0 : -0.0;
      Node* zero = splat(x->dtype(), partner_shape(x->shape()), z);
      keep(chance(0.5) ? sub(x, zero) : chance(0.5) ? add(x, zero) : add(zero, x));
      return;
    }
    case 2: {  // x - x, x * 0 (only safe for integers)
      Node* x = chance(0.4) ? int_value() : float_value();
      keep(chance(0.5) ? sub(x, x) : mul(x, splat(x->dtype(), partner_shape(x->shape()), 0)));
      return;
    }
    case 3: {  // neg(neg x), abs(neg x), abs(abs x), relu(relu x), max(x, x)
      Node* x = float_value();
      switch (uniform(0, 4)) {
        case 0: keep(neg(keep(neg(x)))); return;
        case 1: keep(abs(keep(neg(x)))); return;
        case 2: keep(abs(keep(abs(x)))); return;
        case 3: keep(relu(keep(relu(x)))); return;
        default: keep(chance(0.5) ? maximum(x, x) : minimum(x, x)); return;
      }
    }
    case 4: {  // transpose of a transpose (sometimes the inverse)
      Node* x = any_value();
      std::vector<int64_t> p = random_perm(x->shape().size()), q = random_perm(p.size());
      if (chance(0.4))
        for (size_t i = 0; i < p.size(); ++i) q[p[i]] = static_cast<int64_t>(i);
      keep(transpose(keep(transpose(x, p)), q));
      return;
    }
    case 5: {  // reshape chains, reshape to the same shape
      Node* x = any_value();
      if (chance(0.3)) {
        keep(reshape(x, x->shape()));
        return;
      }
      Shape last = reshaped(x->shape());
      keep(reshape(keep(reshape(x, reshaped(x->shape()))), last));
      return;
    }
    case 6: {  // broadcast of a broadcast, broadcast to the same shape
      Node* x = any_value();
      if (chance(0.3)) { keep(broadcast_to(x, x->shape())); return; }
      Node* b = keep(broadcast_to(x, widened_shape(x->shape())));
      keep(broadcast_to(b, widened_shape(b->shape())));
      return;
    }
  }
}

// Kinds 7-9: reductions over unit axes, selects, casts.
void Generator::emit_reduce_select_pattern(int64_t kind) {
  switch (kind) {
    case 7: {  // a reduction over axes of size 1 (or none)
      Node* x = numeric_value();
      Shape s = x->shape();
      for (size_t i = 0; i <= s.size() && static_cast<int>(s.size()) <= options_.max_rank; ++i)
        if (chance(0.4)) s.insert(s.begin() + static_cast<std::ptrdiff_t>(i), 1);
      Node* y = keep(reshape(x, s));
      Attrs a;
      for (size_t i = 0; i < s.size(); ++i)
        if (s[i] == 1 && chance(0.8)) a.axes.push_back(static_cast<int64_t>(i));
      a.keepdims = chance(0.5);
      Op op = is_float(x->dtype()) && chance(0.3) ? Op::Mean : chance(0.5) ? Op::Sum : Op::Max;
      keep(f.make(op, {y}, a));
      return;
    }
    case 8: {  // select with a constant condition, select(c, a, a)
      Node* a = any_value();
      Node* b = partner(a);
      if (chance(0.3)) {
        keep(select(keep(greater(value_of(float_, partner_shape(a->shape())), 0.0)), a, a));
        return;
      }
      double v = chance(0.5) ? 1 : 0;
      Node* c = splat(DType::bool_, partner_shape(a->shape()), v);
      keep(select(c, a, b));
      return;
    }
    case 9: {  // cast to the same dtype, stop_gradient
      Node* x = any_value();
      keep(chance(0.5) ? cast(x, x->dtype()) : stop_gradient(x));
      return;
    }
  }
}

// Kinds 10-16: duplicates for cse, barriers, constants for fold, transposes
// around matmul, whole slices.
void Generator::emit_cse_fold_matmul_pattern(int64_t kind) {
  switch (kind) {
    case 10:  // a duplicate of an existing node, for cse
    case 11:
      if (Node* c = clone_of(*this)) keep(c);
      return;
    case 12: {  // the same barrier twice: cse must keep both
      Node* x = any_value();
      keep(barrier(x));
      keep(barrier(x));
      return;
    }
    case 13: {  // an op on constants only, for fold
      Node* c = new_constant(float_, random_shape());
      double v = 0.5 * static_cast<double>(uniform(1, 4));
      Node* d = splat(float_, partner_shape(c->shape()), v);
      keep(chance(0.5) ? exp(keep(mul(c, d))) : sum(keep(add(d, c))));
      return;
    }
    case 14: {  // matmul of an explicit transpose, transpose of a matmul
      Node* a = float_value();
      a = ranked_value(a, 2);
      if (a->shape().size() > 3) a = keep(reshape(a, {num_elements(a->shape()) / a->shape().back(), a->shape().back()}));
      size_t r = a->shape().size();
      std::vector<int64_t> p(r);
      for (size_t i = 0; i < r; ++i) p[i] = static_cast<int64_t>(i);
      std::swap(p[r - 2], p[r - 1]);
      Node* at = keep(transpose(a, p));
      Shape bs(at->shape().begin(), at->shape().end() - 2);
      bs.push_back(at->shape()[r - 1]);
      bs.push_back(uniform(1, options_.max_dim));
      Node* mm = keep(matmul(at, value_of(a->dtype(), bs)));
      if (chance(0.5)) keep(transpose(mm, p));
      return;
    }
    case 15: {  // a whole slice, a single-operand concat
      Node* x = ranked_value(any_value(), 1);
      if (chance(0.5)) {
        std::vector<int64_t> start(x->shape().size(), 0);
        keep(slice(x, start, x->shape()));
      } else {
        Value v = x;
        keep(concat(std::span<const Value>(&v, 1), 0));
      }
      return;
    }
    default: {  // a transpose that is not a matrix transpose feeding a matmul
      Node* a = ranked_value(float_value(), 3);
      if (a->shape().size() != 3) a = keep(reshape(a, {1, 1, num_elements(a->shape())}));
      Node* at = keep(transpose(a, {1, 0, 2}));
      Shape bs = {at->shape()[0], at->shape()[2], uniform(1, options_.max_dim)};
      keep(matmul(at, value_of(a->dtype(), bs)));
      return;
    }
  }
}

}  // namespace nabla::test
