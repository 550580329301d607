// Random loops: seeded random graphs (tests/support/random_graph.h) where a
// third of the steps is a scan (0 to 50 steps, either way, over xs or not)
// or a while whose trip count the data decide (0 to 50), with random bodies;
// half of them with first- and second-order grad nodes. The JIT (1 thread,
// and 2 threads with every loop split) and nablac's object, loaded here
// (tests/support/aot_runner.h), must equal the interpreter bit for bit (NaN
// matching NaN), or fail with its message. NABLA_RANDOM_LOOPS=N changes the
// number of graphs.
#include <gtest/gtest.h>

#include <cstdlib>

#include "nabla/ir/printer.h"
#include "nabla/passes/pass_manager.h"
#include "tests/support/aot_runner.h"
#include "tests/support/backend_testing.h"
#include "tests/support/random_graph.h"

namespace nabla {
namespace NABLA_UNITY_ID {

uint64_t graph_count() {
  const char* env = std::getenv("NABLA_RANDOM_LOOPS");
  return env ? std::strtoull(env, nullptr, 10) : 40;
}

// The pipeline: gradients of values a target does not reach are zero, as in
// the reference.
std::string pipeline(bool grads) {
  if (!grads) return "default";
  std::string rest(default_pipeline());
  return "build-grad{allow-disconnected}" + rest.substr(rest.find(','));
}

TEST(LoopRandomGraphs, JitAndAotMatchTheInterpreter) {
  const std::string dir = std::string(NABLA_BINARY_DIR) + "/loop_random_test";
  int64_t scans = 0, whiles = 0, longest = 0;
  for (uint64_t seed = 500000; seed < 500000 + graph_count(); ++seed) {
    test::RandomGraphOptions options;
    options.num_steps = 12;
    options.loop_rate = 0.3;
    options.grad_rate = seed % 2 ? 1.0 : 0.0;
    Module m = test::random_graph(seed, options);
    Function& f = *m.find("random");
    for (const Node* n : f) {
      scans += n->op() == Op::Scan;
      whiles += n->op() == Op::While;
      if (n->op() == Op::Scan) longest = std::max(longest, n->attrs().length);
    }
    std::vector<Tensor> inputs = test::random_inputs(f, seed);
    CompileOptions o = test::test_options(1);
    o.pipeline = pipeline(options.grad_rate > 0);
    EXPECT_EQ(test::compare_with_interpreter(f, inputs, o), "") << "seed " << seed << " (JIT)\n" << print(f);
    CompileOptions two = test::split_everything(2);
    two.pipeline = o.pipeline;
    EXPECT_EQ(test::compare_with_interpreter(f, inputs, two), "") << "seed " << seed << " (JIT, 2 threads)\n" << print(f);
    AotOptions a;
    a.pipeline.pipeline = o.pipeline;
    EXPECT_EQ(test::compare_aot_with_interpreter(f, inputs, dir, a), "") << "seed " << seed << " (AOT)\n" << print(f);
  }
  std::cout << scans << " scans (the longest " << longest << " steps), " << whiles << " whiles\n";
  if (graph_count() >= 40) {
    EXPECT_GT(longest, 40);
    EXPECT_GT(whiles, 10);
  }
}

}  // namespace
}  // namespace nabla
