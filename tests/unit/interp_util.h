#pragma once
// Helpers for the interpreter tests (tests/unit/interp_*.cpp): build a small
// function around one op, run it through the interpreter, read values back.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "nabla/ir/builder.h"
#include "nabla/ir/interpreter.h"
#include "nabla/runtime/error.h"
#include "tests/support/error_testing.h"

namespace nabla::testing {

inline Tensor tensor(DType t, Shape shape, std::vector<double> values) {
  return Tensor::from_doubles(t, std::move(shape), values);
}
inline Tensor f32t(Shape s, std::vector<double> v) { return tensor(DType::f32, std::move(s), std::move(v)); }
inline Tensor f64t(Shape s, std::vector<double> v) { return tensor(DType::f64, std::move(s), std::move(v)); }
inline Tensor i32t(Shape s, std::vector<double> v) { return tensor(DType::i32, std::move(s), std::move(v)); }
inline Tensor i64t(Shape s, std::vector<double> v) { return tensor(DType::i64, std::move(s), std::move(v)); }
inline Tensor boolt(Shape s, std::vector<double> v) { return tensor(DType::bool_, std::move(s), std::move(v)); }

inline std::vector<double> values(const Tensor& t) {
  std::vector<double> v;
  for (int64_t i = 0; i < t.numel(); ++i) v.push_back(t.get(i));
  return v;
}

// Makes a function whose inputs have the given tensors' types, builds its one
// result with `build`, and interprets it on those tensors.
inline Tensor run(std::vector<Tensor> inputs,
                  const std::function<Value(std::vector<Value>&)>& build) {
  Module m;
  Function& f = m.function("t");
  std::vector<Value> ins;
  for (size_t i = 0; i < inputs.size(); ++i)
    ins.push_back(f.input("in" + std::to_string(i), type_of(inputs[i])));
  f.output(build(ins));
  std::vector<Tensor> out = interpret(f, inputs);
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(type_of(out[0]), f.results()[0]->type());
  return out[0];
}

using test::error_of;

// Elementwise comparison with a relative tolerance; NaN matches NaN, inf itself.
inline void expect_near(const std::vector<double>& got, const std::vector<double>& want,
                        double tol = 1e-6) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "element " << i << " is " << got[i];
    } else if (std::isinf(want[i])) {
      EXPECT_EQ(got[i], want[i]) << "element " << i;
    } else {
      EXPECT_NEAR(got[i], want[i], tol * std::max(1.0, std::abs(want[i]))) << "element " << i;
    }
  }
}

}  // namespace nabla::testing
