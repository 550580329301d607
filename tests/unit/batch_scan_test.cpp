// batch() through a scan (passes/batching.cpp, batch_scan): one scan whose
// body carries the batch axis instead of P clones of the loop. Each case
// batches some of a scan's operands (its xs, an invariant, a carry's initial
// value, all three) and compares every row of every result with the scan run
// on that row's values, bit for bit, interpreted and compiled; results that
// depend on no batched value stay unbatched, and no node takes the fallback.
#include <bit>
#include <set>

#include "grad_util.h"
#include "nabla/ir/loop.h"
#include "nabla/passes/batching.h"
#include "tests/support/backend_testing.h"

namespace nabla {
namespace {

using namespace gradtest;

constexpr int64_t kP = 2;
constexpr size_t kResults = 5;

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

Tensor row_of(const Tensor& t, int64_t p) {
  Shape s(t.shape().begin() + 1, t.shape().end());
  Tensor out(t.dtype(), s);
  for (int64_t i = 0; i < out.numel(); ++i) out.set(i, t.get(p * out.numel() + i));
  return out;
}

void expect_same_bits(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  for (int64_t i = 0; i < a.numel(); ++i)
    EXPECT_EQ(std::bit_cast<uint64_t>(a.get(i)), std::bit_cast<uint64_t>(b.get(i)))
        << "element " << i << ": " << a.get(i) << " vs " << b.get(i);
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
  for (Value v : b) f.output(v);
  for (int64_t p = 0; p < kP; ++p) {
    std::vector<Value> args = {h0, k0, xs, w};
    for (size_t k = 0; k < in.size(); ++k) {
      Value row = reshape(gather(stacks[k], constant(f, Tensor::scalar(DType::i64, static_cast<double>(p))), 0),
                          in[k]->shape());
      for (Value& a : args)
        if (a.node == in[k].node) a = row;
    }
    for (Value v : model(args[0], args[1], args[2], args[3])) f.output(v);
  }
  std::vector<Tensor> inputs = kink_free_inputs(f, 5);
  std::vector<Tensor> interpreted = run(f, inputs), compiled = compile(f, test::test_options()).run(inputs);
  for (const std::vector<Tensor>* r : {&interpreted, &compiled})
    for (int64_t p = 0; p < kP; ++p)
      for (size_t j = 0; j < kResults; ++j) {
        SCOPED_TRACE(std::string(r == &compiled ? "compiled" : "interpreted") + ", result " + std::to_string(j) +
                     ", row " + std::to_string(p));
        expect_same_bits(row_of((*r)[j], p), (*r)[kResults * (1 + static_cast<size_t>(p)) + j]);
      }
}

INSTANTIATE_TEST_SUITE_P(Operands, BatchScan,
                         ::testing::Values(Case{"xs", false, true, false, true}, Case{"invariant", false, false, true, false},
                                           Case{"carry", true, false, false, false}, Case{"all", true, true, true, true}),
                         [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace nabla
