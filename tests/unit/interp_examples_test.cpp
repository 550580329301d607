// The lecture's examples (examples/*.nabla): each parsed, verified and
// interpreted on fixed inputs against a hand computation, and each run through
// nabla-run --random-inputs, whose .npy results must be exactly what the
// interpreter computes on the same random inputs.
#include <cstdlib>
#include <filesystem>

#include "nabla/ir/parser.h"
#include "nabla/ir/random_inputs.h"
#include "nabla/ir/verifier.h"
#include "nabla/runtime/npy.h"
#include "tests/unit/interp_util.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using namespace nabla::testing;
const double kLn3 = std::log(3.0);

std::string example_path(const std::string& name) {
  return std::string(NABLA_SOURCE_DIR) + "/examples/" + name + ".nabla";
}

// Parses and verifies an example; the module owns the function.
struct Example {
  Module module;
  Function* f;
  explicit Example(const std::string& name) : module(parse_file(example_path(name))) {
    verify(module);
    f = module.find(name);
  }
};

TEST(InterpExamples, XY) {
  Example e("xy");
  ASSERT_NE(e.f, nullptr);
  std::vector<Tensor> out = interpret(*e.f, std::vector<Tensor>{f32t({}, {3}), f32t({}, {-2.5})});
  EXPECT_EQ(values(out.at(0)), std::vector<double>{-7.5});
}

TEST(InterpExamples, LogisticRegression) {
  Example e("logreg");
  ASSERT_NE(e.f, nullptr);
  // w = [ln 3, 1, 0], b = ln 3; rows give x^T w = 0, -ln 3, -2 ln 3, so
  // sigmoid(x^T w + b) = sigmoid(ln 3), sigmoid(0), sigmoid(-ln 3) = 0.75, 0.5, 0.25.
  Tensor x = f32t({8, 3}, {0, 0, 5, -1, 0, 7, -2, 0, 1, 0, 0, -3,
                           -1, 0, 2, -2, 0, 0, 0, 0, 0, -1, 0, 0});
  std::vector<Tensor> out =
      interpret(*e.f, std::vector<Tensor>{x, f32t({3, 1}, {kLn3, 1, 0}), f32t({}, {kLn3})});
  EXPECT_EQ(out.at(0).shape(), (Shape{8, 1}));
  expect_near(values(out[0]), {0.75, 0.5, 0.25, 0.75, 0.5, 0.25, 0.75, 0.5});
}

TEST(InterpExamples, ReluLayer) {
  Example e("relu_layer");
  ASSERT_NE(e.f, nullptr);
  Tensor X = f32t({8, 3}, {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, -1, 0, 0, 0, -1, 0, 0, 0, -1, 2, 0, -1});
  Tensor W = f32t({3, 4}, {1, -2, 0, 3, 0, 1, -1, 2, 4, 0, 1, -1});
  Tensor b = f32t({4}, {0.5, 1, -1, 0});
  // X W + b, row by row: [1.5,-1,-1,3] [0.5,2,-2,2] [4.5,1,0,-1] [5.5,0,-1,4]
  // [-0.5,3,-1,-3] [0.5,0,0,-2] [-3.5,1,-2,1] [-1.5,-3,-2,7]; then max{0, .}.
  std::vector<Tensor> out = interpret(*e.f, std::vector<Tensor>{X, W, b});
  EXPECT_EQ(values(out.at(0)), (std::vector<double>{1.5, 0, 0, 3, 0.5, 2, 0, 2, 4.5, 1, 0, 0,
                                                    5.5, 0, 0, 4, 0, 3, 0, 0, 0.5, 0, 0, 0,
                                                    0, 1, 0, 1, 0, 0, 0, 7}));
}

TEST(InterpExamples, MlpWithWeightDecay) {
  Example e("mlp");
  ASSERT_NE(e.f, nullptr);
  // Column 0 of X is ln 3 on even rows and -1 on odd rows, the rest 0;
  // W1 = e_0 e_0^T and W2 = e_0 e_1^T, so U2 row i is [0, relu(X[i,0]), 0, ...].
  // Even rows (label 1): logsumexp = log(9 + 3) = log 12, minus ln 3: ln 4.
  // Odd rows (any label): U2 row is 0, loss ln 10. J_MLE = (ln 4 + ln 10) / 2.
  // Weight decay: lambda (1 + 1) with lambda = 1e-4.
  Tensor X(DType::f32, {64, 64}), y(DType::i32, {64});
  for (int i = 0; i < 64; ++i) {
    X.set(i * 64, i % 2 == 0 ? kLn3 : -1);
    y.set(i, i % 2 == 0 ? 1 : i % 10);
  }
  Tensor W1(DType::f32, {64, 128}), W2(DType::f32, {128, 10});
  W1.set(0, 1);
  W2.set(1, 1);
  std::vector<Tensor> out = interpret(*e.f, std::vector<Tensor>{X, y, W1, W2});
  EXPECT_EQ(out.at(0).shape(), Shape{});
  expect_near(values(out[0]), {std::log(40.0) / 2 + 2e-4}, 1e-6);
}

// nabla-run's written results equal the interpreter's on the same random inputs.
TEST(InterpExamples, NablaRunWritesWhatTheInterpreterComputes) {
  std::filesystem::path tool = std::filesystem::path(NABLA_BINARY_DIR) / "tools" / "nabla-run";
  ASSERT_TRUE(std::filesystem::exists(tool)) << tool << " is not built";
  std::filesystem::path dir = std::filesystem::path(NABLA_BINARY_DIR) / "examples_test_out";
  for (std::string name : {"xy", "logreg", "relu_layer", "mlp"}) {
    SCOPED_TRACE(name);
    std::filesystem::remove_all(dir);
    std::string cmd = "'" + tool.string() + "' '" + example_path(name) +
                      "' --interpret --random-inputs 1 --output-dir '" + dir.string() + "' >/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    Example e(name);
    ASSERT_NE(e.f, nullptr);
    std::vector<Tensor> want = interpret(*e.f, random_inputs(*e.f, 1));
    ASSERT_EQ(want.size(), 1u);
    Tensor got = read_npy((dir / (e.f->results()[0]->name() + ".npy")).string());
    EXPECT_TRUE(got.same_as(want[0])) << values(got)[0] << " vs " << values(want[0])[0];
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace nabla
