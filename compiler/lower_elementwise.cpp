// Elementwise kernels: one loop nest over the result that computes each
// element from its operands' elements (a single op, or a fused region).
#include "compiler/element_program.h"
#include "compiler/kernel_builder.h"
#include "compiler/loop_nest.h"
#include "compiler/lower.h"

namespace nabla {
namespace {

// The program's value over the kernel's result shape: accessors are the
// leaves (broadcast), then the result.
LoopNest elementwise_nest(const Node& n, const ElementProgram& p) {
  std::vector<std::vector<int64_t>> strides;
  for (const Shape& s : leaf_shapes(p)) strides.push_back(broadcast_strides(s, n.shape()));
  strides.push_back(row_major_strides(n.shape()));
  return make_loop_nest(n.shape(), std::move(strides));
}

const Node* program_root(const Node& n) {
  const Function* body = fused_body(n);
  return body ? body->results()[0] : &n;
}

}  // namespace

KernelInfo describe_elementwise(const Node& n, const LowerOptions& o) {
  ElementProgram p = element_program(n, program_root(n));
  LoopNest nest = elementwise_nest(n, p);
  KernelInfo info;
  info.kind = "elementwise";
  info.tasks = nest.shape.empty() ? 1 : nest.shape[0];
  info.work = n.type().numel() * static_cast<int64_t>(p.nodes.size() + 1);
  return info;
}

void emit_elementwise(KernelEnv& env) {
  KernelBuilder& kb = env.kb;
  ElementProgram p = element_program(env.node, program_root(env.node));
  LoopNest nest = elementwise_nest(env.node, p);
  std::vector<llvm::Value*> ptrs = leaf_pointers(env, p);
  DType out = env.node.dtype();
  ScalarLoops scalar(kb, calls_libm(p));
  emit_loop_nest(kb, nest, [&](std::span<llvm::Value* const> at) {
    llvm::Value* v = emit_program(kb, p, ptrs, at.first(p.leaves.size()));
    kb.store(out, v, env.result, at.back());
  }, env.begin, env.end);
}

}  // namespace nabla
