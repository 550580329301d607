#include "nabla/compiler/element_program.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "nabla/compiler/kernel_builder.h"
#include "nabla/compiler/loop_nest.h"
#include "nabla/compiler/lower.h"
#include "nabla/compiler/lower_indexed.h"
#include "nabla/compiler/lower_scalar.h"
#include "nabla/ir/fused_views.h"
#include "nabla/runtime/error.h"

namespace nabla {

const Function* fused_body(const Node& n) { return n.op() == Op::Fused ? n.body() : nullptr; }

const Node* fused_reduction(const Node& n) {
  if (const Function* body = fused_body(n))
    for (const Node* r : body->results())
      if (op_kind(r->op()) == OpKind::Reduce) return r;
  return nullptr;
}

ElementProgram element_program(const Node& kernel_node, const Node* value) {
  const Function* body = fused_body(kernel_node);
  if (body) return element_program(kernel_node, std::vector<const Node*>{value});
  ElementProgram p;
  p.value = value;
  p.values = {value};
  if (value == &kernel_node) {
    for (const Node* o : kernel_node.operands())
      if (std::find(p.leaves.begin(), p.leaves.end(), o) == p.leaves.end()) p.leaves.push_back(o);
    p.nodes.push_back(&kernel_node);
  } else {
    p.leaves.push_back(value);
  }
  return p;
}

ElementProgram element_program(const Node& kernel_node, const std::vector<const Node*>& values) {
  const Function* body = fused_body(kernel_node);
  if (!body) throw InternalError("an element program of several values needs a fused node");
  ElementProgram p;
  p.value = values.at(0);
  p.values = values;
  // The body nodes the values depend on, in body order; inputs, constants
  // and views (slices and concats read in place, ir/fused_views.h: what
  // they read is not a leaf of its own) are leaves.
  std::unordered_set<const Node*> wanted(values.begin(), values.end());
  std::vector<const Node*> work(values.begin(), values.end());
  while (!work.empty()) {
    const Node* n = work.back();
    work.pop_back();
    if (is_view_op(n->op()) || n->op() == Op::Gather) continue;  // what they read is not a leaf
    for (const Node* o : n->operands())
      if (wanted.insert(o).second) work.push_back(o);
  }
  for (const Node* in : body->inputs())
    if (wanted.count(in)) p.leaves.push_back(in);
  for (const Node* n : *body) {
    if (!wanted.count(n)) continue;
    if (n->op() == Op::Constant || is_view_op(n->op())) p.leaves.push_back(n);
    else if (n->op() == Op::Gather) p.gathers.push_back(n);
    else p.nodes.push_back(n);
    p.reads_views = p.reads_views || is_view_op(n->op());
  }
  return p;
}

bool calls_libm(const ElementProgram& p) {
  for (const Node* n : p.nodes)
    if (calls_libm(n->op())) return true;
  return false;
}

ScalarLoops::ScalarLoops(KernelBuilder& kb, bool on) : kb_(kb), saved_(kb.scalar_loops) {
  kb.scalar_loops = on || saved_;
}
ScalarLoops::~ScalarLoops() { kb_.scalar_loops = saved_; }

std::vector<std::vector<int64_t>> accessor_strides(const ElementProgram& p, const Shape& loop) {
  std::vector<std::vector<int64_t>> strides;
  for (const Node* l : p.leaves) strides.push_back(broadcast_strides(l->shape(), loop));
  for (const Node* g : p.gathers) {
    IndexedAccess a = indexed_access(*g);
    strides.push_back(aligned_strides(g->shape(), a.index, loop));
    strides.push_back(aligned_strides(g->shape(), a.table, loop));
  }
  return strides;
}

llvm::Value* leaf_pointer(KernelEnv& env, const Node* l) {
  if (l->function() != env.node.function()) {  // a node of a fused body
    if (l->op() == Op::Input) return env.operands.at(static_cast<size_t>(l->input_index()));
    if (l->op() != Op::Constant) throw InternalError("element program leaf is no input or constant of the body");
    const Tensor& v = l->attrs().value;
    return env.kb.constant_data(v.data(), v.nbytes(), "const");
  }
  auto ops = env.node.operands();
  auto it = std::find(ops.begin(), ops.end(), l);
  if (it == ops.end()) throw InternalError("element program leaf is not an operand");
  return env.operands[static_cast<size_t>(it - ops.begin())];
}

std::vector<llvm::Value*> leaf_pointers(KernelEnv& env, const ElementProgram& p) {
  std::vector<llvm::Value*> ptrs;
  for (const Node* l : p.leaves) ptrs.push_back(leaf_pointer(env, l));
  for (const Node* g : p.gathers) {
    ptrs.push_back(leaf_pointer(env, g->operand(1)));
    ptrs.push_back(leaf_pointer(env, g->operand(0)));
  }
  return ptrs;
}

llvm::Value* emit_program(KernelBuilder& kb, const ElementProgram& p,
                          std::span<llvm::Value* const> leaf_ptrs,
                          std::span<llvm::Value* const> leaf_offsets) {
  ElementProgram one = p;
  one.values = {p.value};
  return emit_program_values(kb, one, leaf_ptrs, leaf_offsets)[0];
}

std::vector<llvm::Value*> emit_program_values(KernelBuilder& kb, const ElementProgram& p,
                                              std::span<llvm::Value* const> leaf_ptrs,
                                              std::span<llvm::Value* const> leaf_offsets) {
  std::vector<llvm::Value*> leaves;
  for (size_t i = 0; i < p.leaves.size(); ++i)
    leaves.push_back(kb.load(p.leaves[i]->dtype(), leaf_ptrs[i], leaf_offsets[i]));
  for (size_t g = 0, i = p.leaves.size(); g < p.gathers.size(); ++g, i += 2)
    leaves.push_back(emit_indexed_read(kb, *p.gathers[g], leaf_ptrs[i], leaf_offsets[i], leaf_ptrs[i + 1],
                                       leaf_offsets[i + 1]));
  return compute_program(kb, p, {leaves})[0];
}

std::vector<std::vector<llvm::Value*>> compute_program(
    KernelBuilder& kb, const ElementProgram& p, const std::vector<std::vector<llvm::Value*>>& leaf_values) {
  std::vector<std::unordered_map<const Node*, llvm::Value*>> values(leaf_values.size());
  for (size_t c = 0; c < values.size(); ++c) {
    for (size_t i = 0; i < p.leaves.size(); ++i) values[c][p.leaves[i]] = leaf_values[c][i];
    for (size_t g = 0; g < p.gathers.size(); ++g) values[c][p.gathers[g]] = leaf_values[c][p.leaves.size() + g];
  }
  for (const Node* n : p.nodes) {
    for (auto& copy : values) {
      std::vector<llvm::Value*> args;
      for (const Node* o : n->operands()) args.push_back(copy.at(o));
      copy[n] = emit_element(kb, *n, args);
    }
  }
  std::vector<std::vector<llvm::Value*>> out(values.size());
  for (size_t c = 0; c < values.size(); ++c)
    for (const Node* v : p.values) out[c].push_back(values[c].at(v));
  return out;
}

}  // namespace nabla
