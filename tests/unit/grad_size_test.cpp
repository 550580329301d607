// The size of the gradient graph: linear in the forward graph, with the
// constants stated in docs/autodiff.md, for a long chain and for a wide
// layered DAG (where naive path-by-path differentiation would blow up
// exponentially), first and second order.
#include "grad_util.h"
#include "nabla/passes/derivatives.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using namespace gradtest;

// The constants stated in docs/autodiff.md ("Size").
constexpr double kFirstOrderPerNode = 3.0;
constexpr double kSecondOrderPerNode = 8.0;

// A chain of `length` elementwise ops on f32[4], cycling through unary and
// binary ops (the binary ones take a second input `w`).
Value chain(Function& f, Value x, Value w, int length) {
  Value v = x;
  for (int k = 0; k < length; ++k) {
    switch (k % 8) {
      case 0: v = sin(v); break;
      case 1: v = tanh(v); break;
      case 2: v = mul(v, w); break;
      case 3: v = sigmoid(v); break;
      case 4: v = add(v, w); break;
      case 5: v = relu(v); break;
      case 6: v = maximum(v, w); break;
      default: v = exp(neg(abs(v))); ++k; break;
    }
  }
  return sum(v);
}

// `width` values per layer, `depth` layers; value j of layer l combines values
// j and j+1 of layer l-1 with mul, add, sub or maximum, so each value reaches
// z along exponentially many paths.
Value layered(Function& f, std::span<const Value> inputs, int depth) {
  std::vector<Value> layer(inputs.begin(), inputs.end());
  size_t width = layer.size();
  for (int l = 1; l < depth; ++l) {
    std::vector<Value> next;
    for (size_t j = 0; j < width; ++j) {
      Value a = layer[j], b = layer[(j + 1) % width];
      switch ((l + j) % 4) {
        case 0: next.push_back(mul(a, b)); break;
        case 1: next.push_back(add(a, b)); break;
        case 2: next.push_back(sub(a, b)); break;
        default: next.push_back(maximum(a, b)); break;
      }
    }
    layer = std::move(next);
  }
  Value z = sum(layer[0]);
  for (size_t j = 1; j < width; ++j) z = add(z, sum(layer[j]));
  return z;
}

struct Sizes {
  size_t forward, first, second;
};

// Builds the forward graph, then the gradient of z in `targets`, then a
// Hessian-vector product of z in targets[0]; counts the nodes each adds.
template <class Build>
Sizes measure(Build build) {
  Module m;
  Function& f = m.add_function("f");
  auto [z, targets] = build(f);
  Sizes s{f.size(), 0, 0};
  for (Value g : grad(z, targets)) f.output(g);
  s.first = f.size() - s.forward;
  size_t before = f.size();
  Value x = targets[0];
  f.output(hvp(z, x, constant(f, Tensor(x->dtype(), x->shape()))));
  s.second = f.size() - before;
  return s;
}

void expect_linear(const Sizes& s, const char* what) {
  double first = static_cast<double>(s.first) / static_cast<double>(s.forward);
  double second = static_cast<double>(s.second) / static_cast<double>(s.forward);
  std::cout << what << ": forward " << s.forward << " nodes, gradient +" << s.first << " ("
            << first << " per forward node), hvp +" << s.second << " (" << second << ")\n";
  EXPECT_LE(first, kFirstOrderPerNode) << what;
  EXPECT_LE(second, kSecondOrderPerNode) << what;
}

TEST(GradSize, ChainOf1000ElementwiseOps) {
  Sizes s = measure([](Function& f) {
    Value x = f.input("x", f32({4})), w = f.input("w", f32({4}));
    return std::pair{chain(f, x, w, 1000), std::vector<Value>{x, w}};
  });
  EXPECT_GE(s.forward, 1000u);
  expect_linear(s, "chain of 1000");
}

TEST(GradSize, LayeredDag100By100) {
  Sizes s = measure([](Function& f) {
    std::vector<Value> ins;
    for (int j = 0; j < 100; ++j) ins.push_back(f.input("x" + std::to_string(j), f32({2})));
    return std::pair{layered(f, ins, 100), ins};
  });
  EXPECT_GE(s.forward, 10000u);
  expect_linear(s, "100x100 layered DAG");
}

// Doubling the graph doubles the gradient: the constant does not creep up.
TEST(GradSize, GrowthIsLinear) {
  auto chain_of = [](int n) {
    return measure([n](Function& f) {
      Value x = f.input("x", f32({4})), w = f.input("w", f32({4}));
      return std::pair{chain(f, x, w, n), std::vector<Value>{x, w}};
    });
  };
  Sizes a = chain_of(400), b = chain_of(800);
  EXPECT_LE(static_cast<double>(b.first), 2.0 * static_cast<double>(a.first) + 8);
  EXPECT_LE(static_cast<double>(b.second), 2.0 * static_cast<double>(a.second) + 8);
}

// The gradients of the small DAG are right too (so the size tests measure a
// correct construction): 6 x 6 against finite differences.
TEST(GradSize, SmallLayeredDagMatchesFiniteDifferences) {
  Module m;
  Function& f = m.add_function("f");
  std::vector<Value> ins;
  for (int j = 0; j < 6; ++j) ins.push_back(f.input("x" + std::to_string(j), f32({2})));
  Value z = layered(f, ins, 6);
  f.output(z);
  for (Value x : ins) f.output(grad_op(z, x));
  std::vector<Tensor> inputs = kink_free_inputs(f, 3);
  expect_grads_match(f, inputs);
}

// A chain far longer than any recursion could follow: build_grad stays one
// level deep.
TEST(GradSize, VeryLongChainNeedsNoDeepRecursion) {
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f64());
  Value v = x;
  for (int k = 0; k < 100000; ++k) v = mul(v, 1.0);
  f.output(grad(sum(v), {x})[0]);
  EXPECT_EQ(values(run(f, {Tensor::scalar(DType::f64, 2)})[0]), std::vector<double>{1});
}

}  // namespace
}  // namespace nabla
