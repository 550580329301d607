// Layout kernels: transpose, broadcast_to, slice and concat are copies whose
// source index is affine in the result index (reshape makes no kernel: it
// aliases its operand). Each walks its result in row-major order.
#include "nabla/compiler/kernel_builder.h"
#include "nabla/compiler/loop_nest.h"
#include "nabla/compiler/lower.h"
#include "nabla/runtime/error.h"

namespace nabla {
namespace {

// The nest over the result and the operand's strides (accessors: operand, result).
LoopNest copy_nest(const Node& n) {
  const Node& x = *n.operand(0);
  std::vector<int64_t> own = row_major_strides(x.shape());
  std::vector<int64_t> src(n.shape().size(), 0);
  int64_t base = 0;
  switch (n.op()) {
    case Op::Transpose:  // result axis i is operand axis perm[i]
      for (size_t i = 0; i < src.size(); ++i) src[i] = own[n.attrs().perm[i]];
      break;
    case Op::Slice:  // result index j on axis i reads start[i] + j * step[i]
      for (size_t i = 0; i < src.size(); ++i) {
        src[i] = own[i] * n.attrs().step[i];
        base += own[i] * n.attrs().start[i];
      }
      break;
    case Op::BroadcastTo:
      src = broadcast_strides(x.shape(), n.shape());
      break;
    case Op::Reshape: case Op::Concat:  // reshape: no kernel (an alias); concat: emit_layout
#define NABLA_OP(Enum, name, arity, Kind, flags, attrs) NABLA_CASE_UNLESS_KIND(Kind, Layout, Enum)
#include "nabla/ir/ops.def"
      throw InternalError(std::string(op_name(n.op())) + ": not a copy");
  }
  return make_loop_nest(n.shape(), {src, row_major_strides(n.shape())}, {base, 0});
}

void copy_elements(KernelBuilder& kb, DType t, const LoopNest& nest, llvm::Value* from, llvm::Value* to,
                   llvm::Value* begin, llvm::Value* end) {
  llvm::Type* type = kb.memory_type(t);
  llvm::Align align(dtype_size(t));
  emit_loop_nest(kb, nest, [&](std::span<llvm::Value* const> at) {
    llvm::Value* v = kb.b.CreateAlignedLoad(type, kb.element_ptr(t, from, at[0]), align);
    kb.b.CreateAlignedStore(v, kb.element_ptr(t, to, at[1]), align);
  }, begin, end);
}

}  // namespace

KernelInfo describe_layout(const Node& n, const LowerOptions& o) {
  KernelInfo info;
  info.kind = "layout";
  info.work = n.type().numel();
  if (n.op() != Op::Concat) {
    LoopNest nest = copy_nest(n);
    info.tasks = nest.shape.empty() ? 1 : nest.shape[0];
  }
  return info;
}

void emit_layout(KernelEnv& env) {
  const Node& n = env.node;
  if (n.op() != Op::Concat) {
    copy_elements(env.kb, n.dtype(), copy_nest(n), env.operands[0], env.result, env.begin, env.end);
    return;
  }
  // Operand k fills the block of the result that starts where operand k-1 ended on `axis`.
  std::vector<int64_t> out = row_major_strides(n.shape());
  int64_t at = 0;
  for (size_t k = 0; k < n.num_operands(); ++k) {
    const Node& x = *n.operand(k);
    LoopNest nest = make_loop_nest(x.shape(), {row_major_strides(x.shape()), out},
                                   {0, at * out[n.attrs().axis]});
    copy_elements(env.kb, n.dtype(), nest, env.operands[k], env.result, nullptr, nullptr);
    at += x.shape()[n.attrs().axis];
  }
}

}  // namespace nabla
