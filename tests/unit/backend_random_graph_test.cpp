// The backend against the interpreter on seeded random graphs over every op
// (tests/support/random_graph.h), forward graphs and graphs with first- and
// second-order grad nodes: each graph is compiled with the default pipeline
// and fusion, run on random inputs with 0, -0, 1, inf and NaN among them, and
// every result must equal the interpreter's bit for bit (NaN matching NaN),
// a third of them with streaming stores forced on,
// or both must fail with the same message (labels out of range). The
// interpreter runs the original graph, after build-grad alone when it has
// grads. NABLA_RANDOM_GRAPHS=N changes the count of each kind;
// NABLA_RANDOM_GRAPH_DUMP=DIR writes each failing graph to DIR/SEED.nabla.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "nabla/ir/printer.h"
#include "nabla/passes/pass_manager.h"
#include "tests/support/backend_testing.h"
#include "tests/support/random_graph.h"

namespace nabla {
namespace NABLA_UNITY_ID {

uint64_t graph_count() {
  const char* env = std::getenv("NABLA_RANDOM_GRAPHS");
  return env ? std::strtoull(env, nullptr, 10) : 400;
}

void check_graphs(double grad_rate, uint64_t first_seed) {
  uint64_t graphs = graph_count();
  test::RandomGraphOptions options;
  options.grad_rate = grad_rate;
  CompileOptions o = test::test_options();
  if (grad_rate > 0) {
    // Gradients of values a target does not reach are zero, as in the reference.
    std::string rest(default_pipeline());
    o.pipeline = "build-grad{allow-disconnected}" + rest.substr(rest.find(','));
  }
  for (uint64_t seed = first_seed; seed < first_seed + graphs; ++seed) {
    Module m = test::random_graph(seed, options);
    Function& f = *m.find("random");
    std::vector<Tensor> inputs = test::random_inputs(f, seed);
    o.num_threads = seed % 4 == 0 ? 2 : 1;
    // A third of the graphs stream every elementwise kernel that can
    // (docs/backend.md#streaming-stores), whatever its size.
    o.stream_store_bytes = seed % 3 == 1 ? 1 : CompileOptions{}.stream_store_bytes;
    std::string d = test::compare_with_interpreter(f, inputs, o);
    EXPECT_EQ(d, "") << "seed " << seed << "\n" << print(f);
    if (const char* dir = std::getenv("NABLA_RANDOM_GRAPH_DUMP"); dir && !d.empty())
      std::ofstream(std::string(dir) + "/" + std::to_string(seed) + ".nabla") << print(f);
  }
}

TEST(BackendRandomGraphs, ForwardGraphsMatchTheInterpreter) { check_graphs(0.0, 0); }

TEST(BackendRandomGraphs, GradientGraphsMatchTheInterpreter) { check_graphs(1.0, 100000); }

}  // namespace
}  // namespace nabla
