// Reductions (sum, mean, max, min over any axes, with or without keepdims), also
// as the root of a fused region whose elementwise part feeds them. The operand
// is walked in row-major order and each element is combined into its result
// element, so the accumulation order is the interpreter's: sums agree bit for
// bit. With fast-math the adds may be reassociated (vectorized inner sums).
// A fused group (ir/fused.h) whose body holds a reduction is one such kernel
// that also stores the group's elementwise results, element by element of the
// same loop.
#include <algorithm>
#include <limits>

#include <llvm/IR/Intrinsics.h>

#include "nabla/compiler/element_program.h"
#include "nabla/compiler/kernel_builder.h"
#include "nabla/compiler/lower_indexed.h"
#include "nabla/compiler/loop_nest.h"
#include "nabla/compiler/lower.h"
#include "nabla/ir/fused.h"

namespace nabla {
namespace {

struct ReducePlan {
  const Node* reduce;  // the sum / mean / max node
  ElementProgram program;  // values: the reduction's operand, then the stored elementwise results
  LoopNest nest;       // over the operand; accessors: the program's, elementwise results, then the result
  int64_t count = 1;   // operand elements per result element
  bool split = false;  // the nest's outer axis is a kept one: tasks may split it
  int64_t out_stride0 = 0;
};

// Sums over the outer axes into the innermost one (a column sum: a bias
// gradient) cannot split a kept outer axis: with `threads` > 1, the
// innermost axis is cut into blocks of 64 (or 16) columns that become the
// outer axis, so that tasks own blocks of result columns, each summing its
// rows in the same order as before (the interpreter's).
void block_columns(ReducePlan& r, int threads) {
  LoopNest& nest = r.nest;
  if (threads <= 1 || nest.shape.size() < 2 || nest.numel() == 0) return;
  const std::vector<int64_t>& out = nest.strides.back();
  if (out.back() != 1 || std::any_of(out.begin(), out.end() - 1, [](int64_t s) { return s != 0; })) return;
  const int64_t length = nest.shape.back();
  int64_t block = length % 64 == 0 && length >= 128 ? 64 : length % 16 == 0 && length >= 32 ? 16 : 0;
  if (block == 0) return;
  nest.shape.back() = block;
  nest.shape.insert(nest.shape.begin(), length / block);
  for (auto& st : nest.strides) st.insert(st.begin(), st.back() * block);
  r.out_stride0 = block;
  r.split = true;
}

// `group`: the stored nodes of a fused group (empty otherwise); the
// elementwise ones are stored by the loop too.
ReducePlan plan_reduce(const Node& n, const std::vector<const Node*>& group, int threads) {
  ReducePlan r;
  const Function* body = fused_body(n);
  r.reduce = body ? fused_reduction(n) : &n;
  const Node* x = r.reduce->operand(0);
  std::vector<const Node*> values{x};
  for (const Node* m : group) {
    const Node* v = body->results()[static_cast<size_t>(m->body_result())];
    if (v != r.reduce) values.push_back(v);
  }
  r.program = body ? element_program(n, values) : element_program(n, x);
  const Shape& in = x->shape();
  Shape kept = in;
  for (int64_t a : r.reduce->attrs().axes) {
    kept[a] = 1;
    r.count *= in[a];
  }
  std::vector<int64_t> out = row_major_strides(kept);
  for (int64_t a : r.reduce->attrs().axes) out[a] = 0;
  std::vector<std::vector<int64_t>> strides = accessor_strides(r.program, in);
  for (size_t i = 1; i < r.program.values.size(); ++i) strides.push_back(row_major_strides(in));
  strides.push_back(out);
  r.nest = make_loop_nest(in, std::move(strides));
  if (!r.nest.shape.empty() && r.nest.numel() > 0) {
    r.out_stride0 = r.nest.strides.back()[0];
    r.split = r.out_stride0 != 0;
    if (!r.split) block_columns(r, threads);
  }
  return r;
}

llvm::Value* combine(KernelBuilder& kb, Op op, DType t, llvm::Value* acc, llvm::Value* v) {
  if (op == Op::Max)
    return is_float(t) ? kb.intrinsic(llvm::Intrinsic::maximum, {acc, v})
                       : kb.b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, acc, v);
  if (op == Op::Min)
    return is_float(t) ? kb.intrinsic(llvm::Intrinsic::minimum, {acc, v})
                       : kb.b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, acc, v);
  return kb.add(acc, v);
}

// max starts from the lowest value (-inf), min from the highest (+inf), sums from 0.
llvm::Value* initial(KernelBuilder& kb, Op op, DType t) {
  if (op != Op::Max && op != Op::Min) return kb.constant(t, 0);
  double sign = op == Op::Max ? -1 : 1;
  if (is_float(t)) return kb.constant(t, sign * std::numeric_limits<double>::infinity());
  bool i32 = t == DType::i32;
  int64_t lowest = i32 ? std::numeric_limits<int32_t>::min() : std::numeric_limits<int64_t>::min();
  int64_t highest = i32 ? std::numeric_limits<int32_t>::max() : std::numeric_limits<int64_t>::max();
  return llvm::ConstantInt::get(kb.value_type(t), static_cast<uint64_t>(op == Op::Max ? lowest : highest), true);
}

// The innermost axis of the nest is a reduced one: consecutive elements
// accumulate into the same result element, a chain LLVM cannot vectorize
// without reassociating.
bool inner_reduced(const ReducePlan& r) {
  return !r.nest.shape.empty() && r.nest.numel() > 0 && r.nest.strides.back().back() == 0;
}

constexpr int64_t kChunk = 256;  // elements computed ahead of the in-order sum

// For a reduced innermost axis with elementwise work before it: the values of
// each chunk of the axis are computed first into a stack buffer (a loop the
// vectorizer widens) and then combined in order (the sequential part is only
// the additions, in the interpreter's order).
// The group's elementwise results are stored as their chunk is computed.
void emit_chunked(KernelBuilder& kb, llvm::Value* result, const std::vector<llvm::Value*>& stored,
                  const ReducePlan& r, const std::vector<llvm::Value*>& ptrs, llvm::Value* begin, llvm::Value* end) {
  auto& b = kb.b;
  DType t = r.reduce->dtype();
  Op op = r.reduce->op();
  DType vt = r.reduce->operand(0)->dtype();
  LoopNest outer = r.nest;
  int64_t length = outer.shape.back();
  std::vector<int64_t> inner;
  outer.shape.pop_back();
  for (auto& s : outer.strides) {
    inner.push_back(s.back());
    s.pop_back();
  }
  int64_t chunk = std::min(kChunk, length);
  llvm::AllocaInst* buffer = kb.local(llvm::ArrayType::get(kb.memory_type(vt), static_cast<uint64_t>(chunk)), "chunk");
  buffer->setAlignment(llvm::Align(64));
  size_t leaves = r.program.accessors();
  emit_loop_nest(kb, outer, [&](std::span<llvm::Value* const> at) {
    kb.loop(kb.i64(0), kb.i64(length), [&](llvm::Value* c0) {
      llvm::Value* n = b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, kb.i64(chunk), b.CreateSub(kb.i64(length), c0));
      kb.loop(kb.i64(0), n, [&](llvm::Value* j) {
        std::vector<llvm::Value*> offsets;
        llvm::Value* index = b.CreateAdd(c0, j);
        for (size_t k = 0; k < leaves + stored.size(); ++k)
          offsets.push_back(inner[k] == 0 ? at[k] : b.CreateAdd(at[k], b.CreateMul(index, kb.i64(inner[k]))));
        std::vector<llvm::Value*> v =
            emit_program_values(kb, r.program, ptrs, std::span<llvm::Value* const>(offsets).first(leaves));
        for (size_t k = 0; k < stored.size(); ++k)
          kb.store(r.program.values[k + 1]->dtype(), v[k + 1], stored[k], offsets[leaves + k]);
        kb.store(vt, v[0], buffer, j);
      }, 1, "j");
      ScalarLoops in_order(kb, true);
      llvm::AllocaInst* acc = kb.local(kb.value_type(t), "acc");
      b.CreateStore(kb.load(t, result, at.back()), acc);
      kb.loop(kb.i64(0), n, [&](llvm::Value* j) {
        b.CreateStore(combine(kb, op, t, b.CreateLoad(acc->getAllocatedType(), acc), kb.load(vt, buffer, j)), acc);
      }, 1, "k");
      kb.store(t, b.CreateLoad(acc->getAllocatedType(), acc), result, at.back());
    }, chunk, "chunk");
  }, begin, end);
}

}  // namespace

std::vector<const Node*> group_of(const Node& n) {
  std::vector<const Node*> group;
  if (n.body() && n.body()->results().size() > 1)
    for (const Node* m : fused_group(&n)) group.push_back(m);
  return group;
}

KernelInfo describe_reduce(const Node& n, const LowerOptions& o) {
  ReducePlan r = plan_reduce(n, group_of(n), o.num_threads);
  KernelInfo info;
  info.kind = "reduce";
  info.tasks = r.split ? r.nest.shape[0] : 1;
  info.work = r.reduce->operand(0)->type().numel() * static_cast<int64_t>(r.program.nodes.size() + r.program.values.size());
  return info;
}

void emit_reduce(KernelEnv& env) {
  KernelBuilder& kb = env.kb;
  auto& b = kb.b;
  ReducePlan r = plan_reduce(env.node, env.group, kb.options.num_threads);
  Op op = r.reduce->op();
  DType t = r.reduce->dtype();
  // Where the reduction goes, and the group's elementwise results (in the
  // order of r.program.values).
  llvm::Value* result = env.result;
  std::vector<llvm::Value*> stored;
  for (size_t i = 0; i < env.group.size(); ++i) {
    const Node* v = env.node.body()->results()[static_cast<size_t>(env.group[i]->body_result())];
    if (v == r.reduce) result = env.group_results[i];
    else stored.push_back(env.group_results[i]);
  }
  // The result elements this task owns: all, or those under its outer range.
  llvm::Value* lo = kb.i64(0);
  llvm::Value* hi = kb.i64(r.reduce->type().numel());
  llvm::Value* begin = nullptr;
  llvm::Value* end = nullptr;
  if (r.split) {
    begin = env.begin;
    end = env.end;
    lo = b.CreateMul(begin, kb.i64(r.out_stride0));
    hi = b.CreateMul(end, kb.i64(r.out_stride0));
  }
  llvm::Value* init = initial(kb, op, t);
  kb.loop(lo, hi, [&](llvm::Value* i) { kb.store(t, init, result, i); });

  std::vector<llvm::Value*> ptrs = leaf_pointers(env, r.program);
  ScalarLoops scalar(kb, calls_libm(r.program));
  if (inner_reduced(r) && !kb.options.fast_math && !r.program.nodes.empty()) {
    emit_chunked(kb, result, stored, r, ptrs, begin, end);
  } else {
    size_t leaves = r.program.accessors();
    emit_loop_nest(kb, r.nest, [&](std::span<llvm::Value* const> at) {
      std::vector<llvm::Value*> v = emit_program_values(kb, r.program, ptrs, at.first(leaves));
      for (size_t k = 0; k < stored.size(); ++k)
        kb.store(r.program.values[k + 1]->dtype(), v[k + 1], stored[k], at[leaves + k]);
      llvm::Value* acc = kb.load(t, result, at.back());
      kb.store(t, combine(kb, op, t, acc, v[0]), result, at.back());
    }, begin, end, gather_prefetches(kb, r.program, r.nest, ptrs));
  }

  if (op == Op::Mean) {  // sum / count in the element dtype; 0 / 0 = NaN
    llvm::Value* count = kb.constant(t, static_cast<double>(r.count));
    kb.loop(lo, hi, [&](llvm::Value* i) {
      kb.store(t, b.CreateFDiv(kb.load(t, result, i), count), result, i);
    });
  }
}

}  // namespace nabla
