// The backend against the interpreter on seeded random graphs over every op
// (tests/support/random_graph.h): each graph is compiled with the default
// pipeline and fusion, run on random inputs with 0, -0, 1, inf and NaN among
// them, and every result must equal the interpreter's on the original graph
// bit for bit (NaN matching NaN), or both must fail with the same message
// (labels out of range). NABLA_RANDOM_GRAPHS=N changes the count;
// NABLA_RANDOM_GRAPH_DUMP=DIR writes each failing graph to DIR/SEED.nabla.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "ir/printer.h"
#include "tests/support/backend_testing.h"
#include "tests/support/random_graph.h"

namespace nabla {
namespace {

uint64_t graph_count() {
  const char* env = std::getenv("NABLA_RANDOM_GRAPHS");
  return env ? std::strtoull(env, nullptr, 10) : 500;
}

TEST(BackendRandomGraphs, ForwardGraphsMatchTheInterpreter) {
  uint64_t graphs = graph_count();
  for (uint64_t seed = 0; seed < graphs; ++seed) {
    Module m = test::random_graph(seed);
    Function& f = *m.find("random");
    std::vector<Tensor> inputs = test::random_inputs(f, seed);
    std::string d = test::compare_with_interpreter(f, inputs, test::test_options(seed % 4 == 0 ? 2 : 1));
    EXPECT_EQ(d, "") << "seed " << seed << "\n" << print(f);
    if (const char* dir = std::getenv("NABLA_RANDOM_GRAPH_DUMP"); dir && !d.empty())
      std::ofstream(std::string(dir) + "/" + std::to_string(seed) + ".nabla") << print(f);
  }
}

}  // namespace
}  // namespace nabla
