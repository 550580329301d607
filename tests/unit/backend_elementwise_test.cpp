// Differential tests of the elementwise kernels against the interpreter:
// every unary and binary op, comparisons, select and cast, in every dtype the
// op takes, with broadcasting, rank 0, sizes 1 and 0, and lengths that do not
// divide the vector width. Inputs include 0, -0, 1, inf and NaN.
//
// Tolerance: none. Without fast-math the compiled code performs the
// interpreter's IEEE operations in the same order and calls the same libm
// functions, so every result must be identical (NaN matching NaN).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "tests/support/backend_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using test::DiffBatch;

const std::vector<Shape> kShapes = {{}, {1}, {0}, {7}, {3, 17}, {2, 3, 33}};

// (a, b) shape pairs that broadcast.
const std::vector<std::pair<Shape, Shape>> kPairs = {
    {{17}, {17}},      {{3, 4}, {4}},    {{3, 1}, {1, 4}},  {{}, {5}},          {{2, 1, 3}, {4, 1}},
    {{0, 3}, {3}},     {{5, 1}, {5, 0}}, {{1}, {}},         {{2, 3, 37}, {37}}, {{6, 1, 19}, {6, 5, 1}}};

std::string label(Op op, DType t, const Shape& a, const Shape& b = {0, 0, 0, 0}) {
  std::string s = std::string(op_name(op)) + " " + std::string(dtype_name(t)) + shape_to_string(a);
  if (b.size() != 4 || b[0] != 0 || b[1] != 0) s += " with " + shape_to_string(b);
  return s;
}

void check_unary(std::initializer_list<Op> ops, std::initializer_list<DType> dtypes) {
  for (DType t : dtypes) {
    DiffBatch batch;
    for (const Shape& s : kShapes) {
      Value x = batch.input({t, s});
      for (Op op : ops) batch.result(batch.f().make(op, {x}), label(op, t, s));
    }
    batch.check(11, test::test_options());
    batch.check(12, test::test_options());
  }
}

TEST(BackendElementwise, FloatUnaryOps) {
  check_unary({Op::Neg, Op::Abs, Op::Sign, Op::Exp, Op::Log, Op::Log1p, Op::Sqrt, Op::Rsqrt, Op::Tanh,
               Op::Sigmoid, Op::Relu, Op::Sin, Op::Cos, Op::Floor, Op::StopGradient, Op::Barrier},
              {DType::f32, DType::f64});
}

TEST(BackendElementwise, IntegerAndBoolUnaryOps) {
  check_unary({Op::Neg, Op::Abs, Op::Sign, Op::StopGradient, Op::Barrier}, {DType::i32, DType::i64});
  check_unary({Op::StopGradient, Op::Barrier}, {DType::bool_});
}

TEST(BackendElementwise, IntegerArithmeticWraps) {
  // INT_MIN and INT_MAX: neg, abs, add, sub and mul wrap in two's complement.
  for (DType t : {DType::i32, DType::i64}) {
    DiffBatch batch;
    Value a = batch.input({t, {6}});
    Value b = batch.input({t, {6}});
    for (Op op : {Op::Neg, Op::Abs, Op::Sign}) batch.result(batch.f().make(op, {a}), label(op, t, {6}));
    for (Op op : {Op::Add, Op::Sub, Op::Mul, Op::Maximum, Op::Minimum})
      batch.result(batch.f().make(op, {a, b}), label(op, t, {6}));
    double lo = t == DType::i32 ? -2147483648.0 : -9223372036854775808.0;
    double hi = t == DType::i32 ? 2147483647.0 : 9223372036854775807.0;
    std::vector<Tensor> in{Tensor::from_doubles(t, {6}, std::vector<double>{lo, hi, -1, 0, lo, 7}),
                           Tensor::from_doubles(t, {6}, std::vector<double>{-1, 1, lo, hi, lo, hi})};
    batch.check(in, test::test_options());
  }
}

void check_binary(std::initializer_list<Op> ops, std::initializer_list<DType> dtypes) {
  for (DType t : dtypes) {
    DiffBatch batch;
    for (const auto& [sa, sb] : kPairs) {
      Value a = batch.input({t, sa});
      Value b = batch.input({t, sb});
      for (Op op : ops) {
        batch.result(batch.f().make(op, {a, b}), label(op, t, sa, sb));
        batch.result(batch.f().make(op, {b, a}), label(op, t, sb, sa));
      }
    }
    batch.check(21, test::test_options());
    batch.check(22, test::test_options());
  }
}

TEST(BackendElementwise, BinaryOpsWithBroadcasting) {
  check_binary({Op::Add, Op::Sub, Op::Mul, Op::Div, Op::Pow, Op::Maximum, Op::Minimum}, {DType::f32, DType::f64});
  check_binary({Op::Add, Op::Sub, Op::Mul, Op::Maximum, Op::Minimum}, {DType::i32, DType::i64});
}

// minimum/maximum with a scalar constant compile to one compare and select
// when the constant is neither NaN nor zero (compiler/lower_scalar.cpp), and
// to the general IEEE lowering otherwise: every case, both operand orders,
// against NaN, +-0, +-inf and the constant itself.
TEST(BackendElementwise, MinimumAndMaximumWithAConstant) {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  for (DType t : {DType::f32, DType::f64}) {
    DiffBatch batch;
    Value x = batch.input({t, {12}});
    for (double c : {2.5, -1.5, 0.0, -0.0, inf, -inf, nan}) {
      Value k = constant(batch.f(), c, t);
      for (Op op : {Op::Minimum, Op::Maximum}) {
        std::string name = label(op, t, {12}) + " with " + std::to_string(c);
        batch.result(batch.f().make(op, {x, k}), name);
        batch.result(batch.f().make(op, {k, x}), name + " (constant first)");
        batch.result(neg(batch.f().make(op, {x, k})), name + " (in a fused region)");
      }
    }
    std::vector<double> v{nan, 0.0, -0.0, inf, -inf, 2.5, -1.5, 1.0, -3.0, 7.0, 2.5000001, -1.4999};
    std::vector<Tensor> in{Tensor::from_doubles(t, {12}, v)};
    CompileOptions unfused = test::test_options();
    unfused.fuse = false;
    batch.check(in, test::test_options());
    batch.check(in, unfused);
  }
}

TEST(BackendElementwise, ComparisonsWithBroadcasting) {
  check_binary({Op::Less, Op::LessEqual, Op::Greater, Op::GreaterEqual, Op::Equal, Op::NotEqual},
               {DType::f32, DType::f64, DType::i32, DType::i64});
  check_binary({Op::Equal, Op::NotEqual}, {DType::bool_});
}

TEST(BackendElementwise, SelectBroadcastsAllThreeOperands) {
  for (DType t : kAllDTypes) {
    DiffBatch batch;
    Value c1 = batch.input(boolean({3, 1}));
    Value a1 = batch.input({t, {4}});
    Value b1 = batch.input({t, {}});
    batch.result(select(c1, a1, b1), "select bool[3,1] " + std::string(dtype_name(t)));
    Value c2 = batch.input(boolean({}));
    Value a2 = batch.input({t, {2, 1, 5}});
    Value b2 = batch.input({t, {3, 1}});
    batch.result(select(c2, a2, b2), "select bool[] " + std::string(dtype_name(t)));
    Value c3 = batch.input(boolean({0, 2}));
    batch.result(select(c3, batch.input({t, {2}}), batch.input({t, {0, 1}})), "select empty");
    batch.check(31, test::test_options());
  }
}

TEST(BackendElementwise, CastBetweenEveryPairOfDtypes) {
  for (DType from : kAllDTypes) {
    DiffBatch batch;
    Value x = batch.input({from, {29}});
    for (DType to : kAllDTypes)
      batch.result(cast(x, to), "cast " + std::string(dtype_name(from)) + " to " + std::string(dtype_name(to)));
    batch.check(41, test::test_options());
    if (!is_float(from)) continue;
    // Saturation, truncation toward zero and NaN -> 0 (llvm.fptosi.sat).
    std::vector<double> v = {1e10, -1e10, 3.7, -3.7, 2147483647.5, -2147483648.9, 9.3e18, -9.3e18, 0.5,
                             -0.5, -0.0, 1e300, -1e300, 1e-300, 2147483520, 16777217, 0, 1, -1, 255.99,
                             -255.99, 4294967296.0, 9223372036854775807.0, -9223372036854775808.0,
                             std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                             std::numeric_limits<double>::quiet_NaN(), 123456789.123, -0.999};
    batch.check(std::vector<Tensor>{Tensor::from_doubles(from, {29}, v)}, test::test_options());
  }
}

TEST(BackendElementwise, ChainsThroughBroadcastTo) {
  for (DType t : {DType::f32, DType::f64}) {
    DiffBatch batch;
    Value a = batch.input({t, {3, 1}});
    Value b = batch.input({t, {5}});
    Value wide = broadcast_to(a, {2, 3, 5});
    batch.result(sigmoid(wide * b) - exp(b), "sigmoid(broadcast * b) - exp(b)");
    batch.result(broadcast_to(b, {4, 5}), "broadcast_to alone");
    batch.result(select(greater(wide, b), relu(wide), neg(b)), "select of broadcasts");
    batch.check(51, test::test_options());
  }
}

}  // namespace
}  // namespace nabla

namespace nabla {
namespace NABLA_UNITY_ID {

// maximum/minimum against constants (LLVM simplifies llvm.maximum when it
// can prove an operand nonzero or not NaN): nonzero, 0, -0, inf, NaN, and
// rows with and without a zero, in both operand orders, against inputs with
// many 0, -0, inf and NaN.
TEST(BackendElementwise, MaximumMinimumWithConstants) {
  for (DType t : {DType::f32, DType::f64}) {
    test::DiffBatch batch;
    Value x = batch.input({t, {5, 3}});
    Function& f = batch.f();
    std::vector<Value> constants = {constant(f, 2.5, t), constant(f, -0.79, t), constant(f, 0.0, t),
                                    constant(f, -0.0, t), constant(f, std::numeric_limits<double>::infinity(), t),
                                    constant(f, std::numeric_limits<double>::quiet_NaN(), t)};
    std::vector<double> row = {1.5, -2.0, 0.0};
    constants.push_back(constant(f, Tensor::from_doubles(t, {3}, std::vector<double>{1.5, -2.0, 3.0})));
    constants.push_back(constant(f, Tensor::from_doubles(t, {3}, row)));
    for (size_t i = 0; i < constants.size(); ++i) {
      Value c = constants[i];
      std::string k = " constant " + std::to_string(i) + " " + std::string(dtype_name(t));
      batch.result(maximum(x, c), "maximum(x, c)" + k);
      batch.result(maximum(c, x), "maximum(c, x)" + k);
      batch.result(minimum(x, c), "minimum(x, c)" + k);
      batch.result(minimum(c, x), "minimum(c, x)" + k);
    }
    for (uint64_t seed : {21, 22, 23}) batch.check(batch.random_inputs(seed, 0.3), test::test_options());
  }
}

// relu's lowering, max(0, x) + 0 (compiler/lower_scalar.cpp), and abs's
// derivative as a sign-bit xor under one compare: the same bits as the
// interpreter, signs of zero included (relu(-0) = +0; abs' at +-0 and NaN
// is +0; at x < 0 it is -g, also for g = +-0, +-inf and NaN), fused (where
// the compare and the xor meet in one loop) and unfused.
TEST(BackendElementwise, ReluAndAbsDerivativeKeepTheSignsOfZero) {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  std::vector<double> xs{0.0, -0.0, nan, inf, -inf, 2.5, -1.5, 1e-30, -1e-30};
  std::vector<double> gs{1.0, -0.0, 0.0, nan, inf, -inf, 3.0};
  std::vector<double> x, g;
  for (double a : xs)
    for (double b : gs) x.push_back(a), g.push_back(b);
  int64_t n = static_cast<int64_t>(x.size());
  for (DType t : {DType::f32, DType::f64}) {
    Module m = test::make_function({{t, {n}}, {t, {n}}}, [](std::vector<Value>& in) {
      Value zero = constant(*in[0]->function(), 0.0, in[0]->dtype());
      Value d = select(greater(in[0], zero), in[1], select(less(in[0], zero), neg(in[1]), zero));
      return std::vector<Value>{relu(in[0]), d, neg(d)};
    });
    std::vector<Tensor> in{Tensor::from_doubles(t, {n}, x), Tensor::from_doubles(t, {n}, g)};
    std::vector<Tensor> want = test::reference_results(*m.functions()[0], in);
    for (bool fuse : {true, false}) {
      CompileOptions o = test::test_options();
      o.fuse = fuse;
      o.dump_llvm_ir = testing::TempDir() + "/relu_abs.ll";
      std::vector<Tensor> got = compile(*m.functions()[0], o).run(in);
      std::string ir = test::read_file(o.dump_llvm_ir);
      // Fused, the derivative is the one compare x != 0 (ordered) and the xor.
      if (fuse) {
        EXPECT_NE(ir.find("fcmp one"), std::string::npos);
      }
      for (size_t i = 0; i < got.size(); ++i)
        EXPECT_EQ(test::compare_bits(got[i], want[i]), "") << "result " << i << (fuse ? "" : " unfused");
    }
  }
}

}  // namespace
}  // namespace nabla
