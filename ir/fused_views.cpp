#include "nabla/ir/fused_views.h"

#include <algorithm>

namespace nabla {
namespace {

bool read_through(const Node& n, const ViewInside& inside) { return is_view_op(n.op()) && inside(n); }

void sort_unique(std::vector<int64_t>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// Slice result index j on axis i reads operand index start + j * step: the
// first j at or past an operand cut p is ceil((p - start) / step).
ViewCuts slice_cuts(const Node& s, const ViewCuts& in) {
  const Attrs& a = s.attrs();
  ViewCuts out(s.shape().size());
  for (size_t i = 0; i < out.size(); ++i)
    for (int64_t p : in[i]) {
      if (p <= a.start[i]) continue;
      int64_t j = (p - a.start[i] + a.step[i] - 1) / a.step[i];
      if (j < s.shape()[i]) out[i].push_back(j);
    }
  return out;
}

}  // namespace

ViewCuts view_cuts(const Node& view, const ViewInside& inside) {
  size_t rank = view.shape().size();
  ViewCuts out(rank);
  if (!read_through(view, inside)) return out;
  if (view.op() == Op::Slice) {
    const Node& x = *view.operand(0);
    return read_through(x, inside) ? slice_cuts(view, view_cuts(x, inside)) : out;
  }
  size_t axis = static_cast<size_t>(view.attrs().axis);
  int64_t at = 0;
  for (const Node* x : view.operands()) {
    ViewCuts in = view_cuts(*x, inside);
    for (size_t i = 0; i < rank; ++i)
      for (int64_t p : in[i]) out[i].push_back(i == axis ? p + at : p);
    if (at > 0 && at < view.shape()[axis]) out[axis].push_back(at);
    at += x->shape()[axis];
  }
  for (auto& c : out) sort_unique(c);
  return out;
}

ViewRead read_view(const Node& view, std::span<const int64_t> at, const ViewInside& inside) {
  if (!read_through(view, inside)) return {&view, row_major_strides(view.shape()), 0};
  std::vector<int64_t> there(at.begin(), at.end());
  if (view.op() == Op::Slice) {
    const Attrs& a = view.attrs();
    for (size_t i = 0; i < there.size(); ++i) there[i] = a.start[i] + there[i] * a.step[i];
    ViewRead r = read_view(*view.operand(0), there, inside);
    for (size_t i = 0; i < there.size(); ++i) {
      r.offset += r.strides[i] * a.start[i];
      r.strides[i] *= a.step[i];
    }
    return r;
  }
  // The concat operand that holds `at`: the first whose block ends past it.
  size_t axis = static_cast<size_t>(view.attrs().axis);
  int64_t begin = 0;
  size_t count = view.num_operands();
  for (size_t k = 0; k < count; ++k) {
    const Node* x = view.operand(k);
    int64_t end = begin + x->shape()[axis];
    if (at[axis] < end || k + 1 == count) {
      there[axis] -= begin;
      ViewRead r = read_view(*x, there, inside);
      r.offset -= r.strides[axis] * begin;
      return r;
    }
    begin = end;
  }
  return {&view, row_major_strides(view.shape()), 0};  // no operands (not a valid concat)
}

ViewCuts iteration_cuts(const Shape& shape, std::span<const Node* const> views, const ViewInside& inside) {
  ViewCuts out(shape.size());
  for (const Node* v : views) {
    ViewCuts c = view_cuts(*v, inside);
    size_t lead = shape.size() - c.size();
    for (size_t i = 0; i < c.size(); ++i)
      if (v->shape()[i] == shape[lead + i]) out[lead + i].insert(out[lead + i].end(), c[i].begin(), c[i].end());
  }
  for (auto& c : out) sort_unique(c);
  return out;
}

int64_t cell_count(const ViewCuts& cuts) {
  constexpr int64_t kCap = int64_t{1} << 40;
  int64_t n = 1;
  for (const auto& c : cuts) n = std::min(kCap, n * (static_cast<int64_t>(c.size()) + 1));
  return n;
}

}  // namespace nabla
