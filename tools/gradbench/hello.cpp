// hello: square(x) = x^2 and double(x) = d/dx x^2 = 2x, on one number.
#include "tools/gradbench/evals.h"
#include "nabla/ir/builder.h"
#include "nabla/passes/build_grad.h"

namespace nabla::gradbench {
namespace {

Parsed read(const llvm::json::Object& input) {
  return {{Tensor::scalar(DType::f64, number_field(input, "input"))}, {}};
}

void build_square(Function& f, const std::vector<int64_t>&) {
  Value x = f.input("x", f64());
  f.output(x * x);
}

void build_double(Function& f, const std::vector<int64_t>&) {
  Value x = f.input("x", f64());
  f.output(grad(x * x, {x})[0]);
}

llvm::json::Value write(const std::vector<Tensor>& results, const std::vector<int64_t>&) {
  return results[0].get(0);
}

}  // namespace

std::vector<EvalFunction> hello_functions() {
  return {{"hello", "square", read, build_square, write}, {"hello", "double", read, build_double, write}};
}

}  // namespace nabla::gradbench
