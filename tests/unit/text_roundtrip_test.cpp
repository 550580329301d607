// Every op of ir/ops.def built with the C++ API, printed, parsed, printed
// again: the two texts must be identical byte for byte.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

#include "nabla/ir/builder.h"
#include "nabla/ir/fused.h"
#include "nabla/ir/parser.h"
#include "nabla/ir/printer.h"
#include "nabla/ir/verifier.h"

namespace nabla {
namespace {

void expect_round_trip(const Module& m) {
  std::string first = print(m);
  Module parsed = parse(first, "first.nabla");
  verify(parsed);
  std::string second = print(parsed);
  EXPECT_EQ(first, second);
}

Tensor tensor(DType dtype, Shape shape, std::vector<double> values) {
  return Tensor::from_doubles(dtype, std::move(shape), values);
}

void build_every_op(Module& m) {
  Function& f = m.function("every_op");
  Value x = f.input("x", f32({2, 3}));
  Value y = f.input("y", f32({2, 3}));
  Value b = f.input("b", f32({3}));
  Value s = f.input("s", f32());
  Value labels = f.input("labels", i32({2}));
  Value flags = f.input("flags", boolean({2, 3}));
  Value batch = f.input("batch", f64({4, 2, 3}));

  // Constants of every dtype, splat and not, with the special float values.
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
  Value loss = cross_entropy(x, labels);
  cast(labels, DType::f32);
  cast(x, DType::bool_);
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
  f.output(loss);
  f.output(u);
}

TEST(TextRoundTrip, EveryOp) {
  Module m;
  build_every_op(m);
  std::set<Op> seen;
  Function& f = *m.find("every_op");
  for (Node* n : f) seen.insert(n->op());
  for (Node* n : f.inputs()) seen.insert(n->op());
  for (int i = 0; i < kNumOps; ++i)
    EXPECT_TRUE(seen.count(static_cast<Op>(i))) << "no round-trip case for " << op_name(static_cast<Op>(i));
  expect_round_trip(m);
}

TEST(TextRoundTrip, ConstantsKeepTheirBits) {
  Module m;
  build_every_op(m);
  Module parsed = parse(print(m), "x.nabla");
  std::vector<Node*> a = m.find("every_op")->nodes(), b = parsed.find("every_op")->nodes();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i]->op() != Op::Constant) continue;
    const Tensor &ta = a[i]->attrs().value, &tb = b[i]->attrs().value;
    bool has_nan = false;
    for (int64_t k = 0; k < ta.numel(); ++k) has_nan |= std::isnan(ta.get(k));
    if (!has_nan) {
      EXPECT_TRUE(ta.same_as(tb)) << print_node(*a[i]) << " vs " << print_node(*b[i]);
    }
  }
}

TEST(TextRoundTrip, NamesAreKeptAndMadeUnique) {
  Module m;
  Function& f = m.function("names");
  Value x = f.input("x", f32({2}));
  Value a = neg(x);
  a->set_name("h");
  Value b = neg(a);
  b->set_name("h");
  Value c = neg(b);
  c->set_name("h.1");
  Value d = neg(c);
  d->set_name("7");
  Value e = neg(d);
  e->set_name("a b");
  f.output(add(e, x));
  std::string text = print(m);
  EXPECT_EQ(text,
            "func @names(%x: f32[2]) -> (f32[2]) {\n"
            "  %h = neg %x : f32[2]\n"
            "  %h.2 = neg %h : f32[2]\n"
            "  %h.1 = neg %h.2 : f32[2]\n"
            "  %0 = neg %h.1 : f32[2]\n"
            "  %a_b = neg %0 : f32[2]\n"
            "  %1 = add %a_b, %x : f32[2]\n"
            "  return %1\n"
            "}\n");
  expect_round_trip(m);
}

TEST(TextRoundTrip, SeveralFunctionsAndResults) {
  Module m;
  Function& f = m.function("f");
  Value x = f.input("x", f32({3}));
  f.output(x);
  f.output(exp(x));
  Function& g = m.function("g");
  Value w = g.input("w", f64({2, 2}));
  Value z = sum(w * w);
  Value g1 = grad_op(z, w);
  g.output(g1);
  expect_round_trip(m);
  EXPECT_NE(print(m).find("func @g(%w: f64[2,2]) -> (f64[2,2])"), std::string::npos);
}

}  // namespace
}  // namespace nabla
