// Random GEMM epilogues against the interpreter, bit for bit: a product of
// random shape and transposes followed by a random chain of elementwise ops
// (every op class the epilogue evaluates on vectors: arithmetic, maximum/
// minimum, relu, sign, floor, sqrt, comparisons and select, casts through
// i32) with leaves of every broadcast layout (full, row [N], column [M,1],
// scalar, per-batch) and dtypes f32/f64/i32/bool; sometimes the product is
// read again (kept as a result of the group). The random graphs of
// random_graph.h are too small for the generated GEMM, hence this test.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "nabla/compiler/pipeline.h"
#include "nabla/ir/builder.h"
#include "nabla/ir/clone.h"
#include "nabla/ir/fused.h"
#include "tests/support/backend_testing.h"
#include "tests/support/random_graph.h"

namespace nabla {
namespace NABLA_UNITY_ID {

struct Case {
  Module module;
  std::string text;  // what was built, for failure messages
};

Case random_case(uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  DType t = pick(2) ? DType::f32 : DType::f64;
  int64_t m = 1, n = 1, k = 1;
  while (m * n * k < 4096) m = 1 + pick(60), n = 1 + pick(70), k = 1 + pick(300);
  bool ta = pick(2), tb = pick(2), batched = pick(4) == 0;
  Shape batch = batched ? Shape{2} : Shape{};
  auto with_batch = [&](Shape s) {
    Shape r = batch;
    r.insert(r.end(), s.begin(), s.end());
    return r;
  };
  std::vector<TensorType> inputs{{t, with_batch(ta ? Shape{k, m} : Shape{m, k})},
                                 {t, with_batch(tb ? Shape{n, k} : Shape{k, n})}};
  std::string text = fmt::format("{} {}x{}x{} ta {} tb {} batched {}:", dtype_name(t), m, n, k, ta, tb, batched);
  // The leaves, decided before building (make_function takes the input types).
  struct Step {
    int op;
    int leaf = -1;
  };
  std::vector<Step> steps;
  auto leaf_shape = [&]() -> Shape {
    switch (pick(6)) {
      case 0: return with_batch({m, n});
      case 1: return {n};
      case 2: return {m, 1};
      case 3: return {};
      case 4: return {1, n};
      default: return batched ? Shape{2, 1, n} : Shape{m, n};
    }
  };
  int depth = 1 + pick(6);
  for (int i = 0; i < depth; ++i) {
    Step s{pick(12)};
    if (s.op <= 5 || s.op == 9) {  // binary with a float leaf, select
      s.leaf = static_cast<int>(inputs.size());
      inputs.push_back({t, leaf_shape()});
    } else if (s.op == 10) {       // an i32 leaf cast to float
      s.leaf = static_cast<int>(inputs.size());
      inputs.push_back({DType::i32, leaf_shape()});
    } else if (s.op == 11) {       // a bool leaf as select's condition
      s.leaf = static_cast<int>(inputs.size());
      inputs.push_back({DType::bool_, leaf_shape()});
    }
    steps.push_back(s);
  }
  int reuse = pick(3);  // 1: the product is also returned, 2: also read by exp
  Module mod = test::make_function(inputs, [&](std::vector<Value>& x) {
    Value p = matmul(x[0], x[1], ta, tb);
    Value v = p;
    for (const Step& s : steps) {
      Value l = s.leaf >= 0 ? x[static_cast<size_t>(s.leaf)] : Value();
      switch (s.op) {
        case 0: v = v + l, text += " add"; break;
        case 1: v = v - l, text += " sub"; break;
        case 2: v = v * l, text += " mul"; break;
        case 3: v = maximum(v, l), text += " maximum"; break;
        case 4: v = minimum(l, v), text += " minimum"; break;
        case 5: v = div(v, l), text += " div"; break;
        case 6: v = relu(v), text += " relu"; break;
        case 7: v = pick(2) ? sign(v) + floor(v * 3.0) : neg(abs(v)), text += " sign/floor/abs"; break;
        case 8: v = sqrt(abs(v)) + cast(cast(v * 10.0, DType::i32), t), text += " sqrt+cast"; break;
        case 9: v = select(greater(v, l), v, l * 0.5), text += " select"; break;
        case 10: v = v + cast(l, t), text += " +cast(i32)"; break;
        default: v = select(l, v, scalar_like(v, 0.0)), text += " select(bool)"; break;
      }
    }
    std::vector<Value> out{v};
    if (reuse == 1) out.push_back(p), text += " [product returned]";
    if (reuse == 2) out.push_back(exp(p * 0.01)), text += " [exp(product)]";
    return out;
  });
  return {std::move(mod), text};
}

TEST(GemmEpilogueRandom, MatchesTheInterpreterBitForBit) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    Case c = random_case(seed);
    const Function& f = *c.module.find("f");
    EXPECT_EQ(test::fused_products(f), 1) << "seed " << seed << ": " << c.text;
    CompileOptions o = test::test_options(1 + static_cast<int>(seed % 2));
    o.min_parallel_work = 1;
    EXPECT_EQ(test::compare_with_interpreter(f, test::random_inputs(f, seed, 0.02), o), "")
        << "seed " << seed << ": " << c.text;
  }
}

}  // namespace
}  // namespace nabla
