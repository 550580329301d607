#include "nabla/passes/sparsity_edges.h"

#include "nabla/ir/interpreter_kernels.h"
#include "nabla/passes/sparsity.h"

namespace nabla::sparsity {
namespace {

using interp::StridedWalk;

// Result element i reads element i of each operand, broadcast (NumPy).
void elementwise(const Node& n, const EdgeFn& edge) {
  std::vector<std::vector<int64_t>> strides;
  for (Node* o : n.operands()) strides.push_back(broadcast_strides(o->shape(), n.shape()));
  int64_t out = 0;
  for (StridedWalk w(n.shape(), strides); !w.done(); w.next(), ++out)
    for (size_t s = 0; s < strides.size(); ++s) edge(out, s, w.offset(s));
}

// The result walked in order, the operand read through `strides` from `base`.
void strided(const Node& n, std::vector<int64_t> strides, int64_t base, const EdgeFn& edge) {
  int64_t out = 0;
  for (StridedWalk w(n.shape(), {std::move(strides)}, {base}); !w.done(); w.next(), ++out)
    edge(out, 0, w.offset(0));
}

void layout(const Node& n, const EdgeFn& edge) {
  const Shape& in = n.operand(0)->shape();
  std::vector<int64_t> s = row_major_strides(in);
  const Attrs& a = n.attrs();
  switch (n.op()) {
    case Op::Reshape:
      for (int64_t i = 0; i < n.type().numel(); ++i) edge(i, 0, i);
      return;
    case Op::BroadcastTo:
      return strided(n, broadcast_strides(in, n.shape()), 0, edge);
    case Op::Transpose: {
      std::vector<int64_t> t(s.size());
      for (size_t i = 0; i < t.size(); ++i) t[i] = s[a.perm[i]];
      return strided(n, t, 0, edge);
    }
    case Op::Slice: {
      int64_t base = 0;
      for (size_t i = 0; i < s.size(); ++i) {
        base += a.start[i] * s[i];
        s[i] *= a.step[i];
      }
      return strided(n, s, base, edge);
    }
    default: {  // concat: operand k fills a block of the result along the axis
      std::vector<int64_t> os = row_major_strides(n.shape());
      int64_t offset = 0;
      for (size_t k = 0; k < n.num_operands(); ++k) {
        const Shape& ks = n.operand(k)->shape();
        int64_t i = 0;
        for (StridedWalk w(ks, {os}, {offset * os[a.axis]}); !w.done(); w.next(), ++i)
          edge(w.offset(0), k, i);
        offset += ks[a.axis];
      }
    }
  }
}

// Each operand element goes into the result element with the reduced axes dropped.
void reduce(const Node& n, const EdgeFn& edge) {
  Shape kept = n.operand(0)->shape();
  for (int64_t ax : n.attrs().axes) kept[ax] = 1;
  std::vector<int64_t> s = row_major_strides(kept);
  for (int64_t ax : n.attrs().axes) s[ax] = 0;
  int64_t in = 0;
  for (StridedWalk w(n.operand(0)->shape(), {s}); !w.done(); w.next(), ++in) edge(w.offset(0), 0, in);
}

// A shape split around `axis`: outer, the axis, inner.
struct Lines {
  int64_t outer = 1, len = 1, inner = 1;
  Lines(const Shape& s, int64_t axis) {
    for (int64_t i = 0; i < static_cast<int64_t>(s.size()); ++i)
      (i < axis ? outer : i == axis ? len : inner) *= s[i];
  }
  int64_t at(int64_t o, int64_t l, int64_t r) const { return (o * len + l) * inner + r; }
};

// Result [o, l, r] reads operand [o, k, r] for every k with keep(l, k).
template <class Keep>
void along_axis(const Node& n, int64_t axis, Keep keep, const EdgeFn& edge) {
  Lines ln(n.shape(), axis);
  for (int64_t o = 0; o < ln.outer; ++o)
    for (int64_t l = 0; l < ln.len; ++l)
      for (int64_t k = 0; k < ln.len; ++k)
        if (keep(l, k))
          for (int64_t r = 0; r < ln.inner; ++r) edge(ln.at(o, l, r), 0, ln.at(o, k, r));
}

// The index values of gather and scatter_add when they are a constant
// (normalized into [0, len)), else empty: then every index is possible.
IndexVector constant_indices(const Node* idx, int64_t len) {
  IndexVector v;
  if (idx->op() != Op::Constant) return v;
  const Tensor& t = idx->attrs().value;
  v.reserve(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) {
    auto k = static_cast<int64_t>(t.get(i));
    v.push_back(k < 0 ? k + len : k);
  }
  return v;
}

// gather's x element [o, idx[p], r] and result element [o, p, r]
// (scatter_add's updates and result, the other way round).
template <class Fn>
void indexed(const Node& data, const Node* idx, int64_t axis, Fn fn) {
  Lines ln(data.shape(), axis);
  int64_t np = idx->type().numel();
  IndexVector ks = constant_indices(idx, ln.len);
  auto line = [&](int64_t o, int64_t p, int64_t k) {
    for (int64_t r = 0; r < ln.inner; ++r) fn(ln.at(o, k, r), (o * np + p) * ln.inner + r);
  };
  for (int64_t o = 0; o < ln.outer; ++o)
    for (int64_t p = 0; p < np; ++p) {
      if (!ks.empty()) {  // the one line it reads (not a scan of all: linear in the result)
        if (ks[p] >= 0 && ks[p] < ln.len) line(o, p, ks[p]);
        continue;
      }
      for (int64_t k = 0; k < ln.len; ++k) line(o, p, k);
    }
}

bool axis_op(const Node& n, const EdgeFn& edge) {
  int64_t axis = n.attrs().axis;
  const Attrs& a = n.attrs();
  switch (n.op()) {
    case Op::CumSum:
      along_axis(n, axis, [&](int64_t l, int64_t k) {
        return a.reverse ? (a.exclusive ? k > l : k >= l) : (a.exclusive ? k < l : k <= l);
      }, edge);
      return true;
    case Op::Gather:
      indexed(*n.operand(0), n.operand(1), axis, [&](int64_t x, int64_t y) { edge(y, 0, x); });
      return true;
    case Op::ScatterAdd:
      for (int64_t i = 0; i < n.type().numel(); ++i) edge(i, 0, i);
      indexed(n, n.operand(1), axis, [&](int64_t y, int64_t u) { edge(y, 2, u); });
      return true;
    default:
      return true;  // argmax, argmin: integer results read nothing differentiable
  }
}

bool neural(const Node& n, const EdgeFn& edge) {
  switch (n.op()) {
    case Op::Softmax:
    case Op::LogSoftmax:
      along_axis(n, n.attrs().axis, [](int64_t, int64_t) { return true; }, edge);
      return true;
    case Op::CrossEntropy:
      for (int64_t i = 0; i < n.operand(0)->type().numel(); ++i) edge(0, 0, i);
      return true;
    default:
      return true;  // one_hot: its operand is integer
  }
}

}  // namespace

void for_each_matmul_term(const Node& n, const std::function<void(int64_t, int64_t, int64_t)>& term) {
  const Shape &as = n.operand(0)->shape(), &ys = n.shape();
  size_t r = ys.size();
  bool ta = n.attrs().transpose_a, tb = n.attrs().transpose_b;
  int64_t m = ys[r - 2], nn = ys[r - 1], k = ta ? as[r - 2] : as[r - 1];
  int64_t batches = n.type().numel() / std::max<int64_t>(m * nn, 1);
  for (int64_t b = 0; b < batches; ++b)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < nn; ++j)
        for (int64_t l = 0; l < k; ++l)
          term((b * m + i) * nn + j, b * m * k + (ta ? l * m + i : i * k + l),
               b * k * nn + (tb ? j * k + l : l * nn + j));
}

bool for_each_edge(const Node& n, const EdgeFn& edge) {
  switch (op_kind(n.op())) {
    case OpKind::Unary:
    case OpKind::Binary:
    case OpKind::Compare:
    case OpKind::Select:
    case OpKind::Convert:
    case OpKind::Collective:  // all_reduce: element i of this process's operand
      elementwise(n, edge);
      return true;
    case OpKind::Layout:
      layout(n, edge);
      return true;
    case OpKind::Reduce:
      reduce(n, edge);
      return true;
    case OpKind::Contract:
      for_each_matmul_term(n, [&](int64_t y, int64_t a, int64_t b) {
        edge(y, 0, a);
        edge(y, 1, b);
      });
      return true;
    case OpKind::Axis:
      return axis_op(n, edge);
    case OpKind::Neural:
      return neural(n, edge);
    default:  // Leaf, Deriv, Region, Conv, and kinds added later: conservative
      return false;
  }
}

}  // namespace nabla::sparsity
