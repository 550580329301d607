// build-grad on the seeded random graphs of tests/support (every op, with
// broadcasting shapes and rewrite patterns): gradients of every float input
// and of intermediate values, then second derivatives, always verify, and
// agree with central differences in f64.
#include <unordered_map>
#include <unordered_set>

#include "grad_util.h"
#include "nabla/ir/printer.h"
#include "nabla/ir/verifier.h"
#include "nabla/passes/derivatives.h"
#include "tests/support/random_graph.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using namespace gradtest;
constexpr uint64_t kGraphs = 200;

// True when an op on the way to z sits where its derivative is infinite
// (sqrt, rsqrt or log of 0, log1p of -1, a division by 0, pow of a base <= 0).
bool singular(const Node& n, const std::vector<Tensor>& operands) {
  auto any = [&](size_t i, auto pred) {
    for (int64_t k = 0; k < operands[i].numel(); ++k)
      if (pred(operands[i].get(k))) return true;
    return false;
  };
  switch (n.op()) {
    case Op::Sqrt: case Op::Rsqrt: case Op::Log: return any(0, [](double x) { return x == 0; });
    case Op::Log1p: return any(0, [](double x) { return x == -1; });
    case Op::Div: return any(1, [](double x) { return x == 0; });
    case Op::Pow: return any(0, [](double x) { return x <= 0; });
    default: return false;
  }
}

// True when every value z is computed from is finite on these inputs and no
// op on the way is at a singular point. (Where an intermediate or a local
// derivative is infinite, the chain rule meets 0 * inf, as in any symbolic
// differentiation: sqrt(cross_entropy) of one class is 0 with derivative 0,
// but sqrt's factor is inf and cross_entropy's 0. Such graphs say nothing
// about the rules.)
bool finite_above(const Function& f, const Node* z, std::span<const Tensor> inputs) {
  std::unordered_set<const Node*> above{z};
  std::vector<const Node*> stack{z};
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    for (Node* o : n->operands())
      if (above.insert(o).second) stack.push_back(o);
  }
  std::unordered_map<const Node*, Tensor> v;
  for (size_t i = 0; i < inputs.size(); ++i) v[f.inputs()[i]] = inputs[i];
  for (Node* n : f) {
    std::vector<Tensor> ops;
    for (Node* o : n->operands()) ops.push_back(v.at(o));
    if (above.count(n) && singular(*n, ops)) return false;
    v[n] = evaluate(*n, ops);
    if (n == z) break;
  }
  for (const auto& [n, t] : v)
    if (above.count(n) && is_float(t.dtype()))
      for (int64_t i = 0; i < t.numel(); ++i)
        if (!std::isfinite(t.get(i))) return false;
  return true;
}

// The first float result of a random graph, summed to a scalar, or null.
Value scalar_of_a_float_result(Function& f) {
  for (Node* r : f.results())
    if (is_float(r->dtype())) return sum(r);
  return {};
}

TEST(GradRandomGraph, ExpandsVerifiesAndMatchesFiniteDifferences) {
  int checked = 0, grads = 0, skipped = 0;
  for (uint64_t seed = 0; seed < kGraphs; ++seed) {
    test::RandomGraphOptions o;
    o.special_rate = 0;  // no inf/NaN constants: finite differences need finite values
    Module m = test::random_graph(seed, o);
    Function& f = *m.find("random");
    Value z = scalar_of_a_float_result(f);
    if (!z.node) continue;
    std::vector<Tensor> inputs = test::random_inputs(f, seed, 0.0);
    bool finite = false;
    try {
      finite = finite_above(f, z, inputs);
    } catch (const Error&) {  // a run-time error of the forward graph (a label out of range)
    }
    if (!finite) {
      ++skipped;
      continue;
    }
    // Targets: the float inputs and every third float body node.
    std::vector<Value> targets;
    for (Node* in : f.inputs())
      if (is_float(in->dtype())) targets.push_back(in);
    int k = 0;
    for (Node* n : f)
      if (n != z.node && is_float(n->dtype()) && k++ % 3 == 0) targets.push_back(n);
    for (Value t : targets) f.output(grad_op(z, t));
    // A second derivative: grad of <grad z wrt the first target, 1>.
    if (!targets.empty()) {
      Value g = grad_op(z, targets[0]);
      f.output(grad_op(sum(g), targets[0]));
    }
    CheckGradOptions co;
    co.grad.allow_disconnected = true;
    co.directions = 2;
    co.max_elementwise = 8;
    CheckGradReport r = check_grad(f, inputs, co);
    std::ostringstream os;
    print_report(os, r);
    EXPECT_TRUE(r.ok()) << "seed " << seed << "\n" << os.str() << print(f);
    grads += static_cast<int>(r.grads.size());
    ++checked;
    // The expansion itself, in the graph's own dtypes, is well formed.
    ASSERT_NO_THROW(build_grad(f, {.allow_disconnected = true})) << "seed " << seed;
    ASSERT_NO_THROW(verify(f)) << "seed " << seed;
  }
  std::cout << checked << " random graphs, " << grads << " gradients checked, " << skipped
            << " skipped (an inf or NaN value, a singular point or a run-time error on the way to z)\n";
  EXPECT_GT(checked, static_cast<int>(kGraphs) / 2);
}

}  // namespace
}  // namespace nabla
