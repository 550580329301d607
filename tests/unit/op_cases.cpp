// The shared op cases (tests/unit/op_cases.h).
#include "tests/unit/op_cases.h"

#include <cmath>

#include "nabla/ir/fused.h"

namespace nabla::test {
namespace {

Value in(Function& f, const std::string& name, TensorType t) { return f.input(name, std::move(t)); }

// A unary op on f32[2,3].
GradCase unary(std::string name, Value (*op)(Value), bool positive = false) {
  return {name, [op, positive](Function& f) { return op(in(f, positive ? "pos" : "x", f32({2, 3}))); }};
}

// A binary op on operands of shapes a and b (broadcast).
GradCase binary(std::string name, Value (*op)(Value, Value), Shape a, Shape b,
                bool positive_a = false, bool positive_b = false) {
  return {name, [=](Function& f) {
            Value x = in(f, positive_a ? "pos_a" : "a", f32(a));
            return op(x, in(f, positive_b ? "pos_b" : "b", f32(b)));
          }};
}

GradCase reduction(std::string name, Value (*op)(Value, Axes, bool), Axes axes, bool keepdims) {
  return {name, [=](Function& f) { return op(in(f, "x", f32({2, 3, 2})), axes, keepdims); }};
}

GradCase mm(std::string name, Shape a, Shape b, bool ta, bool tb) {
  return {name, [=](Function& f) {
            Value x = in(f, "a", f32(a));
            return matmul(x, in(f, "b", f32(b)), ta, tb);
          }};
}

}  // namespace

ScanResult elman_rnn(Value h0, Value xs, Value w, bool reverse) {
  return scan([](auto c, auto x, auto w) -> ScanBodyResult {
    Value h = tanh(add(matmul(c[0], w[0]), x[0]));
    return {{h}, {mul(h, 0.5)}};
  }, {h0}, {xs}, {w}, {.reverse = reverse});
}

Value newton_sqrt(Value a, int64_t max_trip_count) {
  double tol = a->dtype() == DType::f32 ? 1e-6 : 1e-13;
  return while_loop([tol](auto c, auto w) { return greater(max(sub(abs(sub(mul(c[0], c[0]), w[0])), mul(w[0], tol))), 0.0); },
                    [](auto c, auto w) { return std::vector<Value>{mul(add(c[0], div(w[0], c[0])), 0.5)}; },
                    {a}, {a}, max_trip_count)[0];
}

namespace {

// Binary ops over broadcasting shapes, and select.
void add_elementwise_cases(std::vector<GradCase>& c) {
  struct Bin { const char* name; Value (*op)(Value, Value); bool pa, pb; };
  const Bin bins[] = {{"add", add, false, false}, {"sub", sub, false, false},
                      {"mul", mul, false, false}, {"div", div, false, true},
                      {"pow", pow, true, false},  {"maximum", maximum, false, false},
                      {"minimum", minimum, false, false}};
  const std::pair<Shape, Shape> shapes[] = {
      {{2, 3}, {2, 3}}, {{2, 3}, {3}}, {{2, 1}, {1, 3}}, {{}, {2, 3}}, {{4, 1, 3}, {2, 1}}};
  for (const Bin& b : bins)
    for (const auto& [sa, sb] : shapes)
      c.push_back(binary(std::string(b.name) + "_" + shape_to_string(sa) + "_" + shape_to_string(sb),
                         b.op, sa, sb, b.pa, b.pb));
  c.push_back({"select_bool_input", [](Function& f) {
                 Value cond = in(f, "c", boolean({2, 3})), a = in(f, "a", f32({2, 3}));
                 return select(cond, a, in(f, "b", f32({3})));
               }});
  c.push_back({"select_compare", [](Function& f) {
                 Value a = in(f, "a", f32({2, 3})), b = in(f, "b", f32({2, 1}));
                 return select(greater(a, b), mul(a, b), sin(b));
               }});
}

// Reductions with and without keepdims; reshape, transpose, broadcast, slice, concat.
void add_reduction_and_layout_cases(std::vector<GradCase>& c) {
  for (bool keep : {false, true}) {
    std::string k = keep ? "_keepdims" : "";
    for (auto [op, name] : {std::pair{&sum, "sum"}, {&mean, "mean"}, {&max, "max"}, {&min, "min"}}) {
      c.push_back(reduction(std::string(name) + "_all" + k, op, std::nullopt, keep));
      c.push_back(reduction(std::string(name) + "_axis1" + k, op, std::vector<int64_t>{1}, keep));
      c.push_back(reduction(std::string(name) + "_axes02" + k, op, std::vector<int64_t>{0, 2}, keep));
    }
  }
  c.push_back({"reshape", [](Function& f) { return reshape(in(f, "x", f32({2, 3})), {3, 1, 2}); }});
  c.push_back({"transpose", [](Function& f) { return transpose(in(f, "x", f32({2, 3, 4})), {1, 2, 0}); }});
  c.push_back({"broadcast_to_rank", [](Function& f) { return broadcast_to(in(f, "x", f32({3})), {2, 3}); }});
  c.push_back({"broadcast_to_ones", [](Function& f) { return broadcast_to(in(f, "x", f32({2, 1, 1})), {3, 2, 4, 2}); }});
  c.push_back({"slice", [](Function& f) { return slice(in(f, "x", f32({4, 5})), {1, 0}, {3, 4}); }});
  c.push_back({"slice_step", [](Function& f) { return slice(in(f, "x", f32({3, 7})), {0, 1}, {3, 7}, {2, 3}); }});
  c.push_back({"slice_step_exact", [](Function& f) { return slice(in(f, "x", f32({6})), {0}, {6}, {2}); }});
  c.push_back({"concat", [](Function& f) {
                 Value xs[] = {in(f, "a", f32({2, 1})), in(f, "b", f32({2, 3})), in(f, "c", f32({2, 2}))};
                 return concat(xs, 1);
               }});
  c.push_back({"concat_same_operand", [](Function& f) {
                 Value a = in(f, "a", f32({2, 2}));
                 Value xs[] = {a, exp(a), a};
                 return concat(xs, 0);
               }});
}

// matmul in every transposition, softmax, cross_entropy, cast, one_hot.
void add_contraction_and_neural_cases(std::vector<GradCase>& c) {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      std::string t = std::string(ta ? "_ta" : "") + (tb ? "_tb" : "");
      c.push_back(mm("matmul" + t, ta ? Shape{3, 2} : Shape{2, 3}, tb ? Shape{4, 3} : Shape{3, 4}, ta, tb));
      c.push_back(mm("matmul_batched" + t, ta ? Shape{2, 3, 2} : Shape{2, 2, 3},
                     tb ? Shape{2, 4, 3} : Shape{2, 3, 4}, ta, tb));
    }
  c.push_back({"matmul_square_self", [](Function& f) { Value a = in(f, "a", f32({3, 3})); return matmul(a, a, false, true); }});
  c.push_back({"softmax_axis1", [](Function& f) { return softmax(in(f, "x", f32({2, 4})), 1); }});
  c.push_back({"softmax_axis0", [](Function& f) { return softmax(in(f, "x", f32({3, 2})), 0); }});
  c.push_back({"log_softmax_axis1", [](Function& f) { return log_softmax(in(f, "x", f32({2, 4})), 1); }});
  c.push_back({"log_softmax_axis0", [](Function& f) { return log_softmax(in(f, "x", f32({3, 2})), 0); }});
  c.push_back({"cross_entropy", [](Function& f) {
                 Value logits = in(f, "logits", f32({4, 3}));
                 return cross_entropy(logits, in(f, "labels", i32({4})));
               }});
  c.push_back({"cross_entropy_i64", [](Function& f) {
                 Value logits = in(f, "logits", f64({3, 5}));
                 return cross_entropy(logits, in(f, "labels", i64({3})));
               }});
  c.push_back({"cast_f32_f64", [](Function& f) { return cast(in(f, "x", f32({2, 3})), DType::f64); }});
  c.push_back({"cast_f64_f32", [](Function& f) { return cast(in(f, "x", f64({2, 3})), DType::f32); }});
  c.push_back({"one_hot_times_x", [](Function& f) {
                 Value oh = one_hot(in(f, "labels", i32({4})), 3);  // labels first
                 return mul(oh, in(f, "x", f32({4, 3})));
               }});
}

// all_reduce, cumsum, gather and scatter_add.
void add_collective_and_index_cases(std::vector<GradCase>& c) {
  // One process: all_reduce is the identity, and so must its rules be.
  for (Reduction r : {Reduction::sum, Reduction::mean, Reduction::max, Reduction::min})
    c.push_back({"all_reduce_" + std::string(reduction_name(r)),
                 [r](Function& f) { return all_reduce(in(f, "x", f32({2, 3})), r); }});
  for (bool rev : {false, true})
    for (bool excl : {false, true})
      c.push_back({std::string("cumsum") + (rev ? "_reverse" : "") + (excl ? "_exclusive" : ""),
                   [=](Function& f) { return cumsum(in(f, "x", f32({2, 4})), 1, rev, excl); }});
  c.push_back({"cumsum_axis0_f64", [](Function& f) { return cumsum(in(f, "x", f64({3, 2})), 0); }});
  // Repeated and negative indices: their gradients add up.
  auto idx = [](Function& f, Shape s, std::vector<double> v) {
    return constant(f, Tensor::from_doubles(DType::i32, std::move(s), v));
  };
  c.push_back({"gather_axis0", [=](Function& f) {
                 return gather(in(f, "x", f32({4, 3})), idx(f, {2, 2}, {0, 2, -1, 0}), 0);
               }});
  c.push_back({"gather_axis1_scalar_index", [=](Function& f) {
                 return gather(in(f, "x", f32({2, 3, 2})), idx(f, {}, {-2}), 1);
               }});
  c.push_back({"gather_indices_input", [](Function& f) {
                 Value x = in(f, "x", f32({5, 2}));
                 return gather(x, in(f, "i", i64({3})), 0);
               }});
  c.push_back({"gather_by_argmax", [](Function& f) {
                 Value x = in(f, "x", f32({3, 4}));
                 return gather(reshape(x, {12}), argmax(x, 1), 0);
               }});
  c.push_back({"scatter_add_axis0", [=](Function& f) {
                 Value base = in(f, "base", f32({4, 3}));
                 return scatter_add(base, idx(f, {3}, {1, -3, 3}), in(f, "u", f32({3, 3})), 0);
               }});
  c.push_back({"scatter_add_axis1_f64", [=](Function& f) {
                 Value base = in(f, "base", f64({2, 3}));
                 return scatter_add(base, idx(f, {2, 2}, {0, 0, 2, -1}), in(f, "u", f64({2, 2, 2})), 1);
               }});
}

// Convolutions, their transposes, pooling, and the loops.
void add_conv_and_loop_cases(std::vector<GradCase>& c) {
  auto conv_case = [&](std::string name, Shape xs, Shape ws, Conv2DOptions o) {
    c.push_back({name, [=](Function& f) { return conv2d(in(f, "x", f32(xs)), in(f, "w", f32(ws)), o); }});
  };
  conv_case("conv2d", {2, 3, 5, 5}, {4, 3, 3, 3}, {});
  conv_case("conv2d_stride_padding_dilation", {1, 2, 7, 6}, {2, 2, 2, 3},
            {.stride = {2, 1}, .padding = {1, 0, 1, 2}, .dilation = {2, 1}});
  conv_case("conv2d_groups", {1, 4, 4, 4}, {4, 2, 3, 3}, {.padding = {1, 1, 1, 1}, .groups = 2});
  conv_case("conv2d_depthwise", {1, 3, 4, 4}, {3, 1, 3, 3}, {.padding = {1, 1, 1, 1}, .groups = 3});
  conv_case("conv2d_1x1", {2, 3, 3, 3}, {2, 3, 1, 1}, {.stride = {2, 2}});
  c.push_back({"conv2d_input_grad", [](Function& f) {
                 Value g = in(f, "g", f32({1, 2, 2, 3}));
                 return conv2d_input_grad(g, in(f, "w", f32({2, 3, 2, 2})), {1, 3, 5, 6}, {.stride = {2, 2}});
               }});
  c.push_back({"conv2d_weight_grad", [](Function& f) {
                 Value x = in(f, "x", f32({2, 3, 4, 4}));
                 return conv2d_weight_grad(x, in(f, "g", f32({2, 2, 4, 4})), {2, 3, 3, 3}, {.padding = {1, 1, 1, 1}});
               }});
  for (auto [name, fn] : {std::pair{"max_pool2d", &max_pool2d}, {"avg_pool2d", &avg_pool2d}}) {
    c.push_back({std::string(name), [fn](Function& f) { return fn(in(f, "x", f32({2, 2, 4, 4})), {2, 2}, {.stride = {2, 2}}); }});
    c.push_back({std::string(name) + "_padded", [fn](Function& f) {
                   return fn(in(f, "x", f32({1, 2, 5, 4})), {3, 2}, {.stride = {2, 1}, .padding = {1, 1, 1, 0}});
                 }});
  }
  // Loops: an RNN both ways (the carry and the stacked outputs), and
  // Newton's square root through a while.
  for (bool reverse : {false, true})
    c.push_back({reverse ? "scan_rnn_reverse" : "scan_rnn", [reverse](Function& f) {
      Value h0 = in(f, "h0", f32({2, 3})), xs = in(f, "xs", f32({4, 2, 3})), w = in(f, "w", f32({3, 3}));
      ScanResult r = elman_rnn(h0, xs, w, reverse);
      return add(sum(r.ys[0], std::vector<int64_t>{0}), r.carry[0]);
    }});
  c.push_back({"while_newton_sqrt", [](Function& f) { return newton_sqrt(in(f, "pos", f32({3}))); }});
}

}  // namespace

std::vector<GradCase> grad_cases() {
  std::vector<GradCase> c = {
      unary("neg", neg), unary("abs", abs), unary("sign", sign), unary("exp", exp),
      unary("log", log, true), unary("log1p", log1p, true), unary("sqrt", sqrt, true),
      unary("rsqrt", rsqrt, true), unary("tanh", tanh), unary("sigmoid", sigmoid),
      unary("relu", relu), unary("sin", sin), unary("cos", cos), unary("floor", floor),
      unary("barrier", barrier), unary("erf", erf), unary("stop_gradient", stop_gradient),
  };
  add_elementwise_cases(c);
  add_reduction_and_layout_cases(c);
  add_contraction_and_neural_cases(c);
  add_collective_and_index_cases(c);
  add_conv_and_loop_cases(c);
  return c;
}

namespace {

Tensor tensor(DType dtype, Shape shape, std::vector<double> values) {
  return Tensor::from_doubles(dtype, std::move(shape), values);
}

}  // namespace

namespace {

// The inputs of build_every_op's function.
struct EveryOpInputs {
  Value x, y, b, s, labels, flags, batch, img, filt;
};

// Constants of every dtype, splat and not, with the special float values.
void add_every_constant(Function& f) {
  constant(f, 1.5);
  constant(f, tensor(DType::f32, {2, 2}, {0.25, 0.25, 0.25, 0.25}));
  constant(f, tensor(DType::f32, {5}, {1, -0.0, INFINITY, -INFINITY, NAN}));
  constant(f, tensor(DType::f64, {2}, {0.1, 1e300}));
  constant(f, tensor(DType::f32, {2}, {3.4028234663852886e38, 1.401298464324817e-45}));
  constant(f, tensor(DType::i32, {2, 2}, {1, -2, 2147483647, -2147483648.0}));
  constant(f, tensor(DType::i64, {2}, {-9007199254740993.0, 7}));
  constant(f, tensor(DType::bool_, {3}, {1, 0, 1}));
  constant(f, Tensor(DType::f32, {0, 3}));
  constant(f, Tensor(DType::i64, {}));
}

// Unary, binary and compare ops, select, reductions, cumsum, gather and
// scatter_add; returns the chain of unary then binary ops.
Value add_elementwise_and_reduce(Function& f, const EveryOpInputs& in) {
  const Value &x = in.x, &y = in.y, &b = in.b, &s = in.s, &labels = in.labels, &flags = in.flags,
              &batch = in.batch;
  Value u = x;
  for (auto fn : {neg, abs, sign, exp, log, log1p, sqrt, rsqrt, tanh, sigmoid, relu, sin, cos,
                  floor, erf, stop_gradient, barrier})
    u = fn(u);
  using Binary = Value (*)(Value, Value);
  for (Binary fn : std::initializer_list<Binary>{add, sub, mul, div, pow, maximum, minimum})
    u = fn(u, b);
  Value c = less(x, y);
  for (Binary fn : std::initializer_list<Binary>{less_equal, greater, greater_equal, equal,
                                                 not_equal})
    c = fn(x, b);
  select(c, x, y);
  select(flags, s, y);
  sum(x);
  sum(x, std::vector<int64_t>{-1}, true);
  sum(x, std::vector<int64_t>{}, false);
  mean(x, std::vector<int64_t>{0});
  max(x, std::vector<int64_t>{0, 1}, true);
  min(x, std::vector<int64_t>{1});
  argmax(x, -1);
  argmin(batch, 0, true);
  cumsum(x, 1, true, true);
  cumsum(batch, 0);
  Value rows = gather(x, labels, 0);
  gather(flags, constant(f, Tensor::scalar(DType::i64, -1)), 1);
  scatter_add(x, labels, rows, 0);
  return u;
}

void add_convolutions(Function& f, const EveryOpInputs& in) {
  const Value &img = in.img, &filt = in.filt;
  Conv2DOptions same{.padding = {1, 1, 1, 1}};
  Value conv = conv2d(img, filt, same);
  conv2d(img, f.input("depthwise", f32({2, 1, 2, 2})), {.stride = {2, 1}, .dilation = {1, 2}, .groups = 2});
  conv2d_input_grad(conv, filt, img->shape(), same);
  conv2d_weight_grad(img, conv, filt->shape(), same);
  max_pool2d(img, {2, 2}, {.stride = {2, 2}});
  max_pool2d_argmax(img, {3, 3}, {.padding = {1, 1, 1, 1}});
  avg_pool2d(img, {2, 3}, {.stride = {1, 2}, .padding = {0, 1, 1, 0}});
}

// Layout, contraction, neural, collective and convert ops; returns the loss.
Value add_layout_and_neural(const EveryOpInputs& in) {
  const Value &x = in.x, &y = in.y, &b = in.b, &labels = in.labels, &batch = in.batch;
  reshape(x, {3, -1});
  transpose(x);
  broadcast_to(b, {4, 2, 3});
  slice(x, {0, 1}, {2, 3});
  slice(x, {0, 0}, {2, 3}, {2, 2});
  Value parts[] = {x, y, x};
  concat(parts, -2);
  matmul(x, y, false, true);
  matmul(x, y, true, false);
  matmul(batch, batch, false, true);
  softmax(x, 1);
  log_softmax(x, 0);
  one_hot(labels, 4);
  one_hot(labels, 3, DType::i64);
  all_reduce(x, Reduction::mean);
  all_reduce(labels, Reduction::max);
  Value loss = cross_entropy(x, labels);
  cast(labels, DType::f32);
  cast(x, DType::bool_);
  return loss;
}

// grad_op, a fused region, a fused group and the loops.
void add_grads_regions_and_loops(Function& f, const EveryOpInputs& in, Value loss, Value u) {
  const Value &x = in.x, &s = in.s, &b = in.b;
  grad_op(loss, x);
  grad_op(loss, s);
  grad_op(loss, b);
  grad_op(sum(u), b);
  // A fused region with a constant and a reduction at its root (ir/fused.h).
  auto body = std::make_shared<Function>("fused");
  Value bx = body->input("x0", f32({2, 3}));
  Value bb = body->input("x1", f32({3}));
  Value bt = relu(bx * bb) + constant(*body, 0.5);
  body->output(sum(bt, std::vector<int64_t>{1}));
  make_fused(f, {x, b}, body);
  // A body of two results: a group of two fused nodes (sibling fusion).
  auto pair = std::make_shared<Function>("fused");
  Value px = pair->input("x0", f32({2, 3}));
  Value pm = px * px;
  pair->output(relu(pm));
  pair->output(neg(pm));
  make_fused_group(f, {x}, pair);
  // Loops (ir/loop.h): a reverse scan with xs, ys and an invariant, and a
  // while with two carries.
  Value xs = f.input("xs", f32({4, 2, 3}));
  elman_rnn(x, xs, constant(f, tensor(DType::f32, {3, 3}, {0.5, 0, 0, 0, 0.5, 0, 0, 0, 0.5})), true);
  while_loop([](auto c, auto) { return less(c[1], 3.0); },
             [](auto c, auto w) { return std::vector<Value>{add(mul(c[0], w[0]), sin(c[0])), add(c[1], 1.0)}; },
             {x, s}, {b}, 16);
}

}  // namespace

void build_every_op(Module& m) {
  Function& f = m.function("every_op");
  EveryOpInputs in;
  in.x = f.input("x", f32({2, 3}));
  in.y = f.input("y", f32({2, 3}));
  in.b = f.input("b", f32({3}));
  in.s = f.input("s", f32());
  in.labels = f.input("labels", i32({2}));
  in.flags = f.input("flags", boolean({2, 3}));
  in.batch = f.input("batch", f64({4, 2, 3}));
  in.img = f.input("img", f32({1, 2, 4, 4}));
  in.filt = f.input("filt", f32({2, 2, 3, 3}));

  add_every_constant(f);
  Value u = add_elementwise_and_reduce(f, in);
  add_convolutions(f, in);
  Value loss = add_layout_and_neural(in);
  add_grads_regions_and_loops(f, in, loss, u);
  f.output(loss);
  f.output(u);
}

}  // namespace nabla::test
