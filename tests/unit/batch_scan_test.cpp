// batch() through a scan (passes/batching.cpp, batch_scan) and a while
// (batch_while): one loop whose body carries the batch axis instead of P
// clones of the loop. Each case
// batches some of a scan's operands (its xs, an invariant, a carry's initial
// value, all three) and compares every row of every result with the scan run
// on that row's values, bit for bit, interpreted and compiled; results that
// depend on no batched value stay unbatched, and no node takes the fallback.
#include <functional>
#include <set>

#include "grad_util.h"
#include "nabla/ir/loop.h"
#include "nabla/passes/batching.h"
#include "tests/support/backend_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using namespace gradtest;

constexpr int64_t kP = 2;
// Two carries: h (reads every operand, through a nested scan of 2 steps) and
// a step counter k (reads nothing the cases batch); xs [4, 3]; invariant w.
// Results: h, k, the stacked h, the stacked 2 x, and h - k (through a node
// that reads only k, unbatched: on a path from every operand, since a loop's
// results read all of its operands, yet not depending on the batch).
std::vector<Value> model(Value h0, Value k0, Value xs, Value w) {
  ScanResult r = scan([](auto c, auto x, auto w) -> ScanBodyResult {
    Value inner = scan([](auto c2, auto, auto w2) -> ScanBodyResult { return {{sin(mul(c2[0], w2[0]))}, {}}; },
                       {c[0]}, {}, {w[0]}, {.length = 2}).carry[0];
    Value h = tanh(add(mul(inner, w[0]), x[0]));
    return {{h, add(c[1], 1.0)}, {h, mul(x[0], 2.0)}};
  }, {h0, k0}, {xs}, {w});
  return {r.carry[0], r.carry[1], r.ys[0], r.ys[1], add(r.carry[0], neg(r.carry[1]))};
}

using Model = std::function<std::vector<Value>(std::vector<Value>)>;

// Outputs the batched results b of f, then for each p the model run on
// `args` with row p of stacks[k] in place of in[k]; runs f interpreted and
// compiled and compares each row of b with the model's results bit for bit.
void expect_rows_equal(Function& f, const std::vector<Value>& args, const std::vector<Value>& in,
                       const std::vector<Value>& stacks, const std::vector<Value>& b, const Model& model) {
  for (Value v : b) f.output(v);
  for (int64_t p = 0; p < kP; ++p) {
    std::vector<Value> row_args = args;
    for (size_t k = 0; k < in.size(); ++k) {
      Value row = reshape(gather(stacks[k], constant(f, Tensor::scalar(DType::i64, static_cast<double>(p))), 0),
                          in[k]->shape());
      for (Value& a : row_args)
        if (a.node == in[k].node) a = row;
    }
    for (Value v : model(row_args)) f.output(v);
  }
  std::vector<Tensor> inputs = kink_free_inputs(f, 5);
  std::vector<Tensor> interpreted = run(f, inputs), compiled = compile(f, test::test_options()).run(inputs);
  const size_t n = b.size();
  for (const std::vector<Tensor>* r : {&interpreted, &compiled})
    for (int64_t p = 0; p < kP; ++p)
      for (size_t j = 0; j < n; ++j) {
        SCOPED_TRACE(std::string(r == &compiled ? "compiled" : "interpreted") + ", result " + std::to_string(j) +
                     ", row " + std::to_string(p));
        expect_same_bits(row_of((*r)[j], p), (*r)[n * (1 + static_cast<size_t>(p)) + j]);
      }
}

size_t scans_in(const Function& f) {
  std::set<const Function*> bodies;
  for (const Node* n : f.nodes())
    if (n->op() == Op::Scan) bodies.insert(n->body());
  return bodies.size();
}

struct Case {
  const char* name;
  bool h0, xs, w;   // which operands are batched
  bool ys_x;        // whether the stacked 2 x depends on the batch
};

class BatchScan : public ::testing::TestWithParam<Case> {};

// f's results: the batched results, then for each p the model run with row
// p of the batched operands (the others f's inputs).
TEST_P(BatchScan, RowsEqualTheScanOfEachRowBitForBit) {
  const Case& c = GetParam();
  Module m;
  Function& f = m.add_function("f");
  Value h0 = f.input("h0", f64({3})), k0 = f.input("k0", f64({3})), xs = f.input("xs", f64({4, 3}));
  Value w = f.input("w", f64({3}));
  std::vector<Value> out = model(h0, k0, xs, w);
  Stream s(7);
  std::vector<Value> in, stacks;
  for (auto [on, v] : {std::pair{c.h0, h0}, {c.xs, xs}, {c.w, w}})
    if (on) {
      Shape shape{kP};
      shape.insert(shape.end(), v->shape().begin(), v->shape().end());
      in.push_back(v);
      stacks.push_back(random_constant(f, {DType::f64, shape}, s));
    }
  std::vector<Value> b = batch(in, stacks, out);
  EXPECT_EQ(last_batch_fallbacks(), 0u);
  EXPECT_EQ(scans_in(f), 2u);  // the scan and its batched copy (nested scans are in bodies)
  EXPECT_EQ(b[1]->op(), Op::BroadcastTo) << "the counter does not depend on the batch";
  EXPECT_EQ(b[3]->op() == Op::BroadcastTo, !c.ys_x);
  expect_rows_equal(f, {h0, k0, xs, w}, in, stacks, b, [](std::vector<Value> a) { return model(a[0], a[1], a[2], a[3]); });
}

INSTANTIATE_TEST_SUITE_P(Operands, BatchScan,
                         ::testing::Values(Case{"xs", false, true, false, true}, Case{"invariant", false, false, true, false},
                                           Case{"carry", true, false, false, false}, Case{"all", true, true, true, true}),
                         [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

// A while over h' = tanh(h w + x) and a counter k: with cond_on_h false it
// stops at k = 3 (the condition reads only k); with it true, once sum(h)
// exceeds 1 or at k = 6.
std::vector<Value> while_model(Value h0, Value w, Value x, bool cond_on_h) {
  Function& f = *h0->function();
  std::vector<Value> r = while_loop(
      [cond_on_h](auto c, auto) {
        Function& g = *c[0]->function();
        Value more = less(c[0], constant(g, cond_on_h ? 6.0 : 3.0, DType::i64));
        return cond_on_h ? select(more, less(sum(c[1]), 1.0), more) : more;
      },
      [](auto c, auto w) {
        Value one = constant(*c[0]->function(), 1.0, DType::i64);
        return std::vector<Value>{add(c[0], one), tanh(add(mul(c[1], w[0]), w[1]))};
      },
      {constant(f, 0.0, DType::i64), h0}, {w, x});
  return {r[1], r[0]};
}

// Batching h0 and w: one while carrying [P, 3] (no fallback) when the
// condition reads only the counter, the fallback when it reads h; rows equal
// the loop run on each row bit for bit either way.
TEST(BatchWhile, RowsEqualTheWhileOfEachRowBitForBit) {
  for (bool cond_on_h : {false, true}) {
    SCOPED_TRACE(cond_on_h ? "condition on h" : "condition on the counter");
    Module m;
    Function& f = m.add_function("f");
    Value h0 = f.input("h0", f64({3})), w = f.input("w", f64({3})), x = f.input("x", f64({3}));
    std::vector<Value> out = while_model(h0, w, x, cond_on_h);
    Stream s(11);
    std::vector<Value> in{h0, w}, stacks{random_constant(f, f64({kP, 3}), s), random_constant(f, f64({kP, 3}), s)};
    std::vector<Value> b = batch(in, stacks, out);
    EXPECT_EQ(last_batch_fallbacks() > 0, cond_on_h);
    EXPECT_EQ(b[1]->op() == Op::BroadcastTo, !cond_on_h) << "the counter depends on the batch only through h";
    expect_rows_equal(f, {h0, w, x}, in, stacks, b,
                      [cond_on_h](std::vector<Value> a) { return while_model(a[0], a[1], a[2], cond_on_h); });
  }
}

}  // namespace
}  // namespace nabla
