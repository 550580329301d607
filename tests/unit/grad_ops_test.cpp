// Every differentiable op: first and second derivatives against central
// differences in f64 (check_grad), on kink-free random inputs, with
// broadcasting shapes, keepdims, batched and transposed matmuls.
#include "grad_util.h"
#include "tests/unit/op_cases.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using namespace gradtest;

// f: z = sum(op(...) * W) for a random constant W; one grad of z per float
// input; then, for each float input x, s_x = sum(grad(z, x) * V_x) and the
// grads of s_x with respect to every float input (the second derivatives,
// as Hessian-vector products).
void build_checked(Function& f, const test::GradCase& c) {
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

class GradOp : public ::testing::TestWithParam<test::GradCase> {};

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

INSTANTIATE_TEST_SUITE_P(AllOps, GradOp, ::testing::ValuesIn(test::grad_cases()),
                         [](const ::testing::TestParamInfo<test::GradCase>& info) {
                           std::string n = info.param.name;
                           for (char& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

// catalogue_test checks that every differentiable op has a case in grad_cases.

}  // namespace
}  // namespace nabla
