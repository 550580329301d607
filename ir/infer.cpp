// Shape and dtype inference: the one place that states each op's typing rule
// (docs/ops.md describes the same rules in prose).
#include <algorithm>
#include <numeric>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nabla/ir/function.h"
#include "nabla/runtime/error.h"

namespace nabla {
namespace {

template <class... Args>
[[noreturn]] void fail(Op op, fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format("{}: {}", op_name(op), fmt::format(f, std::forward<Args>(args)...)));
}

std::string types_str(std::span<const TensorType> ts) {
  std::string s;
  for (size_t i = 0; i < ts.size(); ++i) s += (i ? ", " : "") + ts[i].str();
  return s;
}

std::string ints_str(const std::vector<int64_t>& v) { return fmt::format("[{}]", fmt::join(v, ",")); }

void check_dtype(Op op, const TensorType& t) {
  uint32_t flags = op_flags(op);
  if ((flags & kFloatOnly) && !is_float(t.dtype))
    fail(op, "expected a float operand (f32 or f64), got {}", t.str());
  if (!(flags & kAnyDType) && t.dtype == DType::bool_)
    fail(op, "expected a numeric operand, got {}", t.str());
}

void check_same_dtype(Op op, std::span<const TensorType> ts) {
  for (const TensorType& t : ts)
    if (t.dtype != ts[0].dtype) fail(op, "operand dtypes differ: {}", types_str(ts));
}

// NumPy broadcasting of two shapes.
Shape broadcast(Op op, const Shape& a, const Shape& b, std::span<const TensorType> ts) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1) {
      if (ts.size() == 2) fail(op, "cannot broadcast {} with {}", ts[0].str(), ts[1].str());
      fail(op, "cannot broadcast {}", types_str(ts));
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

int64_t normalize_axis(Op op, int64_t axis, int64_t rank, const TensorType& t) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail(op, "axis {} is out of range for {}", axis, t.str());
  return a;
}

TensorType infer_reduce(Op op, const TensorType& x, Attrs& attrs) {
  std::vector<int64_t> axes;
  for (int64_t a : attrs.axes) {
    int64_t n = normalize_axis(op, a, x.rank(), x);
    if (std::find(axes.begin(), axes.end(), n) != axes.end())
      fail(op, "axis {} is repeated in axes {}", a, ints_str(attrs.axes));
    axes.push_back(n);
  }
  std::sort(axes.begin(), axes.end());
  attrs.axes = axes;
  if (op == Op::Max || op == Op::Min)
    for (int64_t a : axes)
      if (x.shape[a] == 0) fail(op, "cannot take the {} over empty axis {} of {}", op_name(op), a, x.str());
  Shape out;
  for (int64_t i = 0; i < x.rank(); ++i) {
    bool reduced = std::binary_search(axes.begin(), axes.end(), i);
    if (!reduced) out.push_back(x.shape[i]);
    else if (attrs.keepdims) out.push_back(1);
  }
  return {x.dtype, out};
}

// The element count of a shape, failing (instead of overflowing) when too large.
int64_t checked_numel(Op op, const Shape& s, const std::string& what) {
  try {
    return num_elements(s);
  } catch (const Error&) {
    fail(op, "{} has too many elements", what);
  }
}

TensorType infer_reshape(Op op, const TensorType& x, Attrs& attrs) {
  Shape s = attrs.shape;
  int64_t infer_at = -1;
  Shape known_dims;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1 && infer_at < 0) { infer_at = static_cast<int64_t>(i); continue; }
    if (s[i] < 0) fail(op, "invalid dimension {} in shape {}", s[i], ints_str(s));
    known_dims.push_back(s[i]);
  }
  int64_t known = checked_numel(op, known_dims, "shape " + ints_str(s));
  checked_numel(op, x.shape, x.str());
  if (infer_at >= 0) {
    if (known == 0 || x.numel() % known != 0)
      fail(op, "cannot reshape {} ({} elements) to {}", x.str(), x.numel(), ints_str(s));
    s[infer_at] = x.numel() / known;
  }
  if (num_elements(s) != x.numel())
    fail(op, "cannot reshape {} ({} elements) to {} ({} elements)", x.str(), x.numel(),
         ints_str(s), num_elements(s));
  attrs.shape = s;
  return {x.dtype, s};
}

TensorType infer_transpose(Op op, const TensorType& x, Attrs& attrs) {
  std::vector<int64_t> seen(x.rank(), 0);
  bool ok = static_cast<int64_t>(attrs.perm.size()) == x.rank();
  for (int64_t p : attrs.perm) {
    if (!ok || p < 0 || p >= x.rank() || seen[p]++) { ok = false; break; }
  }
  if (!ok) fail(op, "perm {} is not a permutation of the {} axes of {}", ints_str(attrs.perm),
                x.rank(), x.str());
  Shape out;
  for (int64_t p : attrs.perm) out.push_back(x.shape[p]);
  return {x.dtype, out};
}

TensorType infer_broadcast_to(Op op, const TensorType& x, Attrs& attrs) {
  const Shape& s = attrs.shape;
  bool ok = s.size() >= x.shape.size();
  for (int64_t d : s)
    if (d < 0) ok = false;
  for (size_t i = 0; ok && i < x.shape.size(); ++i) {
    int64_t d = x.shape[x.shape.size() - 1 - i], t = s[s.size() - 1 - i];
    if (d != t && d != 1) ok = false;
  }
  if (!ok) fail(op, "cannot broadcast {} to {}", x.str(), ints_str(s));
  return {x.dtype, s};
}

TensorType infer_slice(Op op, const TensorType& x, Attrs& attrs) {
  size_t r = x.shape.size();
  if (attrs.step.empty()) attrs.step.assign(r, 1);
  if (attrs.start.size() != r || attrs.stop.size() != r || attrs.step.size() != r)
    fail(op, "start, stop and step need one entry per axis of {}", x.str());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t b = attrs.start[i], e = attrs.stop[i], st = attrs.step[i];
    if (st < 1) fail(op, "step {} on axis {} must be at least 1", st, i);
    if (b < 0 || b > e || e > x.shape[i])
      fail(op, "range [{}, {}) on axis {} is not within [0, {}] of {}", b, e, i, x.shape[i],
           x.str());
    out[i] = e == b ? 0 : (e - b - 1) / st + 1;
  }
  return {x.dtype, out};
}

TensorType infer_concat(Op op, std::span<const TensorType> ts, Attrs& attrs) {
  if (ts.empty()) fail(op, "needs at least one operand");
  check_same_dtype(op, ts);
  const TensorType& t0 = ts[0];
  if (t0.rank() == 0) fail(op, "cannot concatenate scalars: {}", types_str(ts));
  attrs.axis = normalize_axis(op, attrs.axis, t0.rank(), t0);
  Shape out = t0.shape;
  out[attrs.axis] = 0;
  for (const TensorType& t : ts) {
    bool ok = t.rank() == t0.rank();
    for (int64_t i = 0; ok && i < t.rank(); ++i)
      if (i != attrs.axis && t.shape[i] != t0.shape[i]) ok = false;
    if (!ok) fail(op, "shapes differ off axis {}: {}", attrs.axis, types_str(ts));
    if (__builtin_add_overflow(out[attrs.axis], t.shape[attrs.axis], &out[attrs.axis]))
      fail(op, "the result is too long on axis {}: {}", attrs.axis, types_str(ts));
  }
  return {t0.dtype, out};
}

TensorType infer_matmul(Op op, const TensorType& a, const TensorType& b, Attrs& attrs) {
  if (a.rank() < 2 || b.rank() < 2 || a.rank() != b.rank())
    fail(op, "operands must both be 2-D, or batched with the same rank: {} and {}", a.str(),
         b.str());
  int64_t r = a.rank();
  for (int64_t i = 0; i < r - 2; ++i)
    if (a.shape[i] != b.shape[i]) fail(op, "batch dimensions differ: {} and {}", a.str(), b.str());
  int64_t m = attrs.transpose_a ? a.shape[r - 1] : a.shape[r - 2];
  int64_t ka = attrs.transpose_a ? a.shape[r - 2] : a.shape[r - 1];
  int64_t kb = attrs.transpose_b ? b.shape[r - 1] : b.shape[r - 2];
  int64_t n = attrs.transpose_b ? b.shape[r - 2] : b.shape[r - 1];
  if (ka != kb)
    fail(op, "contraction dimensions differ: {}{} and {}{}", a.str(),
         attrs.transpose_a ? " (transposed)" : "", b.str(), attrs.transpose_b ? " (transposed)" : "");
  Shape out(a.shape.begin(), a.shape.end() - 2);
  out.push_back(m);
  out.push_back(n);
  return {a.dtype, out};
}

void check_labels(Op op, const TensorType& labels) {
  if (!is_int(labels.dtype)) fail(op, "labels must be i32 or i64, got {}", labels.str());
}

// gather's result: x.shape[:axis] + idx.shape + x.shape[axis+1:], x's dtype.
TensorType gathered(Op op, const TensorType& x, const TensorType& idx, int64_t axis) {
  if (!is_int(idx.dtype)) fail(op, "indices must be i32 or i64, got {}", idx.str());
  Shape s(x.shape.begin(), x.shape.begin() + axis);
  s.insert(s.end(), idx.shape.begin(), idx.shape.end());
  s.insert(s.end(), x.shape.begin() + axis + 1, x.shape.end());
  checked_numel(op, s, "the result " + ints_str(s));
  return {x.dtype, s};
}

// The Axis family (argmax, argmin, cumsum, gather, scatter_add): operand 0
// is the tensor walked along `axis`.
TensorType infer_along_axis(Op op, std::span<const TensorType> ts, Attrs& attrs) {
  const TensorType& x = ts[0];
  check_dtype(op, x);
  int64_t a = attrs.axis = normalize_axis(op, attrs.axis, x.rank(), x);
  if (op == Op::ArgMax || op == Op::ArgMin) {
    if (x.shape[a] == 0) fail(op, "cannot take the {} over empty axis {} of {}", op_name(op), a, x.str());
    Shape s = x.shape;
    if (attrs.keepdims) s[a] = 1;
    else s.erase(s.begin() + a);
    return {DType::i64, s};
  }
  if (op == Op::CumSum) return x;
  TensorType g = gathered(op, x, ts[1], a);
  if (op == Op::Gather) return g;
  const TensorType& updates = ts[2];
  if (updates.dtype != x.dtype) fail(op, "operand dtypes differ: {}, {}", x.str(), updates.str());
  if (updates.shape != g.shape)
    fail(op, "updates must be {} (base {} gathered by indices {} on axis {}), got {}", g.str(), x.str(),
         ts[1].str(), a, updates.str());
  return x;
}

// ---- Convolution and pooling over NCHW images ----

void check_ints(Op op, const char* what, const std::vector<int64_t>& v, size_t n, int64_t least) {
  bool ok = v.size() == n;
  for (int64_t e : v) ok = ok && e >= least;
  if (!ok) fail(op, "{} must be {} integers, each at least {}, got {}", what, n, least, ints_str(v));
}

void check_image(Op op, const char* what, const TensorType& t, const char* layout) {
  if (t.rank() != 4) fail(op, "{} must be 4-D {}, got {}", what, layout, t.str());
}

// The result's height and width: floor((size + pads - dilation * (k - 1) - 1) / stride) + 1
// per axis; the dilated window must fit in the padded input.
std::pair<int64_t, int64_t> window_out(Op op, const TensorType& x, int64_t kh, int64_t kw, const Attrs& a,
                                       int64_t dh, int64_t dw) {
  int64_t h = x.shape[2] + a.padding[0] + a.padding[2], w = x.shape[3] + a.padding[1] + a.padding[3];
  int64_t eh = dh * (kh - 1) + 1, ew = dw * (kw - 1) + 1;
  if (eh > h || ew > w)
    fail(op, "the {}window {}x{} is larger than the padded input {}x{} of {}", dh * dw > 1 ? "dilated " : "", eh,
         ew, h, w, x.str());
  return {(h - eh) / a.stride[0] + 1, (w - ew) / a.stride[1] + 1};
}

// conv2d's result shape [N, O, Ho, Wo] for x [N, C, H, W] and w [O, C/groups, kh, kw].
Shape conv_result(Op op, const TensorType& x, const TensorType& w, const Attrs& a) {
  check_image(op, "x", x, "[N,C,H,W]");
  check_image(op, "weights", w, "[O,C/groups,kh,kw]");
  check_ints(op, "stride", a.stride, 2, 1);
  check_ints(op, "padding", a.padding, 4, 0);
  check_ints(op, "dilation", a.dilation, 2, 1);
  if (a.groups < 1) fail(op, "groups must be at least 1, got {}", a.groups);
  int64_t c = x.shape[1], o = w.shape[0];
  if (c % a.groups != 0) fail(op, "the {} channels of x {} are not divisible by groups = {}", c, x.str(), a.groups);
  if (o % a.groups != 0)
    fail(op, "the {} output channels of weights {} are not divisible by groups = {}", o, w.str(), a.groups);
  if (w.shape[1] != c / a.groups)
    fail(op, "weights {} take {} channels per group, but x {} has {} (groups = {})", w.str(), w.shape[1], x.str(),
         c / a.groups, a.groups);
  auto [ho, wo] = window_out(op, x, w.shape[2], w.shape[3], a, a.dilation[0], a.dilation[1]);
  return {x.shape[0], o, ho, wo};
}

TensorType infer_pool(Op op, const TensorType& x, Attrs& a) {
  check_image(op, "x", x, "[N,C,H,W]");
  check_ints(op, "window", a.window, 2, 1);
  check_ints(op, "stride", a.stride, 2, 1);
  check_ints(op, "padding", a.padding, 4, 0);
  for (int i = 0; i < 4; ++i)
    if (2 * a.padding[i] > a.window[i % 2])
      fail(op, "padding {} is more than half the {}x{} window", ints_str(a.padding), a.window[0], a.window[1]);
  auto [ho, wo] = window_out(op, x, a.window[0], a.window[1], a, 1, 1);
  return {op == Op::MaxPool2DArgmax ? DType::i64 : x.dtype, {x.shape[0], x.shape[1], ho, wo}};
}

// conv2d, its two transposes (given the shape of the x or w they stand for:
// the operand they take must be what conv2d would give), and pooling.
TensorType infer_conv(Op op, std::span<const TensorType> ts, Attrs& a) {
  check_dtype(op, ts[0]);
  if (op == Op::MaxPool2D || op == Op::MaxPool2DArgmax || op == Op::AvgPool2D) return infer_pool(op, ts[0], a);
  check_same_dtype(op, ts);
  if (op == Op::Conv2D) return {ts[0].dtype, conv_result(op, ts[0], ts[1], a)};
  check_ints(op, "shape", a.shape, 4, 0);
  TensorType given{ts[0].dtype, a.shape};
  bool input = op == Op::Conv2DInputGrad;
  const TensorType& g = ts[input ? 0 : 1];
  Shape y = input ? conv_result(op, given, ts[1], a) : conv_result(op, ts[0], given, a);
  if (y != g.shape)
    fail(op, "g is {}, but conv2d of x {} by weights {} gives {}", g.str(), (input ? given : ts[0]).str(),
         (input ? ts[1] : given).str(), TensorType{g.dtype, y}.str());
  return given;
}

// One case per layout op of ops.def and no `default:` (ir/op.h).
TensorType infer_layout(Op op, std::span<const TensorType> ts, Attrs& attrs) {
  switch (op) {
    case Op::Reshape: return infer_reshape(op, ts[0], attrs);
    case Op::Transpose: return infer_transpose(op, ts[0], attrs);
    case Op::BroadcastTo: return infer_broadcast_to(op, ts[0], attrs);
    case Op::Slice: return infer_slice(op, ts[0], attrs);
    case Op::Concat: return infer_concat(op, ts, attrs);
#define NABLA_OP(Enum, name, arity, Kind, flags, attrs) NABLA_CASE_UNLESS_KIND(Kind, Layout, Enum)
#include "nabla/ir/ops.def"
      break;
  }
  throw InternalError(std::string(op_name(op)) + ": no typing rule");
}

// one_hot, cross_entropy, and the ops along an axis (softmax, ...).
TensorType infer_neural(Op op, std::span<const TensorType> ts, Attrs& attrs) {
  if (op == Op::OneHot) {
    check_labels(op, ts[0]);
    if (attrs.depth < 1) fail(op, "depth must be at least 1, got {}", attrs.depth);
    Shape s = ts[0].shape;
    s.push_back(attrs.depth);
    return {attrs.dtype, s};
  }
  if (op == Op::CrossEntropy) {
    const TensorType &logits = ts[0], &labels = ts[1];
    if (!is_float(logits.dtype) || logits.rank() != 2)
      fail(op, "logits must be a float matrix [N,C], got {}", logits.str());
    check_labels(op, labels);
    if (labels.rank() != 1 || labels.shape[0] != logits.shape[0])
      fail(op, "labels must have shape [{}] to match logits {}, got {}", logits.shape[0],
           logits.str(), labels.str());
    if (logits.shape[1] == 0) fail(op, "logits {} have no classes", logits.str());
    return {logits.dtype, {}};
  }
  check_dtype(op, ts[0]);
  attrs.axis = normalize_axis(op, attrs.axis, ts[0].rank(), ts[0]);
  return ts[0];
}

TensorType infer(Op op, std::span<const TensorType> ts, Attrs& attrs) {
  int arity = op_arity(op);
  if (arity >= 0 && static_cast<int>(ts.size()) != arity)
    fail(op, "expected {} operand{}, got {}", arity, arity == 1 ? "" : "s", ts.size());
  switch (op_kind(op)) {
    case OpKind::Leaf:
      if (op == Op::Input) fail(op, "inputs are created with Function::input");
      if (!attrs.value.defined()) fail(op, "missing value");
      return type_of(attrs.value);
    case OpKind::Unary:
      check_dtype(op, ts[0]);
      return ts[0];
    case OpKind::Binary:
    case OpKind::Compare: {
      check_same_dtype(op, ts);
      check_dtype(op, ts[0]);
      Shape s = broadcast(op, ts[0].shape, ts[1].shape, ts);
      return {op_kind(op) == OpKind::Compare ? DType::bool_ : ts[0].dtype, std::move(s)};
    }
    case OpKind::Select: {
      if (ts[0].dtype != DType::bool_) fail(op, "condition must be bool, got {}", types_str(ts));
      check_same_dtype(op, ts.subspan(1));
      Shape s = broadcast(op, broadcast(op, ts[0].shape, ts[1].shape, ts), ts[2].shape, ts);
      return {ts[1].dtype, std::move(s)};
    }
    case OpKind::Reduce:
      check_dtype(op, ts[0]);
      return infer_reduce(op, ts[0], attrs);
    case OpKind::Layout:
      return infer_layout(op, ts, attrs);
    case OpKind::Contract:
      check_same_dtype(op, ts);
      check_dtype(op, ts[0]);
      return infer_matmul(op, ts[0], ts[1], attrs);
    case OpKind::Neural:
      return infer_neural(op, ts, attrs);
    case OpKind::Convert:
      return {attrs.dtype, ts[0].shape};
    case OpKind::Axis:
      return infer_along_axis(op, ts, attrs);
    case OpKind::Conv:
      return infer_conv(op, ts, attrs);
    case OpKind::Region:
      fail(op, "a fused region is built with make_fused (ir/fused.h), which checks its body");
    case OpKind::Loop:
      fail(op, "a loop is built with make_loop, scan or while_loop (ir/loop.h), which check its bodies");
    case OpKind::Collective:
      check_dtype(op, ts[0]);
      if (attrs.op == Reduction::mean && !is_float(ts[0].dtype))
        fail(op, "op = mean needs a float operand (f32 or f64), got {}", ts[0].str());
      return ts[0];
    case OpKind::Deriv:
      if (!is_float(ts[0].dtype) || ts[0].rank() != 0)
        fail(op, "the differentiated value must be a float scalar, got {}", ts[0].str());
      return ts[1];
  }
  fail(op, "unknown op");
}

}  // namespace

TensorType infer_type(Op op, std::span<const TensorType> operands, Attrs& attrs) {
  // Keep only the op's own attributes, so that equal ops have equal Attrs.
  uint32_t mask = op_attr_mask(op);
  Attrs clean;
#define NABLA_ATTR(name, Kind) \
  if (mask & attr::name) clean.name = std::move(attrs.name);
#include "nabla/ir/attrs.def"
  attrs = std::move(clean);
  return infer(op, operands, attrs);
}

}  // namespace nabla
