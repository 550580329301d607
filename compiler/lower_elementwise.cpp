// Elementwise kernels: one loop nest over the result that computes each
// element from its operands' elements (a single op, a fused region, or a
// group of fused nodes of one body that stores several results per element).
#include "nabla/compiler/element_program.h"
#include "nabla/compiler/kernel_builder.h"
#include "nabla/compiler/lower_indexed.h"
#include "nabla/compiler/loop_nest.h"
#include "nabla/compiler/lower.h"
#include "nabla/compiler/stream_stores.h"
#include "nabla/ir/fused.h"
#include "nabla/ir/fused_views.h"

namespace nabla {
namespace {

constexpr size_t kLongProgram = 16;  // computed nodes per element
constexpr int64_t kLongLoop = 1024;  // elements of the innermost loop

// The program's value over the kernel's result shape: accessors are the
// program's (leaves broadcast, gathers' indices and tables), then the
// result(s), which share one offset (row-major, or the result's strides).
LoopNest elementwise_nest(const Node& n, const ElementProgram& p, const std::vector<int64_t>& result_strides = {}) {
  std::vector<std::vector<int64_t>> strides = accessor_strides(p, n.shape());
  strides.push_back(result_strides.empty() ? row_major_strides(n.shape()) : result_strides);
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

// A box of the iteration space of a program that reads views
// (ir/fused_views.h), in which each leaf reads one source with fixed
// strides: its nest (accessors: the leaves, then the results) and the
// source of each leaf.
struct Cell {
  LoopNest nest;
  std::vector<const Node*> sources;
  std::vector<int64_t> lo, hi;  // the box
  std::vector<int64_t> outer;   // per accessor, its stride along outer_axis
};

// The axis that tasks split: the first of more than one element (none: the
// rank).
size_t outer_axis(const Shape& shape) {
  size_t a = 0;
  while (a < shape.size() && shape[a] == 1) ++a;
  return a;
}

Cell make_cell(const Shape& shape, const ElementProgram& p, const std::vector<int64_t>& lo,
               const std::vector<int64_t>& hi) {
  auto inside = [](const Node& v) { return is_view_op(v.op()); };
  Cell c{{}, {}, lo, hi, {}};
  size_t a0 = outer_axis(shape);
  std::vector<std::vector<int64_t>> strides;
  std::vector<int64_t> offsets;
  for (const Node* l : p.leaves) {
    size_t lead = shape.size() - l->shape().size();
    std::vector<int64_t> at(l->shape().size());
    for (size_t i = 0; i < at.size(); ++i) at[i] = l->shape()[i] == 1 ? 0 : lo[lead + i];
    ViewRead r = read_view(*l, at, inside);
    std::vector<int64_t> s(shape.size(), 0);
    int64_t offset = r.offset;
    for (size_t i = 0; i < at.size(); ++i) {
      if (l->shape()[i] != 1) s[lead + i] = r.strides[i];
      offset += s[lead + i] * lo[lead + i];
    }
    strides.push_back(std::move(s));
    offsets.push_back(offset);
    c.sources.push_back(r.source);
  }
  std::vector<int64_t> out = row_major_strides(shape);
  int64_t offset = 0;
  for (size_t a = 0; a < shape.size(); ++a) offset += out[a] * lo[a];
  strides.push_back(std::move(out));
  offsets.push_back(offset);
  for (const auto& st : strides) c.outer.push_back(a0 < shape.size() ? st[a0] : 0);
  Shape extent(shape.size());
  for (size_t a = 0; a < shape.size(); ++a) extent[a] = hi[a] - lo[a];
  c.nest = make_loop_nest(extent, std::move(strides), std::move(offsets));
  return c;
}

// The cells, in row-major order of the boxes (none for an empty result).
std::vector<Cell> cells_of(const Node& n, const ElementProgram& p) {
  const Shape& shape = n.shape();
  if (num_elements(shape) == 0) return {};
  std::vector<const Node*> views;
  for (const Node* l : p.leaves)
    if (is_view_op(l->op())) views.push_back(l);
  ViewCuts cuts = iteration_cuts(shape, views, [](const Node& v) { return is_view_op(v.op()); });
  for (size_t a = 0; a < shape.size(); ++a) {  // bounds of the boxes per axis
    cuts[a].insert(cuts[a].begin(), 0);
    cuts[a].push_back(shape[a]);
  }
  std::vector<Cell> cells;
  std::vector<size_t> box(shape.size(), 0);
  while (true) {
    std::vector<int64_t> lo(shape.size()), hi(shape.size());
    for (size_t a = 0; a < shape.size(); ++a) lo[a] = cuts[a][box[a]], hi[a] = cuts[a][box[a] + 1];
    cells.push_back(make_cell(shape, p, lo, hi));
    size_t a = shape.size();
    while (a > 0 && ++box[a - 1] + 1 == cuts[a - 1].size()) box[--a] = 0;
    if (a == 0) return cells;
  }
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
  if (p.reads_views) {  // tasks: ranges of the outer axis (emit_cells)
    size_t a0 = outer_axis(n.shape());
    info.tasks = n.type().numel() == 0 ? 0 : a0 < n.shape().size() ? n.shape()[a0] : 1;
  }
  info.work = n.type().numel() * static_cast<int64_t>(p.nodes.size() + p.values.size());
  return info;
}

int64_t strided_elementwise_tasks(const Node& n, const std::vector<const Node*>& outs,
                                  const std::vector<int64_t>& result_strides) {
  std::vector<const Node*> group;
  if (outs.size() > 1 || outs[0] != &n) group = outs;
  LoopNest nest = elementwise_nest(n, program_of(n, group), result_strides);
  return nest.shape.empty() ? 1 : nest.shape[0];
}

// A program that reads views: per cell, a loop over the task's part of the
// cell's range on the outer axis, and in it the nest of the cell's other
// axes, each leaf read from the cell's source.
void emit_cells(KernelEnv& env, const ElementProgram& p, const std::vector<llvm::Value*>& outs) {
  KernelBuilder& kb = env.kb;
  auto& b = kb.b;
  const Shape& shape = env.node.shape();
  size_t a0 = outer_axis(shape);
  for (const Cell& c : cells_of(env.node, p)) {
    std::vector<llvm::Value*> ptrs;
    for (const Node* s : c.sources) ptrs.push_back(leaf_pointer(env, s));
    auto cell_body = [&](const Cell& part, llvm::Value* step) {  // step: outer index - part.lo[a0]
      emit_loop_nest(kb, part.nest, [&](std::span<llvm::Value* const> at) {
        std::vector<llvm::Value*> moved(at.begin(), at.end());
        if (step)
          for (size_t k = 0; k < moved.size(); ++k)
            if (part.outer[k] != 0) moved[k] = b.CreateAdd(moved[k], b.CreateMul(step, kb.i64(part.outer[k])));
        std::vector<llvm::Value*> v = emit_program_values(kb, p, ptrs, std::span(moved).first(p.leaves.size()));
        for (size_t i = 0; i < outs.size(); ++i) kb.store(p.values[i]->dtype(), v[i], outs[i], moved.back());
      });
    };
    if (a0 == shape.size()) {  // a single element
      cell_body(c, nullptr);
      continue;
    }
    std::vector<int64_t> hi = c.hi;
    hi[a0] = c.lo[a0] + 1;
    Cell part = make_cell(shape, p, c.lo, hi);  // one index of the outer axis
    llvm::Value* from = b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, env.begin, kb.i64(c.lo[a0]));
    llvm::Value* to = b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, env.end, kb.i64(c.hi[a0]));
    kb.loop(from, to, [&](llvm::Value* i) { cell_body(part, b.CreateSub(i, kb.i64(c.lo[a0]))); }, 1, "cell");
  }
}

void emit_elementwise(KernelEnv& env) {
  KernelBuilder& kb = env.kb;
  ElementProgram p = program_of(env.node, env.group);
  std::vector<llvm::Value*> outs = env.group.empty() ? std::vector<llvm::Value*>{env.result} : env.group_results;
  ScalarLoops scalar(kb, calls_libm(p));
  if (p.reads_views) return emit_cells(env, p, outs);  // row-major results (memory_plan.cpp)
  LoopNest nest = elementwise_nest(env.node, p, env.result_strides);
  std::vector<llvm::Value*> ptrs = leaf_pointers(env, p);
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
      std::vector<llvm::Value*> v = emit_program_values(kb, p, ptrs, at.first(p.accessors()));
      for (size_t i = 0; i < outs.size(); ++i) kb.store(p.values[i]->dtype(), v[i], outs[i], at.back());
    }, begin, end, gather_prefetches(kb, p, nest, ptrs));
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
