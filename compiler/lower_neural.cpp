// Neural-network kernels: softmax and log_softmax along one axis, and
// cross_entropy, all stable (the maximum is subtracted before exp); one_hot.
// Labels are checked in the generated code: a label outside [0, bound) makes
// the kernel return NABLA_LABEL_OUT_OF_RANGE with the details in ctx->error,
// before anything is read with it.
#include <limits>

#include <llvm/IR/Intrinsics.h>

#include "nabla/compiler/element_program.h"
#include "nabla/compiler/kernel_builder.h"
#include "nabla/compiler/lower.h"
#include "nabla/runtime/abi.h"
#include "nabla/runtime/error.h"

namespace nabla {
namespace {


// The maximum of n values x[base + i * stride] (NaN propagates).
llvm::Value* row_max(KernelBuilder& kb, DType t, llvm::Value* x, llvm::Value* base, int64_t n, int64_t stride) {
  llvm::AllocaInst* m = kb.local(kb.value_type(t), "max");
  kb.b.CreateStore(kb.constant(t, -std::numeric_limits<double>::infinity()), m);
  kb.loop(kb.i64(0), kb.i64(n), [&](llvm::Value* i) {
    llvm::Value* v = kb.load(t, x, kb.b.CreateAdd(base, kb.b.CreateMul(i, kb.i64(stride))));
    kb.b.CreateStore(kb.intrinsic(llvm::Intrinsic::maximum, {kb.b.CreateLoad(m->getAllocatedType(), m), v}), m);
  });
  return kb.b.CreateLoad(m->getAllocatedType(), m);
}

// log(sum_i exp(x_i - m)), summed in order.
llvm::Value* log_sum_exp_shifted(KernelBuilder& kb, DType t, llvm::Value* x, llvm::Value* base, int64_t n, int64_t stride,
                           llvm::Value* m) {
  llvm::AllocaInst* sum = kb.local(kb.value_type(t), "sum");
  kb.b.CreateStore(kb.constant(t, 0), sum);
  ScalarLoops scalar(kb, true);
  kb.loop(kb.i64(0), kb.i64(n), [&](llvm::Value* i) {
    llvm::Value* v = kb.load(t, x, kb.b.CreateAdd(base, kb.b.CreateMul(i, kb.i64(stride))));
    llvm::Value* e = kb.math("exp", {kb.b.CreateFSub(v, m)});
    kb.b.CreateStore(kb.b.CreateFAdd(kb.b.CreateLoad(sum->getAllocatedType(), sum), e), sum);
  });
  return kb.math("log", {kb.b.CreateLoad(sum->getAllocatedType(), sum)});
}

struct Rows {
  int64_t outer, n, inner;
};
Rows softmax_rows(const Node& node) {
  const Shape& s = node.shape();
  int64_t axis = node.attrs().axis;
  return {num_elements(std::span(s).first(axis)), s[axis], num_elements(std::span(s).subspan(axis + 1))};
}

// softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m); log_softmax(x)_i = x_i - m - lse.
void emit_softmax(KernelEnv& env) {
  KernelBuilder& kb = env.kb;
  auto& b = kb.b;
  DType t = env.node.dtype();
  Rows r = softmax_rows(env.node);
  llvm::Value* x = env.operands[0];
  llvm::Value* res = env.result;
  kb.loop(env.begin, env.end, [&](llvm::Value* o) {
    kb.loop(kb.i64(0), kb.i64(r.inner), [&](llvm::Value* in) {
      llvm::Value* base = b.CreateAdd(b.CreateMul(o, kb.i64(r.n * r.inner)), in);
      auto at = [&](llvm::Value* i) { return b.CreateAdd(base, b.CreateMul(i, kb.i64(r.inner))); };
      llvm::Value* m = row_max(kb, t, x, base, r.n, r.inner);
      if (env.node.op() == Op::LogSoftmax) {
        llvm::Value* lse = log_sum_exp_shifted(kb, t, x, base, r.n, r.inner, m);
        kb.loop(kb.i64(0), kb.i64(r.n), [&](llvm::Value* i) {
          kb.store(t, b.CreateFSub(b.CreateFSub(kb.load(t, x, at(i)), m), lse), res, at(i));
        });
        return;
      }
      llvm::AllocaInst* sum = kb.local(kb.value_type(t), "sum");
      b.CreateStore(kb.constant(t, 0), sum);
      ScalarLoops scalar(kb, true);
      kb.loop(kb.i64(0), kb.i64(r.n), [&](llvm::Value* i) {
        llvm::Value* e = kb.math("exp", {b.CreateFSub(kb.load(t, x, at(i)), m)});
        kb.store(t, e, res, at(i));
        b.CreateStore(b.CreateFAdd(b.CreateLoad(sum->getAllocatedType(), sum), e), sum);
      });
      llvm::Value* total = b.CreateLoad(sum->getAllocatedType(), sum);
      kb.loop(kb.i64(0), kb.i64(r.n), [&](llvm::Value* i) {
        kb.store(t, b.CreateFDiv(kb.load(t, res, at(i)), total), res, at(i));
      });
    });
  }, 1, "row");
}

// Checks labels[0, count) against [0, bound); returns nothing, fails the kernel.
void check_labels(KernelEnv& env, const Node& labels, llvm::Value* ptr, int64_t count, int64_t bound) {
  KernelBuilder& kb = env.kb;
  kb.loop(kb.i64(0), kb.i64(count), [&](llvm::Value* i) {
    llvm::Value* l = kb.b.CreateSExt(kb.load(labels.dtype(), ptr, i), kb.i64_type());
    // Unsigned l >= bound is l < 0 or l >= bound.
    env.fail_if(kb.b.CreateICmpUGE(l, kb.i64(bound)), NABLA_LABEL_OUT_OF_RANGE, l, i, bound);
  }, 1, "label");
}

llvm::Value* label_at(KernelBuilder& kb, const Node& labels, llvm::Value* ptr, llvm::Value* i) {
  return kb.b.CreateSExt(kb.load(labels.dtype(), ptr, i), kb.i64_type());
}

// cross_entropy = (1/N) sum_n ((m_n - logits[n, y_n]) + log sum_c exp(logits[n, c] - m_n)).
void emit_cross_entropy(KernelEnv& env) {
  KernelBuilder& kb = env.kb;
  auto& b = kb.b;
  const Node& logits = *env.node.operand(0);
  const Node& labels = *env.node.operand(1);
  DType t = env.node.dtype();
  int64_t rows = logits.shape()[0], classes = logits.shape()[1];
  check_labels(env, labels, env.operands[1], rows, classes);
  llvm::AllocaInst* total = kb.local(kb.value_type(t), "total");
  b.CreateStore(kb.constant(t, 0), total);
  kb.loop(kb.i64(0), kb.i64(rows), [&](llvm::Value* i) {
    llvm::Value* base = b.CreateMul(i, kb.i64(classes));
    llvm::Value* m = row_max(kb, t, env.operands[0], base, classes, 1);
    llvm::Value* picked = kb.load(t, env.operands[0], b.CreateAdd(base, label_at(kb, labels, env.operands[1], i)));
    llvm::Value* lse = log_sum_exp_shifted(kb, t, env.operands[0], base, classes, 1, m);
    llvm::Value* term = b.CreateFAdd(b.CreateFSub(m, picked), lse);
    b.CreateStore(b.CreateFAdd(b.CreateLoad(total->getAllocatedType(), total), term), total);
  }, 1, "row");
  llvm::Value* mean = b.CreateFDiv(b.CreateLoad(total->getAllocatedType(), total),
                             kb.constant(t, static_cast<double>(rows)));  // N = 0: NaN
  kb.store(t, mean, env.result, kb.i64(0));
}

// one_hot(labels)[..., k] = (labels[...] == k).
void emit_one_hot(KernelEnv& env) {
  KernelBuilder& kb = env.kb;
  const Node& labels = *env.node.operand(0);
  DType t = env.node.dtype();
  int64_t count = labels.type().numel(), depth = env.node.attrs().depth;
  check_labels(env, labels, env.operands[0], count, depth);
  kb.loop(kb.i64(0), kb.i64(count * depth), [&](llvm::Value* i) { kb.store(t, kb.constant(t, 0), env.result, i); });
  kb.loop(kb.i64(0), kb.i64(count), [&](llvm::Value* i) {
    llvm::Value* at = kb.b.CreateAdd(kb.b.CreateMul(i, kb.i64(depth)), label_at(kb, labels, env.operands[0], i));
    kb.store(t, kb.constant(t, 1), env.result, at);
  });
}

}  // namespace

KernelInfo describe_neural(const Node& n, const LowerOptions& o) {
  KernelInfo info;
  info.kind = "neural";
  switch (n.op()) {
    case Op::Softmax:
    case Op::LogSoftmax: {
      Rows r = softmax_rows(n);
      info.tasks = r.outer;
      info.work = n.type().numel() * 8;
      break;
    }
    case Op::OneHot:
    case Op::CrossEntropy:
      info.can_fail = true;
      info.work = n.operand(0)->type().numel();
      break;
#define NABLA_OP(Enum, name, arity, Kind, flags, attrs) NABLA_CASE_UNLESS_KIND(Kind, Neural, Enum)
#include "nabla/ir/ops.def"
      throw InternalError(std::string(op_name(n.op())) + ": not a neural op");
  }
  return info;
}

void emit_neural(KernelEnv& env) {
  switch (env.node.op()) {
    case Op::Softmax:
    case Op::LogSoftmax: emit_softmax(env); break;
    case Op::CrossEntropy: emit_cross_entropy(env); break;
    case Op::OneHot: emit_one_hot(env); break;
#define NABLA_OP(Enum, name, arity, Kind, flags, attrs) NABLA_CASE_UNLESS_KIND(Kind, Neural, Enum)
#include "nabla/ir/ops.def"
      throw InternalError(std::string(op_name(env.node.op())) + ": not a neural op");
  }
}

}  // namespace nabla
