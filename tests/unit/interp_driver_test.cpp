// Interpreter driver: input checks, evaluate() on single nodes (as constant
// folding uses it), grad/input refusal, several results, Algorithm 1 order.
#include "tests/unit/interp_util.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using namespace nabla::testing;

class InterpDriver : public ::testing::Test {
 protected:
  Module m;
  Function& f = m.function("mlp");
  Value x = f.input("x", f32({2, 3}));
  Value w = f.input("w", f32({3, 1}));
};

TEST_F(InterpDriver, ChecksInputs) {
  f.output(matmul(x, w));
  Tensor good_x = f32t({2, 3}, {1, 2, 3, 4, 5, 6}), good_w = f32t({3, 1}, {1, 0, -1});
  EXPECT_EQ(error_of([&] { interpret(f, std::vector<Tensor>{good_x}); }),
            "@mlp: expected 2 inputs, got 1");
  EXPECT_EQ(error_of([&] { interpret(f, std::vector<Tensor>{good_x, good_w, good_w}); }),
            "@mlp: expected 2 inputs, got 3");
  EXPECT_EQ(error_of([&] { interpret(f, std::vector<Tensor>{good_x.clone(), f64t({3, 1}, {1, 0, -1})}); }),
            "@mlp: input %w expects f32[3,1], got f64[3,1]");
  EXPECT_EQ(error_of([&] { interpret(f, std::vector<Tensor>{f32t({3, 2}, {1, 2, 3, 4, 5, 6}), good_w}); }),
            "@mlp: input %x expects f32[2,3], got f32[3,2]");
  EXPECT_EQ(error_of([&] { interpret(f, std::vector<Tensor>{Tensor(), good_w}); }),
            "@mlp: input %x expects f32[2,3], got no tensor");
  std::vector<Tensor> out = interpret(f, std::vector<Tensor>{good_x, good_w});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(values(out[0]), (std::vector<double>{-2, -2}));
}

TEST_F(InterpDriver, SeveralResultsAreOwnedCopies) {
  Value s = sum(x);
  f.output(s);
  f.output(x);
  f.output(s);
  Tensor in_x = f32t({2, 3}, {1, 2, 3, 4, 5, 6});
  std::vector<Tensor> out = interpret(f, std::vector<Tensor>{in_x, f32t({3, 1}, {0, 0, 0})});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(values(out[0]), std::vector<double>{21});
  EXPECT_TRUE(out[1].same_as(in_x));
  out[1].set(0, 100);
  out[2].set(0, 100);
  EXPECT_EQ(in_x.get(0), 1);
  EXPECT_EQ(out[0].get(0), 21);
}

TEST_F(InterpDriver, EvaluateOneNode) {
  Value c = constant(f, f32t({3, 1}, {1, 2, 3}));
  Value sum_node = w + c;
  // Constant folding evaluates nodes on their operands' values.
  Tensor folded = evaluate(*c.node, {});
  EXPECT_TRUE(folded.same_as(f32t({3, 1}, {1, 2, 3})));
  std::vector<Tensor> args = {f32t({3, 1}, {10, 20, 30}), folded};
  EXPECT_EQ(values(evaluate(*sum_node.node, args)), (std::vector<double>{11, 22, 33}));
  std::vector<Tensor> bad = {f32t({3}, {1, 2, 3}), folded};
  EXPECT_EQ(error_of([&] { evaluate(*sum_node.node, bad); }),
            "add: operand 0 expects f32[3,1], got f32[3]");
  EXPECT_EQ(error_of([&] { evaluate(*sum_node.node, std::vector<Tensor>{folded}); }),
            "add: expected 2 operand values, got 1");
  EXPECT_EQ(error_of([&] { evaluate(*x.node, {}); }),
            "input: an input has no value of its own; pass it to interpret");
  // The op-level form re-checks the result type the caller claims.
  std::vector<Tensor> ops = {f32t({3}, {1, 2, 3}), f32t({3}, {1, 2, 3})};
  EXPECT_EQ(values(evaluate(Op::Mul, Attrs{}, f32({3}), ops)), (std::vector<double>{1, 4, 9}));
  EXPECT_EQ(error_of([&] { evaluate(Op::Mul, Attrs{}, f32({4}), ops); }),
            "mul: operands f32[3], f32[3] give f32[3], not the expected f32[4]");
  std::vector<Tensor> mismatched = {f32t({3}, {1, 2, 3}), f32t({4}, {1, 2, 3, 4})};
  EXPECT_EQ(error_of([&] { evaluate(Op::Add, Attrs{}, f32({3}), mismatched); }),
            "add: cannot broadcast f32[3] with f32[4]");
}

TEST_F(InterpDriver, GradMustBeExpandedFirst) {
  Value loss = sum(matmul(x, w));
  f.output(grad_op(loss, w));
  EXPECT_EQ(error_of([&] {
              interpret(f, std::vector<Tensor>{f32t({2, 3}, {1, 2, 3, 4, 5, 6}), f32t({3, 1}, {0, 0, 0})});
            }),
            "grad: run the build-grad pass before evaluating");
}

TEST_F(InterpDriver, EvaluationErrorsNameTheNode) {
  Value labels = f.input("labels", i64({2}));
  Value loss = cross_entropy(matmul(x, w), labels);  // logits f32[2,1]: one class
  f.output(loss);
  std::vector<Tensor> in = {f32t({2, 3}, {1, 2, 3, 4, 5, 6}), f32t({3, 1}, {0, 0, 0}),
                            i64t({2}, {0, 1})};
  try {
    interpret(f, in);
    ADD_FAILURE() << "no error";
  } catch (const EvaluationError& e) {
    EXPECT_EQ(std::string(e.what()), "cross_entropy: label 1 at index 1 is outside [0, 1)");
    EXPECT_EQ(e.node(), loss.node);
  }
}

TEST_F(InterpDriver, ForwardPropagationInGraphOrder) {
  // The lecture's logistic regression y = sigmoid(x w + b), with b a constant
  // ln 3 and x w = [0, -2 ln 3]: y = [sigmoid(ln 3), sigmoid(-ln 3)] = [0.75, 0.25].
  double ln3 = std::log(3.0);
  Value u = matmul(x, w);
  Value y = sigmoid(u + constant(f, ln3, DType::f32));
  f.output(y);
  f.output(u);
  std::vector<Tensor> out = interpret(
      f, std::vector<Tensor>{f32t({2, 3}, {1, 1, 1, 0, 2, 0}), f32t({3, 1}, {1, -ln3, ln3 - 1})});
  expect_near(values(out[0]), {0.75, 0.25});
  expect_near(values(out[1]), {0, -2 * ln3});
}

}  // namespace
}  // namespace nabla
