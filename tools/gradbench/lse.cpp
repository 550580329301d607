// lse: LSE(x) = a + log sum_i exp(x_i - a) with a = max x, and its gradient.
// a is held fixed (stop_gradient): LSE does not depend on it, so its
// derivative through a is zero and need not be computed.
#include "tools/gradbench/evals.h"
#include "nabla/ir/builder.h"
#include "nabla/passes/build_grad.h"

namespace nabla::gradbench {
namespace {

Parsed read(const llvm::json::Object& input) {
  std::vector<double> x = vector_field(input, "x");
  if (x.empty()) throw Error("field \"x\": expected at least one number");
  int64_t n = static_cast<int64_t>(x.size());
  return {{Tensor::from_doubles(DType::f64, {n}, x)}, {n}};
}

Value lse(Value x) {
  Value a = stop_gradient(max(x));
  return a + log(sum(exp(x - a)));
}

void build_primal(Function& f, const std::vector<int64_t>& sizes) {
  f.output(lse(f.input("x", f64({sizes[0]}))));
}

void build_gradient(Function& f, const std::vector<int64_t>& sizes) {
  Value x = f.input("x", f64({sizes[0]}));
  f.output(grad(lse(x), {x})[0]);
}

}  // namespace

std::vector<EvalFunction> lse_functions() {
  return {{"lse", "primal", read, build_primal, write_scalar},
          {"lse", "gradient", read, build_gradient, write_array}};
}

}  // namespace nabla::gradbench
