// Loops (ir/loop.h) as native loops in the entry. Each body is lowered as an
// entry function of its own (the kernel ABI of runtime/abi.h, like the
// function's entry), and the loop calls it once per step with pointer arrays:
// inputs (carries, slice i of each xs, invariants) and outputs (the next
// carries, slice i of each stacked y). The carries live in two buffers, the
// loop's results and B in its scratch: a step reads one and writes the other,
// and the two swap places in the pointer arrays after each step (no copy of
// the carries per step); a carry the body updates in place (an accumulator)
// lives in the result alone. The bodies' workspaces come first in the scratch. A body's
// failure (an index out of range, a while beyond max_trip_count) returns its
// status from the entry, with the error's node set to the loop.
#include <algorithm>

#include <fmt/format.h>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include "nabla/compiler/kernel_builder.h"
#include "nabla/compiler/lower.h"
#include "nabla/ir/fused.h"
#include "nabla/ir/limits.h"
#include "nabla/ir/loop.h"
#include "nabla/runtime/abi.h"
#include "nabla/runtime/error.h"

namespace nabla {
namespace {

int64_t align(int64_t n) { return (n + NABLA_WORKSPACE_ALIGN - 1) / NABLA_WORKSPACE_ALIGN * NABLA_WORKSPACE_ALIGN; }
int64_t bytes_of(const TensorType& t) { return t.numel() * static_cast<int64_t>(dtype_size(t.dtype)); }

// The levels of bodies this thread is planning (body_workspace plans a body,
// whose loops plan theirs) and lowering (lower_body lowers a body, whose loops
// lower theirs): deeper than kMaxBodyDepth is an error (ir/limits.h).
thread_local int plan_depth = 0;
thread_local int lower_depth = 0;

[[noreturn]] void too_deep(const std::string& message) { throw Error("lower: " + message); }

int64_t body_workspace(const Function* body, const LowerOptions& o) {
  if (!body) return 0;
  DepthGuard level(plan_depth, too_deep);
  return align(plan_memory(*body, [&](const Node& n) { return describe_kernel(n, o).scratch_bytes; }).workspace_bytes);
}

// ---- Carries updated in place ----
// Carry j needs one buffer, read and written by every step, when the body's
// input j is read by nothing but the node writing result j, and that node
// reads each element of it just before writing the same element: an
// elementwise op, a fused elementwise region or a fused GEMM whose epilogue
// reads it (K in one block), or a loop taking it as the same carry (copied
// in before its first step). The accumulators of reverse mode are such carries.

bool elementwise_kind(Op op) {
  OpKind k = op_kind(op);
  return k == OpKind::Unary || k == OpKind::Binary || k == OpKind::Compare || k == OpKind::Select ||
         k == OpKind::Convert;
}

// Whether the fused region r reads each of its operands equal to `in` only
// at the element it writes.
bool fused_in_place(const Node& r, const Node* in, const LowerOptions& o) {
  const Function& body = *r.body();
  const Node* product = fused_matmul(r);
  if (product && (product->shape() != in->shape() || !gemm_one_k_block(r, o))) return false;
  for (const Node* m : fused_group(&r))
    if (m->shape() != in->shape()) return false;
  for (const Node* b : body)
    if (b != product && b->op() != Op::Constant && !elementwise_kind(b->op())) return false;
  for (size_t i = 0; i < r.num_operands(); ++i)
    if (r.operand(i) == in)
      for (const Node* u : body.inputs()[i]->users())
        if (u == product) return false;
  return true;
}

bool in_place_carry(const Node& loop, size_t j, const LowerOptions& o) {
  const Function& body = *loop.body();
  const Node *in = body.inputs()[j], *r = body.results()[j];
  const auto& results = body.results();
  if (r->op() == Op::Input || r->op() == Op::Constant || is_alias_op(r->op()) ||
      std::count(results.begin(), results.end(), r) != 1 || std::count(results.begin(), results.end(), in))
    return false;
  std::vector<Node*> group = fused_group(r);
  for (const Node* u : in->users())
    if (std::find(group.begin(), group.end(), u) == group.end()) return false;
  if (is_loop(r->op())) {
    size_t p = static_cast<size_t>(r->body_result());
    if (p >= loop_layout(*r).carry) return false;
    for (size_t i = 0; i < r->num_operands(); ++i)
      if ((r->operand(i) == in) != (i == p)) return false;
    return true;
  }
  if (r->op() == Op::Fused) return fused_in_place(*r, in, o);
  return elementwise_kind(r->op()) && in->shape() == r->shape();
}

// The scratch: [body workspace | condition workspace | carries B]. A step
// reads its carries from one place and writes them to the other: the loop's
// results and B, swapped after every step (no copy per step); a carry updated
// in place lives in the loop's result alone.
struct ScratchLayout {
  int64_t cond = 0, b = 0, total = 0;
  std::vector<int64_t> carry;  // offset of each carry within B
  std::vector<bool> in_place;
};

ScratchLayout scratch_layout(const Node& n, const LowerOptions& o) {
  ScratchLayout s;
  s.cond = body_workspace(n.body(), o);
  s.b = s.cond + body_workspace(n.cond(), o);
  int64_t carries = 0;
  for (size_t j = 0; j < loop_layout(n).carry; ++j) {
    s.in_place.push_back(in_place_carry(n, j, o));
    s.carry.push_back(carries);
    if (!s.in_place.back()) carries += align(bytes_of(n.operand(j)->type()));
  }
  s.total = s.b + carries;
  return s;
}

class LoopEmitter {
 public:
  explicit LoopEmitter(LoopEnv& env)
      : e_(env), b_(env.kb.b), l_(loop_layout(env.node)), s_(scratch_layout(env.node, env.options)) {}

  void emit() {
    const Node& n = e_.node;
    body_ = lower_body(*n.body(), "body");
    if (n.cond()) cond_ = lower_body(*n.cond(), "cond");
    auto* ptr = e_.kb.ptr_type();
    in_ = e_.kb.local(llvm::ArrayType::get(ptr, n.body()->inputs().size()), "loop.in");
    out_ = e_.kb.local(llvm::ArrayType::get(ptr, n.body()->results().size()), "loop.out");
    for (size_t j = 0; j < l_.carry; ++j) {
      copy(e_.results[j], e_.operands[j], n.operand(j)->type());
      set(in_, j, e_.results[j]);
      set(out_, j, s_.in_place[j] ? e_.results[j] : carry(s_.b, j));
    }
    for (size_t j = l_.carry + l_.xs; j < n.num_operands(); ++j) set(in_, j, e_.operands[j]);
    if (n.op() == Op::Scan) emit_scan();
    else emit_while();
    for (size_t j = 0; j < l_.carry; ++j)
      if (!s_.in_place[j]) copy(e_.results[j], get(in_, j), n.operand(j)->type());
  }

 private:
  llvm::Function* lower_body(const Function& body, const char* which) {
    DepthGuard level(lower_depth, too_deep);
    LowerOptions o = e_.options;
    o.entry_name = fmt::format("{}.loop{}.{}", e_.options.entry_name, e_.node_id, which);
    lower_function(body, e_.kb.module, o);
    return e_.kb.module.getFunction(o.entry_name);
  }

  llvm::Value* at(int64_t offset) { return b_.CreateConstInBoundsGEP1_64(b_.getInt8Ty(), e_.scratch, static_cast<uint64_t>(offset)); }
  llvm::Value* carry(int64_t base, size_t j) { return at(base + s_.carry[j]); }
  void set(llvm::Value* array, size_t i, llvm::Value* p) {
    b_.CreateStore(p, b_.CreateConstInBoundsGEP1_64(e_.kb.ptr_type(), array, i));
  }
  llvm::Value* get(llvm::Value* array, size_t i) {
    return b_.CreateLoad(e_.kb.ptr_type(), b_.CreateConstInBoundsGEP1_64(e_.kb.ptr_type(), array, i));
  }
  // After a step: the carries just written are read by the next one.
  void swap_carries() {
    for (size_t j = 0; j < l_.carry; ++j) {
      if (s_.in_place[j]) continue;
      llvm::Value *read = get(in_, j), *written = get(out_, j);
      set(in_, j, written);
      set(out_, j, read);
    }
  }
  // to = from, unless they are the same buffer (a carry in place, or the
  // final carries already in the results).
  void copy(llvm::Value* to, llvm::Value* from, const TensorType& t) {
    int64_t n = bytes_of(t);
    if (n <= 0) return;
    llvm::Function* fn = b_.GetInsertBlock()->getParent();
    auto* copy = llvm::BasicBlock::Create(e_.kb.ctx, "carry.copy", fn);
    auto* done = llvm::BasicBlock::Create(e_.kb.ctx, "carry.done", fn);
    b_.CreateCondBr(b_.CreateICmpNE(to, from), copy, done);
    b_.SetInsertPoint(copy);
    b_.CreateMemCpy(to, llvm::MaybeAlign(1), from, llvm::MaybeAlign(1), static_cast<uint64_t>(n));
    b_.CreateBr(done);
    b_.SetInsertPoint(done);
  }
  // &base[i * bytes]
  llvm::Value* row(llvm::Value* base, llvm::Value* i, int64_t bytes) {
    return b_.CreateInBoundsGEP(b_.getInt8Ty(), base, b_.CreateMul(i, e_.kb.i64(bytes)));
  }

  // status = body(in, out, workspace, ctx); a failure returns it, naming the loop.
  void call(llvm::Function* body, llvm::Value* in, llvm::Value* out, int64_t workspace) {
    llvm::Value* status = b_.CreateCall(body, {in, out, at(workspace), e_.ctx});
    e_.return_if_failed(status);
  }

  // A failure of the loop itself (not of a body), naming the loop.
  void fail_if(llvm::Value* failed, int32_t status, llvm::Value* value, llvm::Value* index, int64_t bound) {
    KernelEnv k{e_.kb, e_.node, e_.node_id, {}, nullptr, {}, {}, {}};
    k.ctx = e_.ctx;
    k.fail_if(failed, status, value, index, bound);
  }

  // The number of steps: the length, or the run-time count (dynamic_length),
  // checked against it; the stacked rows past the count are zeros.
  llvm::Value* scan_steps() {
    const Node& n = e_.node;
    if (l_.count < 0) return e_.kb.i64(l_.length);
    llvm::Value* count = b_.CreateLoad(b_.getInt64Ty(), e_.operands[static_cast<size_t>(l_.count)]);
    llvm::Value* bad = b_.CreateOr(b_.CreateICmpSLT(count, e_.kb.i64(0)), b_.CreateICmpSGT(count, e_.kb.i64(l_.length)));
    fail_if(bad, NABLA_TRIP_COUNT_OUT_OF_RANGE, count, e_.kb.i64(0), l_.length);
    for (size_t j = 0; j < l_.ys; ++j)
      if (int64_t bytes = bytes_of(n.body()->results()[l_.carry + j]->type()) * l_.length; bytes > 0)
        b_.CreateMemSet(e_.results[l_.carry + j], b_.getInt8(0), static_cast<uint64_t>(bytes), llvm::MaybeAlign(1));
    return count;
  }

  void emit_scan() {
    const Node& n = e_.node;
    const int64_t len = l_.length;
    if (len == 0) return;  // the results are the initial carries and empty stacks
    llvm::Value* steps = scan_steps();
    e_.kb.loop(e_.kb.i64(0), steps, [&](llvm::Value* step) {
      llvm::Value* i = n.attrs().reverse ? b_.CreateSub(b_.CreateSub(steps, e_.kb.i64(1)), step) : step;
      for (size_t j = 0; j < l_.xs; ++j) {
        const TensorType& t = n.operand(l_.carry + j)->type();
        set(in_, l_.carry + j, row(e_.operands[l_.carry + j], i, bytes_of(t) / len));
      }
      for (size_t j = 0; j < l_.ys; ++j) {
        const TensorType& t = n.body()->results()[l_.carry + j]->type();
        set(out_, l_.carry + j, row(e_.results[l_.carry + j], i, bytes_of(t)));
      }
      call(body_, in_, out_, 0);
      swap_carries();
    }, 1, "step");
  }

  void emit_while() {
    const Node& n = e_.node;
    auto& c = e_.kb.ctx;
    llvm::Function* fn = b_.GetInsertBlock()->getParent();
    llvm::Value* flag = e_.kb.local(b_.getInt8Ty(), "cond");
    llvm::Value* flag_out = e_.kb.local(llvm::ArrayType::get(e_.kb.ptr_type(), 1), "cond.out");
    set(flag_out, 0, flag);
    llvm::Value* steps = e_.kb.local(b_.getInt64Ty(), "steps");
    b_.CreateStore(e_.kb.i64(0), steps);
    auto* head = llvm::BasicBlock::Create(c, "while.cond", fn);
    auto* body = llvm::BasicBlock::Create(c, "while.body", fn);
    auto* done = llvm::BasicBlock::Create(c, "while.done", fn);
    b_.CreateBr(head);
    b_.SetInsertPoint(head);
    call(cond_, in_, flag_out, s_.cond);
    b_.CreateCondBr(b_.CreateICmpNE(b_.CreateLoad(b_.getInt8Ty(), flag), b_.getInt8(0)), body, done);
    b_.SetInsertPoint(body);
    llvm::Value* count = b_.CreateLoad(b_.getInt64Ty(), steps);
    if (int64_t bound = n.attrs().max_trip_count; bound >= 0)
      fail_if(b_.CreateICmpEQ(count, e_.kb.i64(bound)), NABLA_TRIP_COUNT_EXCEEDED, e_.kb.i64(0), count, bound);
    call(body_, in_, out_, 0);
    swap_carries();
    b_.CreateStore(b_.CreateAdd(count, e_.kb.i64(1)), steps);
    b_.CreateBr(head);
    b_.SetInsertPoint(done);
  }

  LoopEnv& e_;
  llvm::IRBuilder<>& b_;
  LoopLayout l_;
  ScratchLayout s_;
  llvm::Function *body_ = nullptr, *cond_ = nullptr;
  llvm::Value *in_ = nullptr, *out_ = nullptr;
};

}  // namespace

KernelInfo describe_loop(const Node& n, const LowerOptions& o) {
  KernelInfo info;
  info.kind = "loop";
  info.can_fail = true;
  if (n.body_result() == 0) info.scratch_bytes = scratch_layout(n, o).total;
  return info;
}

void emit_loop(LoopEnv& env) { LoopEmitter(env).emit(); }

}  // namespace nabla
