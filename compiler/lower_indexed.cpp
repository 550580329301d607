// Indexed reads and writes inside loop nests (compiler/lower_indexed.h).
#include "nabla/compiler/lower_indexed.h"

#include <cmath>

#include "nabla/compiler/element_program.h"
#include "nabla/compiler/kernel_builder.h"
#include "nabla/compiler/loop_nest.h"
#include "nabla/runtime/abi.h"
#include "nabla/runtime/error.h"

namespace nabla {

IndexedAccess indexed_access(const Node& n) {
  const Shape& x = n.operand(0)->shape();
  const Shape& idx = n.operand(1)->shape();
  size_t axis = static_cast<size_t>(n.attrs().axis);
  std::vector<int64_t> xs = row_major_strides(x), is = row_major_strides(idx);
  IndexedAccess a;
  a.axis_stride = xs[axis];
  a.bound = x[axis];
  for (size_t d = 0; d < axis; ++d) a.index.push_back(0), a.table.push_back(xs[d]);
  for (size_t d = 0; d < idx.size(); ++d) a.index.push_back(is[d]), a.table.push_back(0);
  for (size_t d = axis + 1; d < x.size(); ++d) a.index.push_back(0), a.table.push_back(xs[d]);
  return a;
}

std::vector<int64_t> aligned_strides(const Shape& from, const std::vector<int64_t>& strides, const Shape& to) {
  if (from.size() > to.size()) throw InternalError("aligned_strides: more axes than the loop");
  std::vector<int64_t> out(to.size(), 0);
  size_t lead = to.size() - from.size();
  for (size_t i = 0; i < from.size(); ++i) out[lead + i] = from[i] == 1 ? 0 : strides[i];
  return out;
}

llvm::Value* load_index(KernelBuilder& kb, DType t, llvm::Value* ptr, llvm::Value* at) {
  return kb.b.CreateSExt(kb.load(t, ptr, at), kb.i64_type());
}

llvm::Value* index_position(KernelBuilder& kb, llvm::Value* v, int64_t bound) {
  return kb.b.CreateSelect(kb.b.CreateICmpSLT(v, kb.i64(0)), kb.b.CreateAdd(v, kb.i64(bound)), v);
}

llvm::Value* emit_indexed_read(KernelBuilder& kb, const Node& g, llvm::Value* index, llvm::Value* index_at,
                               llvm::Value* table, llvm::Value* table_at) {
  IndexedAccess a = indexed_access(g);
  llvm::Value* k = index_position(kb, load_index(kb, g.operand(1)->dtype(), index, index_at), a.bound);
  return kb.load(g.dtype(), table, kb.b.CreateAdd(table_at, kb.b.CreateMul(k, kb.i64(a.axis_stride))));
}

// Unsigned v + bound < 2 bound: v in [-bound, bound).
void check_indices(KernelEnv& env, const Node& idx, llvm::Value* ptr, int64_t bound, std::string_view op) {
  KernelBuilder& kb = env.kb;
  kb.loop(kb.i64(0), kb.i64(idx.type().numel()), [&](llvm::Value* p) {
    llvm::Value* v = load_index(kb, idx.dtype(), ptr, p);
    llvm::Value* bad = kb.b.CreateICmpUGE(kb.b.CreateAdd(v, kb.i64(bound)), kb.i64(2 * bound));
    env.fail_if(bad, NABLA_INDEX_OUT_OF_RANGE, v, p, bound, op);
  }, 1, "index");
}

namespace {

bool indexed_op(const Node* n) { return n->op() == Op::Gather || n->op() == Op::ScatterAdd; }

}  // namespace

bool indexes(const Node& n) {
  if (n.op() != Op::Fused || !n.body()) return false;
  for (const Node* m : *n.body())
    if (indexed_op(m)) return true;
  return false;
}

// In body order, as the interpreter meets them.
void emit_fused_checks(KernelEnv& env) {
  for (const Node* m : *env.node.body())
    if (indexed_op(m))
      check_indices(env, *m->operand(1), leaf_pointer(env, m->operand(1)), indexed_access(*m).bound,
                    op_name(m->op()));
}

const Node* fused_scatter(const Node& n) {
  if (n.op() != Op::Fused || !n.body() || n.body()->results().size() != 1) return nullptr;
  const Node* r = n.body()->results()[0];
  return r->op() == Op::ScatterAdd ? r : nullptr;
}

namespace {

// The loop over the updates' shape: the program's accessors, then the index
// and the result (as a table).
struct ScatterPlan {
  const Node* scatter;
  ElementProgram program;
  IndexedAccess access;
  LoopNest nest;
};

ScatterPlan plan_scatter(const Node& n) {
  ScatterPlan s{fused_scatter(n), {}, {}, {}};
  const Node* updates = s.scatter->operand(2);
  s.program = element_program(n, updates);
  s.access = indexed_access(*s.scatter);
  std::vector<std::vector<int64_t>> strides = accessor_strides(s.program, updates->shape());
  strides.push_back(s.access.index);
  strides.push_back(s.access.table);
  s.nest = make_loop_nest(updates->shape(), std::move(strides));
  return s;
}

// The operand of the fused node behind a body input, or the body constant.
const Node* outer_value(const Node& n, const Node* body_node) {
  return body_node->op() == Op::Input ? n.operand(static_cast<size_t>(body_node->input_index())) : body_node;
}

bool zero_constant(const Node* c) {
  if (c->op() != Op::Constant) return false;
  const Tensor& v = c->attrs().value;
  if (v.numel() == 0 || !v.is_splat()) return false;
  double x = v.get(0);
  return x == 0 && !std::signbit(x);
}

}  // namespace

KernelInfo describe_fused_scatter(const Node& n, const LowerOptions&) {
  ScatterPlan s = plan_scatter(n);
  KernelInfo info;
  info.kind = "axis";
  info.tasks = 1;  // result elements are shared by the whole loop: one task, the interpreter's order
  info.work = n.type().numel() + s.scatter->operand(2)->type().numel() * static_cast<int64_t>(s.program.nodes.size() + 2);
  info.checks = true;
  return info;
}

// The result starts as the base (zeros written, for a constant +0 base), then
// for each update element in row-major order (the interpreter's: position p
// of the index in order for each outer and inner element) the update is
// computed and added where its index points.
void emit_fused_scatter(KernelEnv& env) {
  KernelBuilder& kb = env.kb;
  ScatterPlan s = plan_scatter(env.node);
  DType t = env.node.dtype();
  const Node* base = s.scatter->operand(0);
  if (zero_constant(outer_value(env.node, base))) {
    llvm::Align align(dtype_size(t));
    kb.b.CreateMemSet(env.result, kb.b.getInt8(0), static_cast<uint64_t>(env.node.type().numel() * dtype_size(t)), align);
  } else {
    llvm::Value* from = leaf_pointer(env, base);
    kb.loop(kb.i64(0), kb.i64(env.node.type().numel()), [&](llvm::Value* i) {
      kb.store(t, kb.load(t, from, i), env.result, i);
    }, 1, "copy");
  }
  std::vector<llvm::Value*> ptrs = leaf_pointers(env, s.program);
  llvm::Value* index = leaf_pointer(env, s.scatter->operand(1));
  DType it = s.scatter->operand(1)->dtype();
  size_t n = s.program.accessors();
  ScalarLoops scalar(kb, calls_libm(s.program));
  emit_loop_nest(kb, s.nest, [&](std::span<llvm::Value* const> at) {
    llvm::Value* u = emit_program_values(kb, s.program, ptrs, at.first(n))[0];
    llvm::Value* k = index_position(kb, load_index(kb, it, index, at[n]), s.access.bound);
    llvm::Value* to = kb.b.CreateAdd(at[n + 1], kb.b.CreateMul(k, kb.i64(s.access.axis_stride)));
    kb.store(t, kb.add(kb.load(t, env.result, to), u), env.result, to);
  });
}

}  // namespace nabla
