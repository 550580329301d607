#include <gtest/gtest.h>

#include "ir/builder.h"
#include "runtime/error.h"

namespace nabla {
namespace {

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Builder, InfersTypes) {
  Module m;
  Function& f = m.function("mlp");
  auto x = f.input("x", f32({64, 784}));
  auto w1 = f.input("w1", f32({784, 512}));
  auto h = relu(matmul(x, w1));
  EXPECT_EQ(h.type(), f32({64, 512}));
  auto s = sum(h * 2.0, std::vector<int64_t>{-1}, true);
  EXPECT_EQ(s.type(), f32({64, 1}));
  EXPECT_EQ(s->attrs().axes, (std::vector<int64_t>{1}));
}

TEST(Builder, Errors) {
  Module m;
  Function& f = m.function("f");
  auto a = f.input("a", f32({4}));
  auto b = f.input("b", f32({3}));
  EXPECT_EQ(error_of([&] { add(a, b); }), "add: cannot broadcast f32[4] with f32[3]");
}

}  // namespace
}  // namespace nabla
