// The simplify rules that find broadcasts: a constant whose elements repeat
// along an axis, a gather that copies one repeated row, and slices and
// reshapes moved under a broadcast_to. Exact: every element of the result is
// the same element of the same constant or operand. Their purpose is a
// sparse derivative's compressed seeds, which repeat along an axis whenever
// the parts of x have the same structure (every camera of a bundle
// adjustment shares its 11 column colors): as broadcasts of a few elements
// they fuse into the sweep's kernels instead of being [P, ...] arrays read,
// gathered and sliced at every call (docs/performance.md).
#include <cstring>

#include "nabla/ir/builder.h"
#include "nabla/passes/simplify_rules.h"

namespace nabla::simplify_detail {
namespace {

// Constants smaller than this stay literals: a broadcast saves little there.
constexpr int64_t kMinBroadcastElements = 1024;

// Whether t's elements repeat along `axis` (every slice along it is the
// first, bit for bit); outer, n and inner as in a gather's view of t.
bool repeats_along(const Tensor& t, int64_t axis) {
  int64_t n = t.shape()[axis];
  if (n <= 1 || t.numel() == 0) return false;
  int64_t inner = 1;
  for (int64_t i = axis + 1; i < t.rank(); ++i) inner *= t.shape()[i];
  int64_t outer = t.numel() / (n * inner);
  size_t row = static_cast<size_t>(inner) * dtype_size(t.dtype());
  const auto* bytes = static_cast<const std::byte*>(t.data());
  for (int64_t o = 0; o < outer; ++o) {
    const std::byte* first = bytes + o * n * row;
    for (int64_t k = 1; k < n; ++k)
      if (std::memcmp(first, first + k * row, row) != 0) return false;
  }
  return true;
}

// t with the axes marked in `keep_one` cut to their first element.
Tensor first_along(const Tensor& t, const std::vector<bool>& keep_one) {
  Shape s = t.shape();
  for (size_t i = 0; i < s.size(); ++i)
    if (keep_one[i]) s[i] = 1;
  Tensor out(t.dtype(), s);
  size_t es = dtype_size(t.dtype());
  std::vector<int64_t> at(s.size(), 0);
  for (int64_t k = 0; k < out.numel(); ++k) {
    int64_t src = 0;
    for (size_t i = 0; i < s.size(); ++i) src = src * t.shape()[i] + at[i];
    std::memcpy(static_cast<std::byte*>(out.data()) + k * es, static_cast<const std::byte*>(t.data()) + src * es, es);
    for (size_t i = s.size(); i-- > 0;) {
      if (++at[i] < s[i]) break;
      at[i] = 0;
    }
  }
  return out;
}

bool only_concats_use(const Node* n) {
  for (const Node* u : n->users())
    if (u->op() != Op::Concat) return false;
  return !n->users().empty();
}

// Whether every index of the constant idx is in range for an axis of size n
// (negative ones count from the end): the gather could not fail at run time.
bool indices_in_range(const Node* idx, int64_t n) {
  if (idx->op() != Op::Constant) return false;
  const Tensor& t = idx->attrs().value;
  auto in_range = [&](const auto* at) {
    for (int64_t k = 0; k < t.numel(); ++k)
      if (at[k] < -n || at[k] >= n) return false;
    return true;
  };
  return t.dtype() == DType::i64 ? in_range(t.data_as<int64_t>()) : in_range(t.data_as<int32_t>());
}

// Whether user u of n reads n as a broadcast without a copy of its own.
bool absorbs_broadcast(const Node* u, const Node* n) {
  if (is_elementwise(u->op())) return true;
  switch (u->op()) {
    case Op::Slice:
    case Op::BroadcastTo: return true;
    case Op::Gather: return u->operand(0) == n && u->operand(1) != n;
    default: return false;
  }
}

}  // namespace

// A constant of at least kMinBroadcastElements whose elements repeat along
// some axes -> broadcast_to(the constant cut to 1 along them), when every user
// takes a broadcast without copying it (elementwise ops fuse it; slices and
// gathers of it become broadcasts by the rules below). Not when only concats
// use it (fold folds such broadcasts back into the concat).
Node* constant_broadcast(Node* n, const RuleContext& ctx) {
  const Tensor& t = n->attrs().value;
  if (t.numel() < kMinBroadcastElements || only_concats_use(n)) return nullptr;
  for (const Node* u : n->users())
    if (!absorbs_broadcast(u, n)) return nullptr;
  std::vector<bool> keep_one(static_cast<size_t>(t.rank()), false);
  bool any = false;
  for (int64_t a = 0; a < t.rank(); ++a) {
    keep_one[a] = repeats_along(t, a);
    any = any || keep_one[a];
  }
  if (!any) return nullptr;
  return broadcast_to(constant(ctx.f, first_along(t, keep_one)), n->shape());
}

// Whether every row of c along axis is the same: a constant that repeats
// along it, or a broadcast along it.
bool rows_repeat(const Node* c, int64_t axis) {
  if (c->op() == Op::Constant) return repeats_along(c->attrs().value, axis);
  if (c->op() != Op::BroadcastTo) return false;
  const Node* x = c->operand(0);
  size_t lead = c->shape().size() - x->shape().size();
  return static_cast<size_t>(axis) < lead || x->shape()[axis - lead] == 1;
}

// The row of a gather's operand c that repeats along `axis` (rows_repeat):
// c cut to 1 along it, as a value of c's rank.
Node* repeated_row(Node* c, int64_t axis, Function& f) {
  std::vector<bool> keep_one(c->shape().size(), false);
  keep_one[axis] = true;
  if (c->op() == Op::Constant) return constant(f, first_along(c->attrs().value, keep_one)).node;
  Node* x = c->operand(0);
  Shape padded(c->shape().size() - x->shape().size(), 1);
  padded.insert(padded.end(), x->shape().begin(), x->shape().end());
  return reshape(x, padded).node;
}

// gather(c, idx, axis) where every row of c along axis is the same (a constant
// that repeats along it, or a broadcast along it) and the indices are
// constants in range -> broadcast_to(that row): every index picks the same.
Node* gather_repeated(Node* n, const RuleContext& ctx) {
  Node *c = n->operand(0), *idx = n->operand(1);
  int64_t axis = n->attrs().axis;
  if (idx->op() != Op::Constant || idx->type().numel() == 0 || !rows_repeat(c, axis)) return nullptr;
  if (!indices_in_range(idx, c->shape()[axis])) return nullptr;
  Node* row = repeated_row(c, axis, ctx.f);
  Shape s = row->shape();  // x.shape[:axis] ++ [1] * idx.rank ++ x.shape[axis+1:]
  s.erase(s.begin() + axis);
  s.insert(s.begin() + axis, idx->shape().size(), 1);
  return broadcast_to(reshape(row, s), n->shape());
}

// slice(broadcast_to(x, s)) -> broadcast_to(slice(x), the slice's shape): x
// sliced on its own axes, an axis it is broadcast along kept at 1.
Node* slice_broadcast(Node* n, const RuleContext&) {
  Node* b = n->operand(0);
  if (b->op() != Op::BroadcastTo) return nullptr;
  Node* x = b->operand(0);
  const Attrs& a = n->attrs();
  size_t lead = b->shape().size() - x->shape().size();
  std::vector<int64_t> start, stop, step;
  bool cut = false;
  for (size_t i = 0; i < x->shape().size(); ++i) {
    bool broadcast = x->shape()[i] == 1 && b->shape()[lead + i] != 1;
    start.push_back(broadcast ? 0 : a.start[lead + i]);
    stop.push_back(broadcast ? 1 : a.stop[lead + i]);
    step.push_back(broadcast ? 1 : a.step[lead + i]);
    cut = cut || (!broadcast && (start.back() != 0 || stop.back() != x->shape()[i] || step.back() != 1));
  }
  Value sliced = cut ? slice(x, start, stop, step) : Value(x);
  return broadcast_to(sliced, n->shape());
}

// reshape(broadcast_to(x, s), t) -> broadcast_to(reshape(x, u), t) when t is s
// with axes of size 1 added or removed: the other axes keep their order, and
// u gives each of them x's size on it (1 where x is broadcast).
Node* reshape_broadcast(Node* n, const RuleContext&) {
  Node* b = n->operand(0);
  if (b->op() != Op::BroadcastTo) return nullptr;
  Node* x = b->operand(0);
  const Shape &s = b->shape(), &t = n->shape(), &xs = x->shape();
  size_t lead = s.size() - xs.size(), j = 0;
  Shape u;
  for (int64_t d : t) {
    if (d == 1) {
      u.push_back(1);
      continue;
    }
    while (j < s.size() && s[j] == 1) ++j;
    if (j == s.size() || s[j] != d) return nullptr;
    u.push_back(j < lead ? 1 : xs[j - lead]);
    ++j;
  }
  while (j < s.size() && s[j] == 1) ++j;
  if (j != s.size()) return nullptr;
  return broadcast_to(reshape(x, u), t);
}

}  // namespace nabla::simplify_detail
