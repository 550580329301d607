// Elementwise kernels: one loop nest over the result that computes each
// element from its operands' elements (a single op, a fused region, or a
// group of fused nodes of one body that stores several results per element).
#include "nabla/compiler/element_program.h"
#include "nabla/compiler/kernel_builder.h"
#include "nabla/compiler/loop_nest.h"
#include "nabla/compiler/lower.h"
#include "nabla/compiler/stream_stores.h"
#include "nabla/ir/fused.h"

namespace nabla {
namespace {

constexpr size_t kLongProgram = 16;  // computed nodes per element
constexpr int64_t kLongLoop = 1024;  // elements of the innermost loop

// The program's value over the kernel's result shape: accessors are the
// leaves (broadcast), then the result(s), which share one offset.
LoopNest elementwise_nest(const Node& n, const ElementProgram& p) {
  std::vector<std::vector<int64_t>> strides;
  for (const Shape& s : leaf_shapes(p)) strides.push_back(broadcast_strides(s, n.shape()));
  strides.push_back(row_major_strides(n.shape()));
  return make_loop_nest(n.shape(), std::move(strides));
}

// The body values the kernel stores: the node's own body result, or for a
// group, the body result of each stored node.
std::vector<const Node*> program_roots(const Node& n, const std::vector<const Node*>& group) {
  const Function* body = fused_body(n);
  if (!body) return {&n};
  std::vector<const Node*> roots;
  if (group.empty()) roots.push_back(body->results()[static_cast<size_t>(n.body_result())]);
  for (const Node* m : group) roots.push_back(body->results()[static_cast<size_t>(m->body_result())]);
  return roots;
}

ElementProgram program_of(const Node& n, const std::vector<const Node*>& group) {
  std::vector<const Node*> roots = program_roots(n, group);
  return fused_body(n) ? element_program(n, roots) : element_program(n, roots[0]);
}

}  // namespace

KernelInfo describe_elementwise(const Node& n, const LowerOptions& o) {
  std::vector<const Node*> group;
  if (n.body() && n.body()->results().size() > 1)
    for (const Node* m : fused_group(&n)) group.push_back(m);
  ElementProgram p = program_of(n, group);
  LoopNest nest = elementwise_nest(n, p);
  KernelInfo info;
  info.kind = "elementwise";
  info.tasks = nest.shape.empty() ? 1 : nest.shape[0];
  info.work = n.type().numel() * static_cast<int64_t>(p.nodes.size() + p.values.size());
  return info;
}

void emit_elementwise(KernelEnv& env) {
  KernelBuilder& kb = env.kb;
  ElementProgram p = program_of(env.node, env.group);
  LoopNest nest = elementwise_nest(env.node, p);
  std::vector<llvm::Value*> ptrs = leaf_pointers(env, p);
  std::vector<llvm::Value*> outs = env.group.empty() ? std::vector<llvm::Value*>{env.result} : env.group_results;
  ScalarLoops scalar(kb, calls_libm(p));
  // A long per-element computation is one dependent chain per vector: the
  // loop is latency bound (about one instruction per cycle here on the
  // elementwise bench). Four interleaved vector iterations give the core
  // independent chains (60 -> 37 ms on that bench, 1 thread); short inner
  // loops would only run the scalar remainder, so they keep LLVM's choice.
  bool long_program = p.nodes.size() >= kLongProgram;
  int saved = kb.interleave;
  if (long_program && !nest.shape.empty() && nest.shape.back() >= kLongLoop) kb.interleave = 4;
  auto regular = [&](llvm::Value* begin, llvm::Value* end) {
    emit_loop_nest(kb, nest, [&](std::span<llvm::Value* const> at) {
      std::vector<llvm::Value*> v = emit_program_values(kb, p, ptrs, at.first(p.leaves.size()));
      for (size_t i = 0; i < outs.size(); ++i) kb.store(p.values[i]->dtype(), v[i], outs[i], at.back());
    }, begin, end);
  };
  // The streaming loop is nabla's own, with 8 vectors per iteration for long
  // programs: on the elementwise bench 8 beat 4 by about 10%. (Asked of
  // LLVM's vectorizer, 8 overflow the mask registers on chains of relu.)
  if (can_stream(env, p, nest))
    emit_streaming(env, p, nest, ptrs, outs, regular, long_program ? 8 : 2);
  else
    regular(env.begin, env.end);
  kb.interleave = saved;
}

}  // namespace nabla
