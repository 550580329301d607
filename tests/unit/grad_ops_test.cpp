// Every differentiable op: first and second derivatives against central
// differences in f64 (check_grad), on kink-free random inputs, with
// broadcasting shapes, keepdims, batched and transposed matmuls.
#include <map>

#include "grad_util.h"

namespace nabla {
namespace {

using namespace gradtest;
using Build = std::function<Value(Function&)>;

struct OpCase {
  std::string name;
  Build build;  // adds inputs to f and returns the op's result
};

std::ostream& operator<<(std::ostream& os, const OpCase& c) { return os << c.name; }

Value in(Function& f, const std::string& name, TensorType t) { return f.input(name, std::move(t)); }

// A unary op on f32[2,3].
OpCase unary(std::string name, Value (*op)(Value), bool positive = false) {
  return {name, [op, positive](Function& f) { return op(in(f, positive ? "pos" : "x", f32({2, 3}))); }};
}

// A binary op on operands of shapes a and b (broadcast).
OpCase binary(std::string name, Value (*op)(Value, Value), Shape a, Shape b,
              bool positive_a = false, bool positive_b = false) {
  return {name, [=](Function& f) {
            Value x = in(f, positive_a ? "pos_a" : "a", f32(a));
            return op(x, in(f, positive_b ? "pos_b" : "b", f32(b)));
          }};
}

OpCase reduction(std::string name, Value (*op)(Value, Axes, bool), Axes axes, bool keepdims) {
  return {name, [=](Function& f) { return op(in(f, "x", f32({2, 3, 2})), axes, keepdims); }};
}

OpCase mm(std::string name, Shape a, Shape b, bool ta, bool tb) {
  return {name, [=](Function& f) {
            Value x = in(f, "a", f32(a));
            return matmul(x, in(f, "b", f32(b)), ta, tb);
          }};
}

std::vector<OpCase> op_cases() {
  std::vector<OpCase> c = {
      unary("neg", neg), unary("abs", abs), unary("sign", sign), unary("exp", exp),
      unary("log", log, true), unary("log1p", log1p, true), unary("sqrt", sqrt, true),
      unary("rsqrt", rsqrt, true), unary("tanh", tanh), unary("sigmoid", sigmoid),
      unary("relu", relu), unary("sin", sin), unary("cos", cos), unary("floor", floor),
      unary("barrier", barrier), unary("erf", erf),
  };
  struct Bin { const char* name; Value (*op)(Value, Value); bool pa, pb; };
  const Bin bins[] = {{"add", add, false, false}, {"sub", sub, false, false},
                      {"mul", mul, false, false}, {"div", div, false, true},
                      {"pow", pow, true, false},  {"maximum", maximum, false, false},
                      {"minimum", minimum, false, false}};
  const std::pair<Shape, Shape> shapes[] = {
      {{2, 3}, {2, 3}}, {{2, 3}, {3}}, {{2, 1}, {1, 3}}, {{}, {2, 3}}, {{4, 1, 3}, {2, 1}}};
  for (const Bin& b : bins)
    for (const auto& [sa, sb] : shapes)
      c.push_back(binary(std::string(b.name) + "_" + shape_to_string(sa) + "_" + shape_to_string(sb),
                         b.op, sa, sb, b.pa, b.pb));
  c.push_back({"select_bool_input", [](Function& f) {
                 Value cond = in(f, "c", boolean({2, 3})), a = in(f, "a", f32({2, 3}));
                 return select(cond, a, in(f, "b", f32({3})));
               }});
  c.push_back({"select_compare", [](Function& f) {
                 Value a = in(f, "a", f32({2, 3})), b = in(f, "b", f32({2, 1}));
                 return select(greater(a, b), mul(a, b), sin(b));
               }});
  for (bool keep : {false, true}) {
    std::string k = keep ? "_keepdims" : "";
    for (auto [op, name] : {std::pair{&sum, "sum"}, {&mean, "mean"}, {&max, "max"}, {&min, "min"}}) {
      c.push_back(reduction(std::string(name) + "_all" + k, op, std::nullopt, keep));
      c.push_back(reduction(std::string(name) + "_axis1" + k, op, std::vector<int64_t>{1}, keep));
      c.push_back(reduction(std::string(name) + "_axes02" + k, op, std::vector<int64_t>{0, 2}, keep));
    }
  }
  c.push_back({"reshape", [](Function& f) { return reshape(in(f, "x", f32({2, 3})), {3, 1, 2}); }});
  c.push_back({"transpose", [](Function& f) { return transpose(in(f, "x", f32({2, 3, 4})), {1, 2, 0}); }});
  c.push_back({"broadcast_to_rank", [](Function& f) { return broadcast_to(in(f, "x", f32({3})), {2, 3}); }});
  c.push_back({"broadcast_to_ones", [](Function& f) { return broadcast_to(in(f, "x", f32({2, 1, 1})), {3, 2, 4, 2}); }});
  c.push_back({"slice", [](Function& f) { return slice(in(f, "x", f32({4, 5})), {1, 0}, {3, 4}); }});
  c.push_back({"slice_step", [](Function& f) { return slice(in(f, "x", f32({3, 7})), {0, 1}, {3, 7}, {2, 3}); }});
  c.push_back({"slice_step_exact", [](Function& f) { return slice(in(f, "x", f32({6})), {0}, {6}, {2}); }});
  c.push_back({"concat", [](Function& f) {
                 Value xs[] = {in(f, "a", f32({2, 1})), in(f, "b", f32({2, 3})), in(f, "c", f32({2, 2}))};
                 return concat(xs, 1);
               }});
  c.push_back({"concat_same_operand", [](Function& f) {
                 Value a = in(f, "a", f32({2, 2}));
                 Value xs[] = {a, exp(a), a};
                 return concat(xs, 0);
               }});
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      std::string t = std::string(ta ? "_ta" : "") + (tb ? "_tb" : "");
      c.push_back(mm("matmul" + t, ta ? Shape{3, 2} : Shape{2, 3}, tb ? Shape{4, 3} : Shape{3, 4}, ta, tb));
      c.push_back(mm("matmul_batched" + t, ta ? Shape{2, 3, 2} : Shape{2, 2, 3},
                     tb ? Shape{2, 4, 3} : Shape{2, 3, 4}, ta, tb));
    }
  c.push_back({"matmul_square_self", [](Function& f) { Value a = in(f, "a", f32({3, 3})); return matmul(a, a, false, true); }});
  c.push_back({"softmax_axis1", [](Function& f) { return softmax(in(f, "x", f32({2, 4})), 1); }});
  c.push_back({"softmax_axis0", [](Function& f) { return softmax(in(f, "x", f32({3, 2})), 0); }});
  c.push_back({"log_softmax_axis1", [](Function& f) { return log_softmax(in(f, "x", f32({2, 4})), 1); }});
  c.push_back({"log_softmax_axis0", [](Function& f) { return log_softmax(in(f, "x", f32({3, 2})), 0); }});
  c.push_back({"cross_entropy", [](Function& f) {
                 Value logits = in(f, "logits", f32({4, 3}));
                 return cross_entropy(logits, in(f, "labels", i32({4})));
               }});
  c.push_back({"cross_entropy_i64", [](Function& f) {
                 Value logits = in(f, "logits", f64({3, 5}));
                 return cross_entropy(logits, in(f, "labels", i64({3})));
               }});
  c.push_back({"cast_f32_f64", [](Function& f) { return cast(in(f, "x", f32({2, 3})), DType::f64); }});
  c.push_back({"cast_f64_f32", [](Function& f) { return cast(in(f, "x", f64({2, 3})), DType::f32); }});
  c.push_back({"one_hot_times_x", [](Function& f) {
                 Value oh = one_hot(in(f, "labels", i32({4})), 3);  // labels first
                 return mul(oh, in(f, "x", f32({4, 3})));
               }});
  for (bool rev : {false, true})
    for (bool excl : {false, true})
      c.push_back({std::string("cumsum") + (rev ? "_reverse" : "") + (excl ? "_exclusive" : ""),
                   [=](Function& f) { return cumsum(in(f, "x", f32({2, 4})), 1, rev, excl); }});
  c.push_back({"cumsum_axis0_f64", [](Function& f) { return cumsum(in(f, "x", f64({3, 2})), 0); }});
  // Repeated and negative indices: their gradients add up.
  auto idx = [](Function& f, Shape s, std::vector<double> v) {
    return constant(f, Tensor::from_doubles(DType::i32, std::move(s), v));
  };
  c.push_back({"gather_axis0", [=](Function& f) {
                 return gather(in(f, "x", f32({4, 3})), idx(f, {2, 2}, {0, 2, -1, 0}), 0);
               }});
  c.push_back({"gather_axis1_scalar_index", [=](Function& f) {
                 return gather(in(f, "x", f32({2, 3, 2})), idx(f, {}, {-2}), 1);
               }});
  c.push_back({"gather_indices_input", [](Function& f) {
                 Value x = in(f, "x", f32({5, 2}));
                 return gather(x, in(f, "i", i64({3})), 0);
               }});
  c.push_back({"gather_by_argmax", [](Function& f) {
                 Value x = in(f, "x", f32({3, 4}));
                 return gather(reshape(x, {12}), argmax(x, 1), 0);
               }});
  c.push_back({"scatter_add_axis0", [=](Function& f) {
                 Value base = in(f, "base", f32({4, 3}));
                 return scatter_add(base, idx(f, {3}, {1, -3, 3}), in(f, "u", f32({3, 3})), 0);
               }});
  c.push_back({"scatter_add_axis1_f64", [=](Function& f) {
                 Value base = in(f, "base", f64({2, 3}));
                 return scatter_add(base, idx(f, {2, 2}, {0, 0, 2, -1}), in(f, "u", f64({2, 2, 2})), 1);
               }});
  return c;
}

// f: z = sum(op(...) * W) for a random constant W; one grad of z per float
// input; then, for each float input x, s_x = sum(grad(z, x) * V_x) and the
// grads of s_x with respect to every float input (the second derivatives,
// as Hessian-vector products).
void build_checked(Function& f, const OpCase& c) {
  Stream s(7);
  Value y = c.build(f);
  Value z = sum(mul(y, random_constant(f, y->type(), s)));
  f.output(z);
  std::vector<Value> xs;
  for (Node* n : f.inputs())
    if (is_float(n->dtype())) xs.push_back(n);
  for (Value x : xs) {
    Value g = grad_op(z, x);
    f.output(g);
    Value sx = sum(mul(g, random_constant(f, x->type(), s)));
    for (Value x2 : xs) f.output(grad_op(sx, x2));
  }
}

class GradOp : public ::testing::TestWithParam<OpCase> {};

TEST_P(GradOp, FirstAndSecondDerivativesMatchFiniteDifferences) {
  Module m;
  Function& f = m.add_function("f");
  build_checked(f, GetParam());
  CheckGradOptions o;
  o.grad.allow_disconnected = true;  // second derivatives of piecewise-linear ops are zero
  for (uint64_t seed : {1, 2}) {
    std::vector<Tensor> inputs = kink_free_inputs(f, seed);
    expect_grads_match(f, inputs, o);
  }
}

INSTANTIATE_TEST_SUITE_P(AllOps, GradOp, ::testing::ValuesIn(op_cases()),
                         [](const ::testing::TestParamInfo<OpCase>& info) {
                           std::string n = info.param.name;
                           for (char& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

// Every op of the catalogue that takes a float operand and gives a float
// result is covered above; the rest carry no gradient by construction.
TEST(GradOp, EveryDifferentiableOpIsCovered) {
  std::map<std::string, bool> seen;
  for (const OpCase& c : op_cases()) {
    Module m;
    Function& f = m.add_function("f");
    Value y = c.build(f);
    for (Node* n : f) seen[std::string(op_name(n->op()))] = true;
    (void)y;
  }
  std::vector<std::string> missing;
  for (int k = 0; k < kNumOps; ++k) {
    Op op = static_cast<Op>(k);
    bool float_op = op != Op::Input && op != Op::Constant && op != Op::Grad && op != Op::Fused &&
                    op_kind(op) != OpKind::Compare && op != Op::StopGradient &&
                    op != Op::ArgMax && op != Op::ArgMin;
    if (float_op && !seen.count(std::string(op_name(op)))) missing.push_back(std::string(op_name(op)));
  }
  EXPECT_TRUE(missing.empty()) << "ops without a derivative test: " << ::testing::PrintToString(missing);
}

}  // namespace
}  // namespace nabla
