#include <gtest/gtest.h>

#include <iostream>
#include <set>

#include "nabla/ir/verifier.h"
#include "nabla/passes/pass_manager.h"
#include "tests/support/pass_testing.h"
#include "tests/support/random_graph.h"

namespace nabla {
namespace NABLA_UNITY_ID {

constexpr int kGraphs = 300;

TEST(RandomGraph, DeterministicInTheSeed) {
  for (uint64_t seed : {1u, 2u, 77u}) {
    Module a = test::random_graph(seed), b = test::random_graph(seed);
    EXPECT_EQ(test::op_sequence(*a.find("random")), test::op_sequence(*b.find("random")));
    std::vector<Tensor> ia = test::random_inputs(*a.find("random"), seed);
    std::vector<Tensor> ib = test::random_inputs(*b.find("random"), seed);
    ASSERT_EQ(ia.size(), ib.size());
    for (size_t i = 0; i < ia.size(); ++i) EXPECT_TRUE(ia[i].same_as(ib[i]));
  }
  EXPECT_NE(test::op_sequence(*test::random_graph(1).find("random")),
            test::op_sequence(*test::random_graph(2).find("random")));
}

// Each seed is one graph whichever compiler built the generator: a draw in
// an argument of a call (whose order C++ leaves unspecified) would give g++'s
// and clang's builds (the normal and the sanitized one of scripts/test.sh)
// other graphs. The hash covers the options the random tests use; a change of
// the generator changes it on purpose (then record the new value).
TEST(RandomGraph, SameGraphsOnEveryCompiler) {
  uint64_t h = 0;
  auto add = [&](uint64_t seed, const test::RandomGraphOptions& o) {
    h = h * 0x100000001b3ull + test::structure_hash(*test::random_graph(seed, o).find("random"));
  };
  for (uint64_t seed = 0; seed < kGraphs; ++seed) add(seed, {});
  for (uint64_t seed = 500000; seed < 500040; ++seed)
    add(seed, {.num_steps = 12, .loop_rate = 0.3, .grad_rate = seed % 2 ? 1.0 : 0.0});
  EXPECT_EQ(h, 0x1a4ec3211bf41f5bull) << std::hex << "the generator built other graphs: 0x" << h;
}

TEST(RandomGraph, CoversEveryOpWithBroadcasting) {
  std::set<Op> seen;
  int broadcasts = 0;
  for (uint64_t seed = 0; seed < kGraphs; ++seed) {
    Module m = test::random_graph(seed);
    Function& f = *m.find("random");
    ASSERT_FALSE(f.results().empty());
    ASSERT_NO_THROW(verify(f)) << "seed " << seed;
    for (Node* n : f) {
      seen.insert(n->op());
      if (is_elementwise(n->op()) && n->num_operands() > 1)
        for (Node* o : n->operands()) broadcasts += o->shape() != n->shape();
    }
    std::vector<Tensor> in = test::random_inputs(f, seed);
    ASSERT_EQ(in.size(), f.inputs().size());
    for (size_t i = 0; i < in.size(); ++i) EXPECT_EQ(type_of(in[i]), f.inputs()[i]->type());
  }
  for (int i = 0; i < kNumOps; ++i) {
    Op op = static_cast<Op>(i);
    if (op == Op::Input || op == Op::Grad || op == Op::Fused) continue;
    EXPECT_TRUE(seen.count(op)) << op_name(op) << " never generated";
  }
  EXPECT_GT(broadcasts, kGraphs) << "elementwise operands of differing shapes";
}

// The default pipeline's structural promises on every random graph: a fixed
// point with no mergeable pair, no dead node and no transpose feeding a matmul.
// Half of the graphs carry grad nodes (expanded first, allowing targets that
// z does not reach).
TEST(RandomGraph, DefaultPipelineReachesItsPromises) {
  size_t before = 0, after = 0;
  for (uint64_t seed = 0; seed < kGraphs; ++seed) {
    test::RandomGraphOptions o;
    o.grad_rate = seed % 2 ? 1.0 : 0.0;
    Module m = test::random_graph(seed, o);
    Function& f = *m.find("random");
    PassManagerOptions verify;
    verify.verify_each = true;
    PassManager(verify).add("build-grad{allow-disconnected}").run(m);
    before += f.size();
    ASSERT_NO_THROW(run_default_pipeline(m, verify)) << "seed " << seed;
    after += f.size();
    EXPECT_EQ(test::mergeable_pairs(f), 0) << "seed " << seed;
    EXPECT_EQ(test::dead_nodes(f), 0) << "seed " << seed;
    EXPECT_EQ(test::transposes_feeding_matmul(f), 0) << "seed " << seed;
    EXPECT_FALSE(run_default_pipeline(m)) << "seed " << seed << ": not a fixed point";
  }
  std::cout << "random graphs: " << before << " nodes (grads expanded) before the default pipeline, " << after
            << " after\n";
  EXPECT_LT(after, before);
}

}  // namespace
}  // namespace nabla
