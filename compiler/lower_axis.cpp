// Kernels of the ops along one axis: argmax, argmin, cumsum, gather and
// scatter_add. Each views its operand as [outer, n, inner] around the axis, as
// the interpreter does (ir/interpreter_axis.cpp), and computes every result
// element with the interpreter's operations in the interpreter's order.
//
// Threads: gather splits its result rows; the others split the (outer, column
// chunk) pairs, never the axis itself, so each result element is computed by
// one task in the interpreter's order: cumsum and scatter_add are bit-equal
// to the single-threaded result. Indices are checked by emit_checks, in the
// entry before the kernel runs (a kernel that can fail cannot be split).
#include <algorithm>

#include "nabla/compiler/kernel_builder.h"
#include "nabla/compiler/lower.h"
#include "nabla/compiler/lower_indexed.h"
#include "nabla/ir/fused.h"
#include "nabla/runtime/abi.h"
#include "nabla/runtime/error.h"

namespace nabla {
namespace {

constexpr int64_t kColumns = 16;  // columns (inner elements) per task

struct AxisView {
  int64_t outer, n, inner;
  int64_t chunks() const { return (inner + kColumns - 1) / kColumns; }
};

AxisView view_of(const Node& node) {
  const Shape& s = node.operand(0)->shape();
  size_t axis = static_cast<size_t>(node.attrs().axis);
  return {num_elements(std::span(s).first(axis)), s[axis], num_elements(std::span(s).subspan(axis + 1))};
}

// A checked index p of idx made non-negative (compiler/lower_indexed.h).
llvm::Value* position(KernelBuilder& kb, const Node& idx, llvm::Value* ptr, llvm::Value* p, int64_t n) {
  return index_position(kb, load_index(kb, idx.dtype(), ptr, p), n);
}

// Runs body(o, lo, hi) for each outer index o of the task range [begin, end)
// of (outer, column chunk) pairs, with [lo, hi) the task's columns of o.
void for_columns(KernelBuilder& kb, const AxisView& v, llvm::Value* begin, llvm::Value* end,
                 const std::function<void(llvm::Value*, llvm::Value*, llvm::Value*)>& body) {
  if (v.outer == 0 || v.inner == 0) return;
  auto& b = kb.b;
  llvm::Value* chunks = kb.i64(v.chunks());
  llvm::Value* first = b.CreateSDiv(begin, chunks);
  llvm::Value* last = b.CreateAdd(b.CreateSDiv(b.CreateSub(end, kb.i64(1)), chunks), kb.i64(1));
  kb.loop(first, last, [&](llvm::Value* o) {
    llvm::Value* at = b.CreateMul(o, chunks);
    llvm::Value* lo = b.CreateSub(b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, begin, at), at);
    llvm::Value* hi = b.CreateSub(b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, end, b.CreateAdd(at, chunks)), at);
    lo = b.CreateMul(lo, kb.i64(kColumns));
    hi = b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, b.CreateMul(hi, kb.i64(kColumns)), kb.i64(v.inner));
    body(o, lo, hi);
  }, 1, "outer");
}

// The element offset (o * rows + row) * inner + i.
llvm::Value* offset(KernelBuilder& kb, llvm::Value* o, int64_t rows, llvm::Value* row, int64_t inner, llvm::Value* i) {
  auto& b = kb.b;
  return b.CreateAdd(b.CreateMul(b.CreateAdd(b.CreateMul(o, kb.i64(rows)), row), kb.i64(inner)), i);
}

// argmax/argmin: whether x replaces the best so far, cur, for an element
// after it (elementwise on vectors too): x is larger/smaller, or x is a NaN
// and cur is not; once the best is a NaN nothing replaces it. As
// "unordered-or-less (greater) and cur is no NaN": two compares of cur that
// do not wait for each other (the running best is a dependent chain).
llvm::Value* replaces(KernelBuilder& kb, DType t, bool is_max, llvm::Value* x, llvm::Value* cur) {
  auto& b = kb.b;
  if (!is_float(t)) return is_max ? b.CreateICmpSGT(x, cur) : b.CreateICmpSLT(x, cur);
  return b.CreateAnd(is_max ? b.CreateFCmpUGT(x, cur) : b.CreateFCmpULT(x, cur), b.CreateFCmpORD(cur, cur));
}

// The running best (index, value) of one row: `best` at `best_value`.
struct ArgBest {
  llvm::AllocaInst *index, *value;
};

// Elements [lo, n) of the row at `row` (offset of its element 0, stride
// `inner`), in order, into the running best.
void arg_reduce_scalar(KernelEnv& env, const ArgBest& best, llvm::Value* row, int64_t inner, int64_t lo,
                       int64_t n) {
  KernelBuilder& kb = env.kb;
  auto& b = kb.b;
  DType t = env.node.operand(0)->dtype();
  kb.loop(kb.i64(lo), kb.i64(n), [&](llvm::Value* k) {
    llvm::Value* x = kb.load(t, env.operands[0], b.CreateAdd(row, b.CreateMul(k, kb.i64(inner))));
    llvm::Value* cur = b.CreateLoad(best.value->getAllocatedType(), best.value);
    llvm::Value* take = replaces(kb, t, env.node.op() == Op::ArgMax, x, cur);
    b.CreateStore(b.CreateSelect(take, k, b.CreateLoad(kb.i64_type(), best.index)), best.index);
    b.CreateStore(b.CreateSelect(take, x, cur), best.value);
  }, 1, "k");
}

constexpr int kArgLanes = 8;

// A contiguous row (inner 1) of at least 2 kArgLanes elements: lane j keeps
// the best of elements j, j + 8, ... in vector registers (independent
// chains, one vector compare and two selects per 8 elements), then the lanes
// are combined in order of value and, on equal values (or two NaNs), of
// index, and the tail goes through the scalar loop: the same first index as
// the scalar scan.
void arg_reduce_lanes(KernelEnv& env, const ArgBest& best, llvm::Value* row, int64_t n) {
  KernelBuilder& kb = env.kb;
  auto& b = kb.b;
  DType t = env.node.operand(0)->dtype();
  bool is_max = env.node.op() == Op::ArgMax;
  auto* vt = llvm::FixedVectorType::get(kb.value_type(t), kArgLanes);
  auto* it = llvm::FixedVectorType::get(kb.i64_type(), kArgLanes);
  auto vload = [&](llvm::Value* k) {
    return b.CreateAlignedLoad(vt, kb.element_ptr(t, env.operands[0], b.CreateAdd(row, k)), llvm::Align(dtype_size(t)));
  };
  std::vector<llvm::Constant*> lane;
  for (int j = 0; j < kArgLanes; ++j) lane.push_back(kb.i64(j));
  llvm::Constant* lanes = llvm::ConstantVector::get(lane);
  llvm::AllocaInst* index = kb.local(it, "best.lanes");
  llvm::AllocaInst* value = kb.local(vt, "best.lane.values");
  b.CreateStore(lanes, index);
  b.CreateStore(vload(kb.i64(0)), value);
  int64_t end = n / kArgLanes * kArgLanes;
  kb.loop(kb.i64(kArgLanes), kb.i64(end), [&](llvm::Value* k) {
    llvm::Value* x = vload(k);
    llvm::Value* cur = b.CreateLoad(vt, value);
    llvm::Value* take = replaces(kb, t, is_max, x, cur);
    llvm::Value* at = b.CreateAdd(b.CreateVectorSplat(kArgLanes, k), lanes);
    b.CreateStore(b.CreateSelect(take, at, b.CreateLoad(it, index)), index);
    b.CreateStore(b.CreateSelect(take, x, cur), value);
  }, kArgLanes, "k8");
  llvm::Value* vi = b.CreateLoad(it, index);
  llvm::Value* vv = b.CreateLoad(vt, value);
  llvm::Value *bi = b.CreateExtractElement(vi, uint64_t{0}), *bv = b.CreateExtractElement(vv, uint64_t{0});
  for (int j = 1; j < kArgLanes; ++j) {
    llvm::Value *i = b.CreateExtractElement(vi, j), *v = b.CreateExtractElement(vv, j);
    llvm::Value* same = is_float(t) ? b.CreateOr(b.CreateFCmpOEQ(v, bv), b.CreateAnd(b.CreateFCmpUNO(v, v), b.CreateFCmpUNO(bv, bv)))
                                    : b.CreateICmpEQ(v, bv);
    llvm::Value* take = b.CreateOr(replaces(kb, t, is_max, v, bv), b.CreateAnd(same, b.CreateICmpSLT(i, bi)));
    bi = b.CreateSelect(take, i, bi);
    bv = b.CreateSelect(take, v, bv);
  }
  b.CreateStore(bi, best.index);
  b.CreateStore(bv, best.value);
  arg_reduce_scalar(env, best, row, 1, end, n);
}

// The result element at `at`: the best of the row at element offset `row`
// (stride `inner`).
void arg_reduce_row(KernelEnv& env, const AxisView& v, llvm::Value* row, llvm::Value* at) {
  KernelBuilder& kb = env.kb;
  auto& b = kb.b;
  DType t = env.node.operand(0)->dtype();
  ArgBest best{kb.local(kb.i64_type(), "best"), kb.local(kb.value_type(t), "best.value")};
  if (v.inner == 1 && v.n >= 2 * kArgLanes) {
    arg_reduce_lanes(env, best, row, v.n);
  } else {
    b.CreateStore(kb.i64(0), best.index);
    b.CreateStore(kb.load(t, env.operands[0], row), best.value);
    arg_reduce_scalar(env, best, row, v.inner, 1, v.n);
  }
  kb.store(DType::i64, b.CreateLoad(kb.i64_type(), best.index), env.result, at);
}

// Short contiguous rows (inner 1, 2 <= n < 2 kArgLanes), kArgLanes rows at
// once: lane j scans row r + j, element k of the kArgLanes rows one gather,
// the n steps unrolled (one dependent compare and select per step, shared by
// the rows; one row at a time, kmeans' [N,10] scores took 20 ns a row, a
// chain of n scalar compares). The task's other rows go one by one.
void arg_reduce_rows(KernelEnv& env, const AxisView& v) {
  KernelBuilder& kb = env.kb;
  auto& b = kb.b;
  DType t = env.node.operand(0)->dtype();
  bool is_max = env.node.op() == Op::ArgMax;
  auto* vt = llvm::FixedVectorType::get(kb.value_type(t), kArgLanes);
  std::vector<llvm::Constant*> lane;
  for (int j = 0; j < kArgLanes; ++j) lane.push_back(kb.i64(j * v.n));
  llvm::Constant* lanes = llvm::ConstantVector::get(lane);
  llvm::Constant* all = llvm::ConstantVector::getSplat(llvm::ElementCount::getFixed(kArgLanes), b.getTrue());
  llvm::Value* full = b.CreateAdd(env.begin, b.CreateMul(b.CreateSDiv(b.CreateSub(env.end, env.begin), kb.i64(kArgLanes)), kb.i64(kArgLanes)));
  kb.loop(env.begin, full, [&](llvm::Value* r) {
    llvm::Value* rows = b.CreateAdd(b.CreateVectorSplat(kArgLanes, b.CreateMul(r, kb.i64(v.n))), lanes);
    auto element = [&](int64_t k) {
      llvm::Value* ptrs = b.CreateGEP(kb.memory_type(t), env.operands[0], b.CreateAdd(rows, b.CreateVectorSplat(kArgLanes, kb.i64(k))));
      return b.CreateMaskedGather(vt, ptrs, llvm::Align(dtype_size(t)), all);
    };
    llvm::Value* value = element(0);
    llvm::Value* index = b.CreateVectorSplat(kArgLanes, kb.i64(0));
    for (int64_t k = 1; k < v.n; ++k) {
      llvm::Value* x = element(k);
      llvm::Value* take = replaces(kb, t, is_max, x, value);
      index = b.CreateSelect(take, b.CreateVectorSplat(kArgLanes, kb.i64(k)), index);
      value = b.CreateSelect(take, x, value);
    }
    b.CreateAlignedStore(index, kb.element_ptr(DType::i64, env.result, r), llvm::Align(8));
  }, kArgLanes, "rows");
  kb.loop(full, env.end, [&](llvm::Value* r) { arg_reduce_row(env, v, b.CreateMul(r, kb.i64(v.n)), r); }, 1, "row");
}

// argmax/argmin: the first index of the largest/smallest element; a NaN is
// taken when the best is not NaN, and once the best is NaN nothing replaces it.
void emit_arg_reduce(KernelEnv& env) {
  KernelBuilder& kb = env.kb;
  AxisView v = view_of(env.node);
  DType t = env.node.operand(0)->dtype();
  // (A task of inner-1 rows is a range of rows: one column chunk per row.)
  if (v.inner == 1 && v.n >= 2 && v.n < 2 * kArgLanes && t != DType::bool_ && v.outer > 0)
    return arg_reduce_rows(env, v);
  for_columns(kb, v, env.begin, env.end, [&](llvm::Value* o, llvm::Value* lo, llvm::Value* hi) {
    kb.loop(lo, hi, [&](llvm::Value* i) {
      llvm::Value* row = offset(kb, o, v.n, kb.i64(0), v.inner, i);
      arg_reduce_row(env, v, row, kb.b.CreateAdd(kb.b.CreateMul(o, kb.i64(v.inner)), i));
    }, 1, "i");
  });
}

// cumsum: the first element along the axis is 0 + x (0 when exclusive), each
// next one the previous result plus x at the same (inclusive) or the previous
// (exclusive) position: the interpreter's running sum, rows of columns at once.
void emit_cumsum(KernelEnv& env) {
  KernelBuilder& kb = env.kb;
  auto& b = kb.b;
  AxisView v = view_of(env.node);
  DType t = env.node.dtype();
  bool reverse = env.node.attrs().reverse, exclusive = env.node.attrs().exclusive;
  llvm::Value *x = env.operands[0], *res = env.result;
  auto row = [&](llvm::Value* j) { return reverse ? b.CreateSub(kb.i64(v.n - 1), j) : j; };
  for_columns(kb, v, env.begin, env.end, [&](llvm::Value* o, llvm::Value* lo, llvm::Value* hi) {
    if (v.n == 0) return;
    llvm::Value* first = row(kb.i64(0));
    kb.loop(lo, hi, [&](llvm::Value* i) {
      llvm::Value* at = offset(kb, o, v.n, first, v.inner, i);
      llvm::Value* zero = kb.constant(t, 0);
      kb.store(t, exclusive ? zero : kb.add(zero, kb.load(t, x, at)), res, at);
    }, 1, "i");
    kb.loop(kb.i64(1), kb.i64(v.n), [&](llvm::Value* j) {
      llvm::Value* k = row(j);
      llvm::Value* prev = row(b.CreateSub(j, kb.i64(1)));
      kb.loop(lo, hi, [&](llvm::Value* i) {
        llvm::Value* before = kb.load(t, res, offset(kb, o, v.n, prev, v.inner, i));
        llvm::Value* e = kb.load(t, x, offset(kb, o, v.n, exclusive ? prev : k, v.inner, i));
        kb.store(t, kb.add(before, e), res, offset(kb, o, v.n, k, v.inner, i));
      }, 1, "i");
    }, 1, "j");
  });
}

// gather: result row r = (o, p) is x's row (o, idx[p]); tasks split the rows.
void emit_gather(KernelEnv& env) {
  KernelBuilder& kb = env.kb;
  auto& b = kb.b;
  AxisView v = view_of(env.node);
  const Node& idx = *env.node.operand(1);
  int64_t m = idx.type().numel();
  DType t = env.node.dtype();
  llvm::Type* type = kb.memory_type(t);
  llvm::Align align(dtype_size(t));
  if (env.node.type().numel() == 0) return;
  kb.loop(env.begin, env.end, [&](llvm::Value* r) {
    // Without axes before `axis` (one outer row) r is the index's position
    // itself: no division per element (a sparse derivative's gather of its
    // nonzeros spent most of its time in it).
    bool one_row = v.outer == 1;
    llvm::Value* o = one_row ? kb.i64(0) : b.CreateSDiv(r, kb.i64(m));
    llvm::Value* k = position(kb, idx, env.operands[1], one_row ? r : b.CreateSRem(r, kb.i64(m)), v.n);
    llvm::Value* from = offset(kb, o, v.n, k, v.inner, kb.i64(0));
    llvm::Value* to = b.CreateMul(r, kb.i64(v.inner));
    kb.loop(kb.i64(0), kb.i64(v.inner), [&](llvm::Value* i) {
      llvm::Value* e = b.CreateAlignedLoad(type, kb.element_ptr(t, env.operands[0], b.CreateAdd(from, i)), align);
      b.CreateAlignedStore(e, kb.element_ptr(t, env.result, b.CreateAdd(to, i)), align);
    }, 1, "i");
  }, 1, "row");
}

// scatter_add: the task's columns of base are copied, then for p in order
// the update row (o, p) is added to result row (o, idx[p]).
void emit_scatter_add(KernelEnv& env) {
  KernelBuilder& kb = env.kb;
  AxisView v = view_of(env.node);
  const Node& idx = *env.node.operand(1);
  int64_t m = idx.type().numel();
  DType t = env.node.dtype();
  llvm::Value *base = env.operands[0], *updates = env.operands[2], *res = env.result;
  for_columns(kb, v, env.begin, env.end, [&](llvm::Value* o, llvm::Value* lo, llvm::Value* hi) {
    if (v.chunks() == 1) {  // the task has all of o's columns: one contiguous block, one (vectorized) loop
      llvm::Value* first = offset(kb, o, v.n, kb.i64(0), v.inner, kb.i64(0));
      kb.loop(first, kb.b.CreateAdd(first, kb.i64(v.n * v.inner)), [&](llvm::Value* at) {
        kb.store(t, kb.load(t, base, at), res, at);
      }, 1, "at");
    } else {
      kb.loop(kb.i64(0), kb.i64(v.n), [&](llvm::Value* k) {
        kb.loop(lo, hi, [&](llvm::Value* i) {
          llvm::Value* at = offset(kb, o, v.n, k, v.inner, i);
          kb.store(t, kb.load(t, base, at), res, at);
        }, 1, "i");
      }, 1, "k");
    }
    kb.loop(kb.i64(0), kb.i64(m), [&](llvm::Value* p) {
      llvm::Value* k = position(kb, idx, env.operands[1], p, v.n);
      kb.loop(lo, hi, [&](llvm::Value* i) {
        llvm::Value* at = offset(kb, o, v.n, k, v.inner, i);
        llvm::Value* u = kb.load(t, updates, offset(kb, o, m, p, v.inner, i));
        kb.store(t, kb.add(kb.load(t, res, at), u), res, at);
      }, 1, "i");
    }, 1, "p");
  });
}

}  // namespace

KernelInfo describe_axis(const Node& n, const LowerOptions&) {
  KernelInfo info;
  info.kind = "axis";
  AxisView v = view_of(n);
  info.tasks = v.outer * v.chunks();
  info.work = n.operand(0)->type().numel();
  switch (n.op()) {
    case Op::Gather:
      info.tasks = n.type().numel() == 0 ? 0 : v.outer * n.operand(1)->type().numel();
      info.work = n.type().numel();
      info.checks = true;
      break;
    case Op::ScatterAdd:
      info.work += n.operand(2)->type().numel();
      info.checks = true;
      break;
    case Op::ArgMax: case Op::ArgMin: case Op::CumSum: break;
#define NABLA_OP(Enum, name, arity, Kind, flags, attrs) NABLA_CASE_UNLESS_KIND(Kind, Axis, Enum)
#include "nabla/ir/ops.def"
      throw InternalError(std::string(op_name(n.op())) + ": not an axis op");
  }
  return info;
}

void emit_axis(KernelEnv& env) {
  switch (env.node.op()) {
    case Op::ArgMax:
    case Op::ArgMin: return emit_arg_reduce(env);
    case Op::CumSum: return emit_cumsum(env);
    case Op::Gather: return emit_gather(env);
    case Op::ScatterAdd: return emit_scatter_add(env);
#define NABLA_OP(Enum, name, arity, Kind, flags, attrs) NABLA_CASE_UNLESS_KIND(Kind, Axis, Enum)
#include "nabla/ir/ops.def"
      throw InternalError(std::string(op_name(env.node.op())) + ": not an axis op");
  }
}

void emit_checks(KernelEnv& env) {
  const Node& n = env.node;
  if (n.op() == Op::Fused) return emit_fused_checks(env);
  if (n.op() == Op::Gather || n.op() == Op::ScatterAdd)
    check_indices(env, *n.operand(1), env.operands[1], n.operand(0)->shape()[n.attrs().axis], op_name(n.op()));
}

}  // namespace nabla
