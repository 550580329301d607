// gather-sink: a gather that keeps fewer rows than its operand has moves
// towards the operand's inputs, through the ops that compute each row of
// their result from the same row of their operands (elementwise ops,
// reductions over other axes, transposes, reshapes that keep the axis, matmul
// rows, columns and batches, and a matmul of every row of a tensor written as
// one 2-D product).
// Exact: every kept element is computed by the same operations on the same
// elements; the indices are the same, so an index out of range is still a
// run-time error. A hand tracker's residuals read 100 of 10,000 skinned
// vertices: the skinning (a matmul of the weights and the bones' transforms,
// and its tangents in every direction of a sparse Jacobian) then runs on
// those 100 rows only (docs/performance.md).
#include <algorithm>

#include "nabla/ir/builder.h"
#include "nabla/passes/simplify_rules.h"
#include "nabla/runtime/error.h"

namespace nabla::simplify_detail {
namespace {

// Whether two index operands hold the same indices: the same node, or
// reshapes of the same node to the same shape (each sink builds its own).
bool same_indices(const Node* a, const Node* b) {
  if (a == b) return true;
  return a->op() == Op::Reshape && b->op() == Op::Reshape && a->operand(0) == b->operand(0) &&
         a->shape() == b->shape();
}

bool is_result(const Node* n) {
  const std::vector<Node*>& results = n->function()->results();
  return std::find(results.begin(), results.end(), n) != results.end();
}

// Whether n is dead: no result, and every user dead (the nodes a sink
// replaced stay until dce; looked at a few levels deep).
bool dead(const Node* n, int depth = 16) {
  if (depth == 0 || is_result(n)) return false;
  for (const Node* u : n->users())
    if (!dead(u, depth - 1)) return false;
  return true;
}

// Whether every live user of x gathers it on `axis` at the same indices as
// g, and x is no result: then x's other rows are dead once each gather is sunk.
bool only_gathered_like(const Node* x, const Node* g) {
  if (is_result(x)) return false;
  for (const Node* u : x->users()) {
    bool alike = u->op() == Op::Gather && u->operand(0) == x && u->attrs().axis == g->attrs().axis &&
                 same_indices(u->operand(1), g->operand(1));
    if (!alike && !dead(u)) return false;
  }
  return true;
}

// x's shape with axis set to m.
Shape with_axis(Shape s, int64_t axis, int64_t m) {
  s[axis] = m;
  return s;
}

// o gathered at idx on `axis` of the result shape it broadcasts to (rank r):
// o itself when it is broadcast along that axis.
Value gather_operand(Node* o, Value idx, int64_t axis, size_t r) {
  size_t lead = r - o->shape().size();
  if (static_cast<size_t>(axis) < lead || o->shape()[axis - lead] == 1) return o;
  return gather(o, idx, axis - static_cast<int64_t>(lead));
}

// The axis of reshape operand y that holds the rows of axis `axis` of its
// result x (the same extent and the same number of elements before it), or -1.
int64_t reshape_axis(const Shape& ys, const Shape& xs, int64_t axis) {
  int64_t before = 1;
  for (int64_t i = 0; i < axis; ++i) before *= xs[i];
  int64_t at = 1;
  for (size_t j = 0; j < ys.size(); ++j) {
    if (at == before && ys[j] == xs[axis]) return static_cast<int64_t>(j);
    at *= ys[j];
    if (at > before) return -1;
  }
  return -1;
}

// The axis of a reduction's operand that holds its result axis `axis`.
int64_t reduced_operand_axis(const Node* x, int64_t axis) {
  if (x->attrs().keepdims) return axis;
  std::vector<bool> reduced(x->operand(0)->shape().size(), false);
  for (int64_t a : x->attrs().axes) reduced[a] = true;
  for (size_t j = 0, kept = 0; j < reduced.size(); ++j)
    if (!reduced[j] && kept++ == static_cast<size_t>(axis)) return static_cast<int64_t>(j);
  return -1;
}

bool is_reduction(Op op) { return op == Op::Sum || op == Op::Mean || op == Op::Max || op == Op::Min; }

// Whether n's only live user is u.
bool only_user(const Node* n, const Node* u) {
  if (is_result(n)) return false;
  for (const Node* v : n->users())
    if (v != u && !dead(v)) return false;
  return true;
}

// For x = reshape(matmul(reshape(X, [R, k]), W), X.shape[:-1] ++ [n]), the
// product of W with every row of X along its last axis (batched matmuls
// write a shared operand so): X, else nullptr. Every other axis of x is an
// axis of X; the inner nodes must have no other user.
Node* rows_times(const Node* x) {
  if (x->op() != Op::Reshape) return nullptr;
  const Node* y = x->operand(0);
  if (y->op() != Op::MatMul || y->shape().size() != 2 || y->attrs().transpose_a || !only_user(y, x)) return nullptr;
  const Node* a = y->operand(0);
  if (a->op() != Op::Reshape || !only_user(a, y)) return nullptr;
  Node* big = a->operand(0);
  const Shape &bs = big->shape(), &xs = x->shape();
  if (bs.size() != xs.size() || bs.empty() || bs.back() != a->shape()[1] || xs.back() != y->shape()[1]) return nullptr;
  return std::equal(bs.begin(), bs.end() - 1, xs.begin()) ? big : nullptr;
}

// Whether x's op computes the rows of `axis` from rows of its operands.
bool sinks(const Node* x, int64_t axis) {
  size_t r = x->shape().size();
  if (is_elementwise(x->op()) || is_reduction(x->op())) return true;
  switch (x->op()) {
    case Op::Transpose:
    case Op::MatMul: return true;
    case Op::Reshape:
      return reshape_axis(x->operand(0)->shape(), x->shape(), axis) >= 0 ||
             (rows_times(x) && axis + 1 < static_cast<int64_t>(r));
    default: return false;
  }
}

// x computed from gathered operands: x's op on the rows idx (rank 1) of its
// operands along `axis` (sinks(x, axis) holds).
Value sunk(Node* x, Value idx, int64_t axis) {
  Function& f = *x->function();
  size_t r = x->shape().size();
  if (is_elementwise(x->op())) {
    std::vector<Node*> operands;
    for (Node* o : x->operands()) operands.push_back(gather_operand(o, idx, axis, r).node);
    return f.make(x->op(), operands, x->attrs());
  }
  if (is_reduction(x->op()))
    return f.make(x->op(), {gather(x->operand(0), idx, reduced_operand_axis(x, axis)).node}, x->attrs());
  switch (x->op()) {
    case Op::Transpose: return transpose(gather(x->operand(0), idx, x->attrs().perm[axis]), x->attrs().perm);
    case Op::Reshape: {
      Shape s = with_axis(x->shape(), axis, idx->type().numel());
      int64_t a = reshape_axis(x->operand(0)->shape(), x->shape(), axis);
      if (a >= 0) return reshape(gather(x->operand(0), idx, a), s);
      const Node* y = x->operand(0);  // rows_times(x)
      Value rows = gather(rows_times(x), idx, axis);
      int64_t k = rows->shape().back();
      Value product = matmul(reshape(rows, {rows->type().numel() / k, k}), y->operand(1), false, y->attrs().transpose_b);
      return reshape(product, s);
    }
    case Op::MatMul: {
      Node *a = x->operand(0), *b = x->operand(1);
      bool ta = x->attrs().transpose_a, tb = x->attrs().transpose_b;
      int64_t rows = static_cast<int64_t>(r) - 2;
      if (axis < rows) {  // the gathers named: the order of arguments is unspecified (bprop.cpp)
        Value gb = gather(b, idx, axis);
        return matmul(gather(a, idx, axis), gb, ta, tb);
      }
      if (axis == rows) return matmul(gather(a, idx, ta ? rows + 1 : rows), b, ta, tb);
      return matmul(a, gather(b, idx, tb ? rows : rows + 1), ta, tb);
    }
    default: throw Error("gather-sink: no rule for " + std::string(op_name(x->op())));
  }
}

}  // namespace

// gather(op(x...), idx, axis) -> op(gather(x, idx, axis')...) when idx holds
// fewer indices than the axis has rows and every user of op(x...) gathers it
// the same way (its other rows are never read).
Node* gather_sink(Node* n, const RuleContext&) {
  Node *x = n->operand(0), *idx = n->operand(1);
  int64_t axis = n->attrs().axis, m = idx->type().numel();
  if (m == 0 || m >= x->shape()[axis] || !sinks(x, axis) || !only_gathered_like(x, n)) return nullptr;
  Value flat = idx->shape().size() == 1 ? Value(idx) : reshape(idx, {m});
  Value v = sunk(x, flat, axis);
  return v->shape() == n->shape() ? v.node : reshape(v, n->shape()).node;
}

// Whether every live user of gather g has op `op`, and g is no result.
static bool only_used_by(const Node* g, Op op) {
  if (is_result(g)) return false;
  for (const Node* u : g->users())
    if (u->op() != op && !dead(u)) return false;
  return true;
}

// slice(gather(x, idx, a)) -> gather(slice(x), slice(idx), a) when every
// live user of the gather is such a slice: the gathered rows are then read
// only where the slices look, and a fused region reads them through the
// index (an indexed read, no gathered buffer). The slice's axes of idx slice
// idx itself, only for a gather of at least as many indices as x has rows
// (gather-sink moves the others the other way; the sliced indices would
// differ from slice to slice and stop it). ba's cameras and points: 11 + 3
// columns gathered per observation, each column used by the residual's
// elementwise work; ht's triangle corners, [C,3] indices, each corner a
// slice of the [.., C, 3, 3] gathered vertices (and of their 26 tangents).
Node* slice_gather(Node* n, const RuleContext&) {
  Node* g = n->operand(0);
  if (g->op() != Op::Gather || !only_used_by(g, Op::Slice)) return nullptr;
  Node *x = g->operand(0), *idx = g->operand(1);
  size_t a = static_cast<size_t>(g->attrs().axis), k = idx->shape().size();
  const Attrs& s = n->attrs();
  bool whole = true;
  std::vector<int64_t> istart, istop, istep;
  for (size_t d = a; d < a + k; ++d) {
    whole = whole && s.start[d] == 0 && s.stop[d] == g->shape()[d] && s.step[d] == 1;
    istart.push_back(s.start[d]);
    istop.push_back(s.stop[d]);
    istep.push_back(s.step[d]);
  }
  if (!whole && idx->type().numel() < x->shape()[a]) return nullptr;
  std::vector<int64_t> start, stop, step;
  for (size_t d = 0; d < x->shape().size(); ++d) {
    bool row = d == a;
    size_t e = d < a ? d : d + k - 1;  // the gathered axis of x's axis d
    start.push_back(row ? 0 : s.start[e]);
    stop.push_back(row ? x->shape()[d] : s.stop[e]);
    step.push_back(row ? 1 : s.step[e]);
  }
  Value at = whole ? Value(idx) : slice(idx, istart, istop, istep);
  return gather(slice(x, start, stop, step), at, g->attrs().axis).node;
}

// reshape(gather(x, idx, a)) -> gather(reshape(x), idx, a) when the reshape
// keeps the axes up to idx's last and every live user of the gather is such
// a reshape (ba's columns: [P,1] -> [P]); and -> gather(x, reshape(idx), a)
// when it reshapes only idx's axes (ht's corners: [.., C, 1, 3] -> [.., C,
// 3]). Only for a gather of at least as many indices as x has rows
// (gather-sink moves the others the other way, its index flattened).
Node* reshape_gather(Node* n, const RuleContext&) {
  Node* g = n->operand(0);
  if (g->op() != Op::Gather || !only_used_by(g, Op::Reshape)) return nullptr;
  Node *x = g->operand(0), *idx = g->operand(1);
  size_t a = static_cast<size_t>(g->attrs().axis), k = idx->shape().size(), p = a + k;
  const Shape &s = g->shape(), &t = n->shape();
  if (idx->type().numel() < x->shape()[a] || t.size() < a) return nullptr;
  if (t.size() >= p && std::equal(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(p), t.begin())) {
    Shape to(x->shape().begin(), x->shape().begin() + static_cast<std::ptrdiff_t>(a) + 1);
    to.insert(to.end(), t.begin() + static_cast<std::ptrdiff_t>(p), t.end());
    return gather(reshape(x, to), idx, g->attrs().axis).node;
  }
  // t = s[:a] ++ m ++ s[p:], m holding idx's elements: idx reshaped to m.
  size_t tail = s.size() - p;
  if (t.size() < a + tail || !std::equal(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(a), t.begin()) ||
      !std::equal(s.end() - static_cast<std::ptrdiff_t>(tail), s.end(), t.end() - static_cast<std::ptrdiff_t>(tail)))
    return nullptr;
  Shape m(t.begin() + static_cast<std::ptrdiff_t>(a), t.end() - static_cast<std::ptrdiff_t>(tail));
  if (m.empty() || num_elements(m) != idx->type().numel() || m == idx->shape()) return nullptr;
  return gather(x, reshape(idx, m), g->attrs().axis).node;
}

}  // namespace nabla::simplify_detail
