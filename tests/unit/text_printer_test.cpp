// Printer details: one-line nodes, float spelling, literals, attributes.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "nabla/ir/builder.h"
#include "nabla/ir/printer.h"

namespace nabla {
namespace NABLA_UNITY_ID {

TEST(TextPrinter, PrintNode) {
  Module m;
  Function& f = m.function("f");
  Value labels = f.input("labels", i32({4}));
  Value a = neg(labels);
  Value b = neg(a);
  Value c = neg(b);
  Value d = cast(c, DType::f32);
  EXPECT_EQ(print_node(*d.node), "%3 = cast %2 {dtype = f32} : f32[4]");
  d->set_name("y");
  EXPECT_EQ(print_node(*d.node), "%y = cast %2 {dtype = f32} : f32[4]");
  Value z = sum(d);
  Value g = grad_op(z, d);
  EXPECT_EQ(print_node(*g.node), "%4 = grad %3 wrt %y : f32[4]");
  EXPECT_EQ(print_node(*constant(f, 2.0, DType::i64).node), "%5 = constant 2 : i64[]");
}

TEST(TextPrinter, Floats) {
  EXPECT_EQ(format_float(1.0), "1.0");
  EXPECT_EQ(format_float(-2.0f), "-2.0");
  EXPECT_EQ(format_float(0.1f), "0.1");
  EXPECT_EQ(format_float(0.1), "0.1");
  EXPECT_EQ(format_float(1e20f), "1e+20");
  EXPECT_EQ(format_float(123456789.0), "123456789.0");
  EXPECT_EQ(format_float(-0.0), "-0.0");
  EXPECT_EQ(format_float(std::numeric_limits<float>::max()), "3.4028235e+38");
  EXPECT_EQ(format_float(std::numeric_limits<float>::denorm_min()), "1e-45");
  EXPECT_EQ(format_float(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(format_float(-std::numeric_limits<float>::infinity()), "-inf");
  EXPECT_EQ(format_float(std::nan("")), "nan");
  EXPECT_EQ(format_float(-std::numeric_limits<double>::quiet_NaN()), "nan");
}

TEST(TextPrinter, Literals) {
  EXPECT_EQ(format_literal(Tensor::scalar(DType::bool_, 1)), "true");
  EXPECT_EQ(format_literal(Tensor::from_doubles(DType::i32, {2, 2}, std::vector<double>{1, 2, 3, 4})),
            "[[1, 2], [3, 4]]");
  EXPECT_EQ(format_literal(Tensor::from_doubles(DType::f64, {3}, std::vector<double>{7, 7, 7})), "7.0");
  EXPECT_EQ(format_literal(Tensor(DType::f32, {2, 0})), "[]");
  EXPECT_EQ(format_literal(Tensor(DType::f32, {1, 1, 2})), "0.0");
  EXPECT_EQ(format_literal(Tensor::from_doubles(DType::f32, {1, 1, 2}, std::vector<double>{0, 1})),
            "[[[0.0, 1.0]]]");
}

TEST(TextPrinter, OptionalAttributesOnlyWhenNotDefault) {
  Module m;
  Function& f = m.function("f");
  Value x = f.input("x", f32({2, 3}));
  EXPECT_EQ(print_node(*sum(x, std::vector<int64_t>{1, 0}).node), "%0 = sum %x : f32[]");
  EXPECT_EQ(print_node(*mean(x, std::vector<int64_t>{-1}, true).node),
            "%1 = mean %x {axes = [1], keepdims = true} : f32[2,1]");
  EXPECT_EQ(print_node(*slice(x, {0, 0}, {1, 3}, {1, 1}).node),
            "%2 = slice %x {start = [0, 0], stop = [1, 3]} : f32[1,3]");
  EXPECT_EQ(print_node(*matmul(x, x, true, false).node),
            "%3 = matmul %x, %x {transpose_a = true} : f32[3,3]");
  EXPECT_EQ(print_node(*softmax(x).node), "%4 = softmax %x {axis = 1} : f32[2,3]");
}

TEST(TextPrinter, BrokenIrStillPrints) {
  Module m;
  Function& f = m.function("bad name");
  Function& g = m.function("g");
  Value x = f.input("x", f32({2}));
  Value y = g.input("y", f32({2}));
  Node* n = f.create(Op::Add, {x, y}, {}, f32({2}));
  EXPECT_EQ(print_node(*n), "%0 = add %x, %? : f32[2]");
  EXPECT_EQ(print(f),
            "func @bad_name(%x: f32[2]) -> () {\n"
            "  %0 = add %x, %? : f32[2]\n"
            "  return\n"
            "}\n");
}

}  // namespace
}  // namespace nabla
