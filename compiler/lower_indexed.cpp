// Indexed reads and writes inside loop nests (compiler/lower_indexed.h).
#include "nabla/compiler/lower_indexed.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <tuple>

#include <llvm/IR/Intrinsics.h>

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

namespace {

// The values of idx when it is a constant of the function or of the fused
// body (an input of the body is the fused node's operand), else null.
const Tensor* constant_index(const KernelEnv& env, const Node& idx) {
  const Node* n = &idx;
  if (n->function() != env.node.function() && n->op() == Op::Input)
    n = env.node.operand(static_cast<size_t>(n->input_index()));
  if (n->op() != Op::Constant || n->attrs().value.numel() != idx.type().numel()) return nullptr;
  return &n->attrs().value;
}

template <typename T>
bool all_in_range(const T* v, int64_t count, int64_t bound) {
  for (int64_t i = 0; i < count; ++i)
    if (static_cast<int64_t>(v[i]) < -bound || static_cast<int64_t>(v[i]) >= bound) return false;
  return true;
}

// Whether every index of a constant is in [-bound, bound), known now.
bool checked_now(const Tensor* t, int64_t bound) {
  if (!t) return false;
  if (t->dtype() == DType::i64) return all_in_range(static_cast<const int64_t*>(t->data()), t->numel(), bound);
  if (t->dtype() == DType::i32) return all_in_range(static_cast<const int32_t*>(t->data()), t->numel(), bound);
  return false;
}

constexpr int64_t kPrefetchAhead = 16;  // rows (runs of the innermost loop)
constexpr int64_t kLine = 64, kPrefetchBytes = 512;

struct RowPrefetch {
  size_t accessor;  // the gather's index; its table is the next one
  const Node* gather;
  int64_t ahead;    // index elements kPrefetchAhead runs later
  int64_t bytes;    // of the row, up to kPrefetchBytes
};

// The table offset of the row that indexed op n (gather or scatter_add)
// reaches `ahead` index elements after index offset `index_at` (clamped to
// the last index), with `table_at` its offset without the axis.
llvm::Value* row_ahead(KernelBuilder& kb, const Node& n, llvm::Value* index, llvm::Value* index_at, int64_t ahead,
                       llvm::Value* table_at) {
  auto& b = kb.b;
  IndexedAccess a = indexed_access(n);
  const Node* idx = n.operand(1);
  llvm::Value* later = b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, b.CreateAdd(index_at, kb.i64(ahead)),
                                               kb.i64(idx->type().numel() - 1));
  llvm::Value* k = index_position(kb, load_index(kb, idx->dtype(), index, later), a.bound);
  return b.CreateAdd(table_at, b.CreateMul(k, kb.i64(a.axis_stride)));
}

// Prefetches `bytes` of t elements from ptr + row, a line at a time, to be
// read (write false) or written.
void prefetch_lines(KernelBuilder& kb, DType t, llvm::Value* ptr, llvm::Value* row, int64_t bytes, bool write) {
  auto& b = kb.b;
  int64_t size = static_cast<int64_t>(dtype_size(t));
  for (int64_t line = 0; line < bytes; line += kLine) {
    llvm::Value* p = kb.element_ptr(t, ptr, b.CreateAdd(row, kb.i64(line / size)));
    b.CreateIntrinsic(llvm::Intrinsic::prefetch, {p->getType()},
                      {p, b.getInt32(write ? 1 : 0), b.getInt32(3), b.getInt32(1)});
  }
}

void prefetch_row(KernelBuilder& kb, const RowPrefetch& r, std::span<llvm::Value* const> ptrs,
                  std::span<llvm::Value* const> at) {
  llvm::Value* row = row_ahead(kb, *r.gather, ptrs[r.accessor], at[r.accessor], r.ahead, at[r.accessor + 1]);
  prefetch_lines(kb, r.gather->dtype(), ptrs[r.accessor + 1], row, r.bytes, false);
}

}  // namespace

NestBody gather_prefetches(KernelBuilder& kb, const ElementProgram& p, const LoopNest& nest,
                           std::vector<llvm::Value*> ptrs) {
  size_t depth = nest.shape.size();
  std::vector<RowPrefetch> rows;
  for (size_t g = 0; depth >= 2 && g < p.gathers.size(); ++g) {
    size_t i = p.leaves.size() + 2 * g;
    const std::vector<int64_t>& index = nest.strides[i];
    int64_t bytes = nest.shape.back() * static_cast<int64_t>(dtype_size(p.gathers[g]->dtype()));
    if (index.back() == 0 && index[depth - 2] > 0 && nest.strides[i + 1].back() == 1 && bytes >= kLine)
      rows.push_back({i, p.gathers[g], kPrefetchAhead * index[depth - 2], std::min(bytes, kPrefetchBytes)});
  }
  if (rows.empty()) return {};
  return [&kb, rows, ptrs = std::move(ptrs)](std::span<llvm::Value* const> at) {
    for (const RowPrefetch& r : rows) prefetch_row(kb, r, ptrs, at);
  };
}

// Unsigned v + bound < 2 bound: v in [-bound, bound). A constant index
// that is in range is checked here, once, instead of at every call (one
// failing at run time keeps the run-time check and its error).
void check_indices(KernelEnv& env, const Node& idx, llvm::Value* ptr, int64_t bound, std::string_view op) {
  if (checked_now(constant_index(env, idx), bound)) return;
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

// In body order, as the interpreter meets them; an index read by several
// ops of one kind with the same bound is checked once (the same outcome).
void emit_fused_checks(KernelEnv& env) {
  std::set<std::tuple<const Node*, int64_t, Op>> done;
  for (const Node* m : *env.node.body()) {
    if (!indexed_op(m)) continue;
    int64_t bound = indexed_access(*m).bound;
    if (done.insert({m->operand(1), bound, m->op()}).second)
      check_indices(env, *m->operand(1), leaf_pointer(env, m->operand(1)), bound, op_name(m->op()));
  }
}

const Node* fused_scatter(const Node& n) {
  if (n.op() != Op::Fused || !n.body() || n.body()->results().size() != 1) return nullptr;
  const Node* r = n.body()->results()[0];
  return r->op() == Op::ScatterAdd ? r : nullptr;
}

namespace {

constexpr int64_t kColumns = 16;       // a row must be longer to split rows
constexpr int64_t kScatterAhead = 32;  // index elements (update rows) to prefetch ahead
constexpr int64_t kSerialRatio = 1;    // update rows per result row from which moved updates stay on one thread

// The loop over the updates' shape: the program's accessors, then the index
// and the result (as a table). When the nest's innermost axis is the
// result's contiguous columns after the axis (the index constant along it)
// and a row has more than kColumns of them, tasks split the result's rows
// (of `columns` elements, over the axes up to the axis): each task goes
// through every update row in order and adds those whose index points into
// its rows, so each element is summed by one task in the interpreter's order.
// One task takes every row when splitting does not pay (serial_pays).
struct ScatterPlan {
  const Node* scatter;
  ElementProgram program;
  IndexedAccess access;
  LoopNest nest;
  int64_t rows = 0, columns = 0;  // the result as [rows, columns] when split
  int64_t task_rows = 1;          // result rows per task
};

// Whether the row split is left to one task. Every task reads every update
// row's index, so a second thread only halves the adds, which are random
// read-modify-writes of whole result rows: when the updates are only moved
// (their program computes nothing: loads, broadcasts, reshapes) and there are
// kSerialRatio or more update rows per result row, two threads writing random
// rows contend in the memory system and one thread is faster. Measured on the
// embedding bag's gradient (1M rows of 64 f32 into 100k; docs/performance.md,
// "Embedding bag"): 2 threads 0.8x-1.8x the memory bound from round to round,
// one thread inside the 2-thread compile 0.66x-0.77x. Updates that compute
// (exp) keep the split. Deterministic either way: each element is summed by
// one task in the interpreter's order.
bool serial_pays(const ScatterPlan& s) {
  for (const Node* m : s.program.nodes)
    if (op_kind(m->op()) != OpKind::Layout) return false;
  return s.nest.numel() / s.columns >= kSerialRatio * s.rows;
}

ScatterPlan plan_scatter(const Node& n) {
  ScatterPlan s{fused_scatter(n), {}, {}, {}};
  const Node* updates = s.scatter->operand(2);
  s.program = element_program(n, updates);
  s.access = indexed_access(*s.scatter);
  std::vector<std::vector<int64_t>> strides = accessor_strides(s.program, updates->shape());
  strides.push_back(s.access.index);
  strides.push_back(s.access.table);
  s.nest = make_loop_nest(updates->shape(), std::move(strides));
  const Shape& x = s.scatter->shape();
  int64_t inner = num_elements(std::span(x).subspan(static_cast<size_t>(s.scatter->attrs().axis) + 1));
  const LoopNest& nest = s.nest;
  size_t last = nest.strides.size();
  if (nest.shape.size() >= 2 && nest.numel() > 0 && inner > kColumns && nest.shape.back() == inner &&
      nest.strides[last - 1].back() == 1 && nest.strides[last - 2].back() == 0) {
    s.columns = inner;
    s.rows = s.scatter->type().numel() / inner;
    if (serial_pays(s)) s.task_rows = s.rows;
  }
  return s;
}

// The operand of the fused node behind a body input, or the body constant.
const Node* outer_value(const Node& n, const Node* body_node) {
  return body_node->op() == Op::Input ? n.operand(static_cast<size_t>(body_node->input_index())) : body_node;
}

// The value every base element has: a splat constant's, or a broadcast
// one-element constant's (the fuse pass puts a gradient's zeros there).
std::optional<double> fill_value(const Node& n, const Node* base) {
  if (base->op() == Op::BroadcastTo) base = base->operand(0);
  const Node* c = outer_value(n, base);
  if (c->op() != Op::Constant) return std::nullopt;
  const Tensor& v = c->attrs().value;
  if (v.numel() == 0 || !v.is_splat()) return std::nullopt;
  return v.get(0);
}

}  // namespace

KernelInfo describe_fused_scatter(const Node& n, const LowerOptions&) {
  ScatterPlan s = plan_scatter(n);
  KernelInfo info;
  info.kind = "axis";
  info.tasks = s.columns > 0 ? s.rows / s.task_rows : 1;
  info.work = n.type().numel() + s.scatter->operand(2)->type().numel() * static_cast<int64_t>(s.program.nodes.size() + 2);
  info.checks = true;
  return info;
}

namespace {

// result = base over the elements [lo, hi) (filled, without reading it,
// when the base is a splat constant or a broadcast scalar).
void copy_base(KernelEnv& env, const ScatterPlan& s, llvm::Value* lo, llvm::Value* hi) {
  KernelBuilder& kb = env.kb;
  DType t = env.node.dtype();
  const Node* base = s.scatter->operand(0);
  std::optional<double> fill = fill_value(env.node, base);
  llvm::Value* from = fill ? nullptr : leaf_pointer(env, base);
  kb.loop(lo, hi, [&](llvm::Value* at) {
    kb.store(t, fill ? kb.constant(t, *fill) : kb.load(t, from, at), env.result, at);
  }, 1, "copy");
}

// The nest without its innermost axis, whose strides go to `inner`.
LoopNest without_innermost(const LoopNest& nest, std::vector<int64_t>& inner) {
  LoopNest outer = nest;
  outer.shape.pop_back();
  for (auto& st : outer.strides) {
    inner.push_back(st.back());
    st.pop_back();
  }
  return outer;
}

}  // namespace

// The result starts as the base, then for each update element in row-major
// order (the interpreter's: position p of the index in order for each outer
// and inner element) the update is computed and added where its index points.
// Split by rows, a task adds the update rows that land in its rows [lo, hi)
// (as elements) and, before each update row, prefetches for writing the
// result row kScatterAhead update rows later, or, when that row is another
// task's, the current one again (random rows otherwise arrive one
// out-of-order window at a time).
void emit_fused_scatter(KernelEnv& env) {
  KernelBuilder& kb = env.kb;
  auto& b = kb.b;
  ScatterPlan s = plan_scatter(env.node);
  DType t = env.node.dtype();
  int64_t task = s.task_rows * s.columns;
  llvm::Value* lo = s.columns > 0 ? b.CreateMul(env.begin, kb.i64(task)) : kb.i64(0);
  llvm::Value* hi = s.columns > 0 ? b.CreateMul(env.end, kb.i64(task)) : kb.i64(env.node.type().numel());
  copy_base(env, s, lo, hi);
  std::vector<llvm::Value*> ptrs = leaf_pointers(env, s.program);
  llvm::Value* index = leaf_pointer(env, s.scatter->operand(1));
  DType it = s.scatter->operand(1)->dtype();
  size_t n = s.program.accessors();
  ScalarLoops scalar(kb, calls_libm(s.program));
  auto add = [&](std::span<llvm::Value* const> at, llvm::Value* to) {
    llvm::Value* u = emit_program_values(kb, s.program, ptrs, at.first(n))[0];
    kb.store(t, kb.add(kb.load(t, env.result, to), u), env.result, to);
  };
  auto row_of = [&](std::span<llvm::Value* const> at) {
    llvm::Value* k = index_position(kb, load_index(kb, it, index, at[n]), s.access.bound);
    return b.CreateAdd(at[n + 1], b.CreateMul(k, kb.i64(s.access.axis_stride)));
  };
  if (s.columns == 0) return emit_loop_nest(kb, s.nest, [&](std::span<llvm::Value* const> at) { add(at, row_of(at)); });
  std::vector<int64_t> inner;
  LoopNest outer = without_innermost(s.nest, inner);
  int64_t step = outer.strides[n].back(), bytes = std::min(s.columns * int64_t(dtype_size(t)), kPrefetchBytes);
  auto mine = [&](llvm::Value* row) { return b.CreateICmpULT(b.CreateSub(row, lo), b.CreateSub(hi, lo)); };
  emit_loop_nest(kb, outer, [&](std::span<llvm::Value* const> at) {
    llvm::Value* row = row_of(at);
    if (step > 0) {
      llvm::Value* later = row_ahead(kb, *s.scatter, index, at[n], kScatterAhead * step, at[n + 1]);
      prefetch_lines(kb, t, env.result, b.CreateSelect(mine(later), later, row), bytes, true);
    }
    kb.when(mine(row), [&] {
      kb.loop(kb.i64(0), kb.i64(s.columns), [&](llvm::Value* i) {
        std::vector<llvm::Value*> here;
        for (size_t a = 0; a < n; ++a)
          here.push_back(inner[a] == 0 ? at[a] : b.CreateAdd(at[a], b.CreateMul(i, kb.i64(inner[a]))));
        add(here, b.CreateAdd(row, i));
      }, 1, "j");
    });
  });
}

}  // namespace nabla
