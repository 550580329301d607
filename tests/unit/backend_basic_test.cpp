// First backend tests: small functions built with the builder API, compiled
// and run on hand-chosen values.
#include <gtest/gtest.h>

#include "nabla/compiler/compile.h"
#include "nabla/ir/builder.h"
#include "nabla/runtime/error.h"
#include "tests/support/backend_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

std::vector<double> values(const Tensor& t) {
  std::vector<double> v;
  for (int64_t i = 0; i < t.numel(); ++i) v.push_back(t.get(i));
  return v;
}

TEST(BackendBasic, AddWithBroadcastRunsNatively) {
  Module m = test::make_function({f32({2, 3}), f32({3})}, [](std::vector<Value>& x) {
    return std::vector<Value>{x[0] + x[1]};
  });
  Executable exe = compile(m, "f", test::test_options());
  Tensor a = Tensor::from_doubles(DType::f32, {2, 3}, std::vector<double>{1, 2, 3, 4, 5, 6});
  Tensor b = Tensor::from_doubles(DType::f32, {3}, std::vector<double>{10, 20, 30});
  std::vector<Tensor> out = exe.run(std::vector<Tensor>{a, b});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(values(out[0]), (std::vector<double>{11, 22, 33, 14, 25, 36}));
}

TEST(BackendBasic, ChainOfOpsOnCallerMemory) {
  // y = relu(x * 2 - 1) on a view of the caller's buffer, into the caller's buffer.
  Module m = test::make_function({f64({5})}, [](std::vector<Value>& x) {
    return std::vector<Value>{relu(x[0] * 2.0 - 1.0)};
  });
  Executable exe = compile(m, "f", test::test_options());
  double in[5] = {-1, 0, 0.5, 1, 3};
  double res[5] = {};
  std::vector<Tensor> inputs{Tensor::view(in, DType::f64, {5})};
  std::vector<Tensor> outputs{Tensor::view(res, DType::f64, {5})};
  exe.run(inputs, outputs);
  EXPECT_EQ(std::vector<double>(res, res + 5), (std::vector<double>{0, 0, 0, 1, 5}));
}

}  // namespace
}  // namespace nabla
