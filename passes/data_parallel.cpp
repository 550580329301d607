#include "nabla/passes/data_parallel.h"

#include "nabla/ir/builder.h"

namespace nabla {

std::vector<Value> data_parallel_grad(Value loss, std::span<const Value> params, GradOptions options) {
  std::vector<Value> grads = grad(loss, params, options);
  for (Value& g : grads) g = all_reduce(g, Reduction::mean);
  return grads;
}

}  // namespace nabla
