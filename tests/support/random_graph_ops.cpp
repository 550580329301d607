// The generator's plain steps: one op of ir/ops.def on suitable pool values.
#include <algorithm>

#include "nabla/ir/loop.h"
#include "tests/support/random_graph_impl.h"

namespace nabla::test {

void Generator::emit_op(Op op) {
  switch (op_kind(op)) {
    case OpKind::Leaf: {
      Shape s = random_shape();
      new_constant(random_dtype(), s);
      return;
    }
    case OpKind::Unary: emit_unary(op); return;
    case OpKind::Binary: case OpKind::Compare: emit_binary(op); return;
    case OpKind::Select: emit_select(); return;
    case OpKind::Reduce: emit_reduce(op); return;
    case OpKind::Layout:
      if (op == Op::Concat) emit_concat();
      else emit_layout(op);
      return;
    case OpKind::Contract: emit_matmul(); return;
    case OpKind::Neural: emit_neural(op); return;
    case OpKind::Convert: {
      DType t = random_dtype();
      keep(cast(any_value(), t));
      return;
    }
    case OpKind::Axis: emit_axis(op); return;
    case OpKind::Conv: emit_conv(op); return;
    case OpKind::Loop: emit_loop(op); return;
    case OpKind::Deriv: case OpKind::Region: return;
    case OpKind::Collective: emit_collective(); return;
  }
}

// A loop (ir/loop.h) with a random body: c' = c / 2 + tanh(sum(v)) / 10 for
// a random value v of the body's own random ops (stacked as a scan's output).
// scan: 0 to 50 steps, either way, sometimes over xs; while: a counter runs
// (i32) up to a bound the data decide, min(8 |sum(c)|, 50) cast to i32, so
// 0 to 50 steps (max_trip_count 50).
void Generator::emit_loop(Op op) {
  if (in_body_) return emit_unary(Op::Tanh);
  Node* c = float_value();
  auto step = [&](Value c, Value v) {
    return add(mul(c, 0.5), mul(cast(tanh(sum(v)), c->dtype()), 0.1));
  };
  if (op == Op::Scan) {
    int64_t length = uniform(0, 50);
    std::vector<Value> xs;
    if (length > 0 && chance(0.6)) {  // (no zero-size values in the pool)
      Shape s = c->shape();
      s.insert(s.begin(), length);
      xs.push_back(value_of(c->dtype(), s));
    }
    bool reverse = chance(0.5);
    Value invariant = partner(c);
    ScanResult r = scan([&](auto c, auto x, auto w) -> ScanBodyResult {
      std::vector<Value> seeds{c[0], w[0]};
      seeds.insert(seeds.end(), x.begin(), x.end());
      Value v = body_value(seeds);
      return {{step(c[0], v)}, {v}};
    }, {c}, xs, {invariant}, {.length = length, .reverse = reverse});
    keep(r.carry[0]);
    if (length > 0) keep(r.ys[0]);
    return;
  }
  // Integers: a perturbed float counter could run a 51st step.
  Value t0 = constant(f, 0.0, DType::i32);
  Value bound = keep(cast(minimum(mul(abs(sum(c)), 8.0), 50.0), DType::i32));
  std::vector<Value> r = while_loop(
      [](auto c, auto w) { return less(c[1], w[1]); },
      [&](auto c, auto w) {
        std::vector<Value> seeds{c[0], w[0]};
        return std::vector<Value>{step(c[0], body_value(seeds)), add(c[1], 1.0)};
      },
      {c, t0}, {partner(c), bound}, 50);
  keep(r[0]);
  if (chance(0.5)) keep(r[1]);  // the trip count
}

Value Generator::body_value(std::span<const Value> seeds) {
  RandomGraphOptions o = options_;
  o.max_inputs = 0;
  Generator g(static_cast<uint64_t>(uniform(0, int64_t{1} << 40)), o, *seeds[0]->function());
  g.in_body_ = true;
  for (Value s : seeds) g.keep(s);
  std::vector<Op> ops;
  for (int i = 0; i < kNumOps; ++i) {
    Op op = static_cast<Op>(i);
    if (op != Op::Input && op != Op::Grad && op != Op::Fused && !is_collective(op) && !is_loop(op)) ops.push_back(op);
  }
  for (int i = 0; i < 4; ++i) g.emit_op(g.pick(ops));
  return g.float_value();
}

Node* Generator::emit_collective() {  // one process: the identity (mean divides by 1)
  Reduction r = pick(std::vector<Reduction>{Reduction::sum, Reduction::mean, Reduction::max, Reduction::min});
  return keep(all_reduce(r == Reduction::mean ? float_value() : numeric_value(), r));
}

void Generator::emit_unary(Op op) {
  uint32_t flags = op_flags(op);
  Node* x = (flags & kFloatOnly) ? float_value()
            : (flags & kAnyDType) ? any_value()
                                  : numeric_value();
  keep(f.make(op, {x}));
}

void Generator::emit_binary(Op op) {
  uint32_t flags = op_flags(op);
  Node* a = (flags & kFloatOnly) ? float_value()
            : (flags & kAnyDType) ? any_value()
                                  : numeric_value();
  Node* b = partner(a);
  if (chance(0.5)) std::swap(a, b);
  keep(f.make(op, {a, b}));
}

void Generator::emit_select() {
  Node* a = any_value();
  Node* b = partner(a);
  Shape cs = partner_shape(a->shape());
  Node* cond = find([&](const Node* m) { return m->dtype() == DType::bool_ && m->shape() == cs; });
  if (!cond) {
    Node* v = value_of(float_, cs);
    cond = keep(greater(v, 0.0));
  }
  if (chance(0.5)) std::swap(a, b);
  keep(select(cond, a, b));
}

void Generator::emit_reduce(Op op) {
  Node* x = op == Op::Mean ? float_value() : numeric_value();
  int64_t r = static_cast<int64_t>(x->shape().size());
  Axes axes;
  if (chance(0.8)) {
    std::vector<int64_t> chosen;
    for (int64_t i = 0; i < r; ++i)
      if (chance(0.5)) chosen.push_back(chance(0.3) ? i - r : i);  // some negative
    std::shuffle(chosen.begin(), chosen.end(), rng_);
    axes = chosen;
  }
  keep(f.make(op, {x}, [&] {
    Attrs a;
    if (axes) a.axes = *axes;
    else for (int64_t i = 0; i < r; ++i) a.axes.push_back(i);
    a.keepdims = chance(0.5);
    return a;
  }()));
}

void Generator::emit_layout(Op op) {
  Node* x = any_value();
  const Shape& s = x->shape();
  switch (op) {
    case Op::Reshape: {
      Shape t = reshaped(s);
      if (!t.empty() && chance(0.2)) t[static_cast<size_t>(uniform(0, t.size() - 1))] = -1;
      keep(reshape(x, t));
      return;
    }
    case Op::Transpose:
      keep(transpose(x, chance(0.3) ? std::vector<int64_t>{} : random_perm(s.size())));
      return;
    case Op::BroadcastTo: keep(broadcast_to(x, widened_shape(s))); return;
    default: {  // slice
      x = ranked_value(x, 1);
      std::vector<int64_t> start, stop, step;
      for (int64_t d : x->shape()) {
        int64_t b = uniform(0, d - 1);
        start.push_back(b);
        stop.push_back(uniform(b + 1, d));
        step.push_back(uniform(1, 2));
      }
      keep(slice(x, start, stop, step));
      return;
    }
  }
}

void Generator::emit_concat() {
  Node* x = ranked_value(any_value(), 1);
  int64_t r = static_cast<int64_t>(x->shape().size());
  int64_t axis = uniform(0, r - 1);
  auto fits = [&](const Node* m) {
    if (m->dtype() != x->dtype() || static_cast<int64_t>(m->shape().size()) != r) return false;
    for (int64_t i = 0; i < r; ++i)
      if (i != axis && m->shape()[i] != x->shape()[i]) return false;
    return true;
  };
  std::vector<Value> parts{x};
  for (int64_t k = uniform(0, 2); k > 0; --k) {
    Node* y = find(fits);
    parts.push_back(y ? y : x);
  }
  std::shuffle(parts.begin(), parts.end(), rng_);
  keep(concat(parts, chance(0.3) ? axis - r : axis));
}

void Generator::emit_matmul() {
  Node* a = numeric_value();
  if (a->shape().size() < 2 || a->shape().size() > 3) {
    Shape s = a->shape().size() < 2 ? Shape{1, num_elements(a->shape())} : reshaped(a->shape());
    while (s.size() < 2) s.insert(s.begin(), 1);
    if (s.size() > 3) s = {num_elements(s) / s.back(), 1, s.back()};
    a = keep(reshape(a, s));
  }
  const Shape& as = a->shape();
  size_t r = as.size();
  bool ta = chance(0.3), tb = chance(0.3);
  int64_t k = ta ? as[r - 2] : as[r - 1];
  int64_t n = uniform(1, options_.max_dim);
  Shape bs(as.begin(), as.end() - 2);
  bs.push_back(tb ? n : k);
  bs.push_back(tb ? k : n);
  keep(matmul(a, value_of(a->dtype(), bs), ta, tb));
}

void Generator::emit_neural(Op op) {
  switch (op) {
    case Op::Softmax:
    case Op::LogSoftmax: {
      Node* x = ranked_value(float_value(), 1);
      int64_t r = static_cast<int64_t>(x->shape().size());
      keep(f.make(op, {x}, [&] {
        Attrs a;
        a.axis = uniform(-r, r - 1);
        return a;
      }()));
      return;
    }
    case Op::OneHot: {
      int64_t depth = uniform(1, options_.max_dim);
      Shape s = random_shape();
      if (s.size() > 2) s.resize(2);
      DType t = random_dtype();
      keep(one_hot(int_in(s, 0, depth - 1), depth, t));
      return;
    }
    default: {  // cross_entropy
      Node* x = float_value();
      if (x->shape().size() != 2) {
        int64_t n = num_elements(x->shape());
        x = keep(reshape(x, chance(0.5) ? Shape{1, n} : Shape{n, 1}));
      }
      keep(cross_entropy(x, int_in({x->shape()[0]}, 0, x->shape()[1] - 1)));
      return;
    }
  }
}

}  // namespace nabla::test

namespace nabla::test {

void Generator::emit_axis(Op op) {
  Node* x = ranked_value(op == Op::Gather ? any_value() : numeric_value(), 1);
  int64_t r = static_cast<int64_t>(x->shape().size());
  int64_t axis = uniform(-r, r - 1);
  int64_t n = x->shape()[static_cast<size_t>(axis < 0 ? axis + r : axis)];
  Shape is = random_shape();
  if (is.size() > 2) is.resize(2);
  switch (op) {
    case Op::ArgMax:
    case Op::ArgMin: {
      Attrs a;
      a.axis = axis;
      a.keepdims = chance(0.5);
      keep(f.make(op, {x}, a));
      return;
    }
    case Op::CumSum: {
      bool exclusive = chance(0.5), reverse = chance(0.5);
      keep(cumsum(x, axis, reverse, exclusive));
      return;
    }
    case Op::Gather: keep(gather(x, int_in(is, -n, n - 1), axis)); return;
    default: {  // scatter_add
      Node* idx = int_in(is, -n, n - 1);
      Shape us(x->shape().begin(), x->shape().begin() + (axis < 0 ? axis + r : axis));
      us.insert(us.end(), is.begin(), is.end());
      us.insert(us.end(), x->shape().begin() + (axis < 0 ? axis + r : axis) + 1, x->shape().end());
      keep(scatter_add(x, idx, value_of(x->dtype(), us), axis));
      return;
    }
  }
}

}  // namespace nabla::test

namespace nabla::test {

// A small image and a window that fits it: stride 1 or 2, some padding, for
// convolutions a dilation and groups now and then.
void Generator::emit_conv(Op op) {
  int64_t groups = chance(0.3) ? 2 : 1, h = uniform(2, 5), w = uniform(2, 5);
  Shape xs{uniform(1, 2), groups * uniform(1, 2), h, w};
  std::vector<int64_t> window{uniform(1, std::min<int64_t>(h, 3)), uniform(1, std::min<int64_t>(w, 3))};
  std::vector<int64_t> stride{uniform(1, 2), uniform(1, 2)}, padding(4);
  for (int i = 0; i < 4; ++i) padding[i] = uniform(0, window[i % 2] / 2);
  if (op == Op::MaxPool2D || op == Op::MaxPool2DArgmax || op == Op::AvgPool2D) {
    DType t = op == Op::AvgPool2D || chance(0.7) ? float_ : DType::i32;
    keep(f.make(op, {value_of(t, xs)}, [&] {
      Attrs a;
      a.window = window, a.stride = stride, a.padding = padding;
      return a;
    }()));
    return;
  }
  Conv2DOptions o{stride, padding, {1, 1}, groups};
  int64_t ph = h + padding[0] + padding[2], pw = w + padding[1] + padding[3];
  if (chance(0.3) && 2 * window[0] - 1 <= ph && 2 * window[1] - 1 <= pw) o.dilation = {2, 2};
  Shape ws{groups * uniform(1, 2), xs[1] / groups, window[0], window[1]};
  Shape ys{xs[0], ws[0], (ph - o.dilation[0] * (window[0] - 1) - 1) / stride[0] + 1,
           (pw - o.dilation[1] * (window[1] - 1) - 1) / stride[1] + 1};
  Node* x = value_of(float_, xs);
  Node* wt = value_of(float_, ws);
  if (op == Op::Conv2D) keep(conv2d(x, wt, o));
  else if (op == Op::Conv2DInputGrad) keep(conv2d_input_grad(value_of(float_, ys), wt, xs, o));
  else keep(conv2d_weight_grad(x, value_of(float_, ys), ws, o));
}

}  // namespace nabla::test
