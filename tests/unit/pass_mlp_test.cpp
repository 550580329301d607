// The lecture's MLP (examples/mlp.nabla) with dJ/dW1 and dJ/dW2: after
// build-grad and the default pipeline, the gradient function has no two nodes
// cse could merge, no dead node and no explicit transpose feeding a matmul,
// and computes the same values. Prints the node counts (docs/passes.md).
#include <gtest/gtest.h>

#include <iostream>
#include <map>

#include "nabla/ir/builder.h"
#include "nabla/ir/interpreter.h"
#include "nabla/ir/parser.h"
#include "nabla/ir/printer.h"
#include "nabla/ir/random_inputs.h"
#include "nabla/passes/pass_manager.h"
#include "nabla/passes/registry.h"
#include "tests/support/pass_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

std::string op_histogram(const Function& f) {
  std::map<std::string_view, int> counts;
  for (const Node* n : f) counts[op_name(n->op())]++;
  std::string s;
  for (const auto& [name, count] : counts) s += (s.empty() ? "" : ", ") + std::string(name) + " " + std::to_string(count);
  return s;
}

TEST(PassMlp, GradientAfterTheDefaultPipeline) {
  if (!create_pass("build-grad")) GTEST_SKIP() << "build-grad is not registered yet";
  Module m = parse_file(std::string(NABLA_SOURCE_DIR) + "/examples/mlp.nabla");
  Function& f = *m.find("mlp");
  Value J = f.results().at(0);
  f.output(grad_op(J, f.find_input("W1")));
  f.output(grad_op(J, f.find_input("W2")));

  PassManagerOptions verify;
  verify.verify_each = true;
  PassManager(verify).add("build-grad").run(m);
  size_t expanded = f.size();
  std::string expanded_ops = op_histogram(f);
  std::vector<Tensor> inputs = random_inputs(f, 3);
  std::vector<Tensor> before = interpret(f, inputs);
  EXPECT_GT(test::dead_nodes(f) + test::mergeable_pairs(f), 0)
      << "nothing to clean: the test would not show anything";

  PassManager pm(verify);
  pm.add(default_pipeline());
  pm.run(m);
  std::cout << "MLP gradient function: " << expanded << " nodes after build-grad ("
            << expanded_ops << "), " << f.size() << " after the default pipeline ("
            << op_histogram(f) << ")\n";
  pm.print_statistics(std::cout);

  EXPECT_EQ(test::mergeable_pairs(f), 0) << print(f);
  EXPECT_EQ(test::dead_nodes(f), 0) << print(f);
  EXPECT_EQ(test::transposes_feeding_matmul(f), 0) << print(f);
  EXPECT_EQ(test::count_ops(f, Op::Grad), 0);
  EXPECT_LT(f.size(), expanded);
  std::vector<Tensor> after = interpret(f, inputs);
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(before[i].same_as(after[i])) << "result " << i;
}

}  // namespace
}  // namespace nabla
