// Every example of examples/ compiled and run against the interpreter, with
// and without fusion, on one and two threads; and what fusion does to the
// lecture's MLP (regions made, buffers saved).
// Tolerance: none (bit-equal results).
#include <gtest/gtest.h>

#include <filesystem>

#include "nabla/ir/parser.h"
#include "nabla/ir/random_inputs.h"
#include "tests/support/backend_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

std::vector<std::string> example_files() {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(std::string(NABLA_SOURCE_DIR) + "/examples"))
    if (e.path().extension() == ".nabla") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

TEST(BackendExamples, EveryExampleMatchesTheInterpreter) {
  std::vector<std::string> files = example_files();
  ASSERT_GE(files.size(), 4u);
  for (const std::string& file : files) {
    Module m = parse_file(file);
    for (Function* f : m.functions())
      for (bool fuse : {true, false})
        for (int threads : {1, 2}) {
          CompileOptions o = test::test_options(threads);
          o.fuse = fuse;
          for (uint64_t seed : {1, 2}) {
            std::vector<Tensor> in = random_inputs(*f, seed);
            EXPECT_EQ(test::compare_with_interpreter(*f, in, o), "")
                << file << " @" << f->name() << (fuse ? " fused" : "") << " threads " << threads;
          }
        }
  }
}

TEST(BackendExamples, FusionShrinksTheMlp) {
  Module m = parse_file(std::string(NABLA_SOURCE_DIR) + "/examples/mlp.nabla");
  CompileOptions fused = test::test_options(), plain = fused;
  plain.fuse = false;
  plain.fuse_matmul = false;
  Executable a = compile(m, "mlp", fused), b = compile(m, "mlp", plain);
  // relu becomes the first product's epilogue (fuse-matmul); the two sums of
  // squares and the scalar tail of the cost are regions.
  EXPECT_EQ(a.stats().num_fused_regions, 4);
  EXPECT_EQ(b.stats().num_fused_regions, 0);
  EXPECT_LT(a.stats().num_kernels, b.stats().num_kernels);
  EXPECT_LT(a.intermediate_bytes(), b.intermediate_bytes());
  // The W1^2 temporary (64 x 128 floats) is gone.
  EXPECT_LE(a.intermediate_bytes() + 64 * 128 * 4, b.intermediate_bytes());
  std::vector<Tensor> in = random_inputs(*m.find("mlp"), 3);
  EXPECT_TRUE(a.run(in)[0].same_as(b.run(in)[0]));
}

}  // namespace
}  // namespace nabla
