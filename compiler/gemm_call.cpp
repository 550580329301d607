// Helpers for the lowering of matmul onto the generated GEMM.
#include <fmt/format.h>
#include <llvm/IR/IRBuilder.h>

#include "nabla/compiler/gemm.h"
#include "nabla/ir/node.h"
#include "nabla/runtime/error.h"

namespace nabla {

GemmSpec gemm_spec_for_matmul(const Node& n, int threads) {
  if (n.op() != Op::MatMul || n.num_operands() != 2)
    throw Error(fmt::format("gemm: {} is not a matmul", op_name(n.op())));
  const Shape& a = n.operand(0)->shape();
  const Shape& c = n.shape();
  const size_t r = c.size();
  GemmSpec s;
  s.dtype = n.dtype();
  s.trans_a = n.attrs().transpose_a;
  s.trans_b = n.attrs().transpose_b;
  s.M = c[r - 2];
  s.N = c[r - 1];
  s.K = s.trans_a ? a[r - 2] : a[r - 1];
  s.batch = 1;
  for (size_t i = 0; i + 2 < r; ++i) s.batch *= c[i];
  s.threads = threads;
  plan_gemm(s);  // checks the dtype
  return s;
}

void emit_gemm_slots(llvm::IRBuilderBase& b, llvm::Function* gemm, const GemmPlan& plan,
                     const std::vector<llvm::Value*>& operands, llvm::Value* scratch,
                     llvm::Value* slot_begin, llvm::Value* slot_end, int64_t slots,
                     const std::vector<llvm::Value*>& epilogue_operands) {
  llvm::Function* f = b.GetInsertBlock()->getParent();
  llvm::LLVMContext& ctx = f->getContext();
  llvm::Type* i64 = b.getInt64Ty();
  llvm::BasicBlock* pre = b.GetInsertBlock();
  llvm::BasicBlock* body = llvm::BasicBlock::Create(ctx, "gemm.slot", f);
  llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx, "gemm.slots.end", f);
  b.CreateCondBr(b.CreateICmpSLT(slot_begin, slot_end), body, done);
  b.SetInsertPoint(body);
  llvm::PHINode* s = b.CreatePHI(i64, 2, "slot");
  s->addIncoming(slot_begin, pre);
  auto tasks_at = [&](llvm::Value* slot) {
    return b.CreateUDiv(b.CreateMul(slot, b.getInt64(static_cast<uint64_t>(plan.num_tasks))),
                        b.getInt64(static_cast<uint64_t>(slots)));
  };
  llvm::Value* next = b.CreateAdd(s, b.getInt64(1));
  llvm::Value* own = plan.scratch_bytes == 0
                   ? scratch
                   : b.CreateGEP(b.getInt8Ty(), scratch,
                                 b.CreateMul(s, b.getInt64(static_cast<uint64_t>(plan.scratch_bytes))));
  std::vector<llvm::Value*> args(operands.begin(), operands.end());
  args.push_back(own);
  args.push_back(tasks_at(s));
  args.push_back(tasks_at(next));
  args.insert(args.end(), epilogue_operands.begin(), epilogue_operands.end());
  b.CreateCall(gemm, args);
  s->addIncoming(next, b.GetInsertBlock());
  b.CreateCondBr(b.CreateICmpSLT(next, slot_end), body, done);
  b.SetInsertPoint(done);
}

}  // namespace nabla
