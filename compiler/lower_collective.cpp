// all_reduce in the entry: calls of the caller's communicator (runtime/abi.h),
// started at the node's place and waited for at the first reader.
#include "nabla/compiler/lower_collective.h"

#include <llvm/IR/IRBuilder.h>

#include "nabla/compiler/kernel_builder.h"
#include "nabla/compiler/lower.h"
#include "nabla/runtime/abi.h"
#include "nabla/runtime/communicator.h"

namespace nabla {
namespace {

// nabla_communicator's fields, in order.
enum CommField { kState = 0, kRank = 1, kSize = 2, kStart = 3, kWait = 4, kProgress = 5, kMessage = 6 };
constexpr unsigned kContextComm = 3;  // nabla_context::comm

}  // namespace

CollectiveLowering::CollectiveLowering(KernelBuilder& kb, llvm::Value* ctx, llvm::StructType* ctx_type, bool overlap)
    : kb_(kb), ctx_(ctx), ctx_type_(ctx_type), overlap_(overlap) {
  auto* ptr = kb.ptr_type();
  auto* i32 = kb.b.getInt32Ty();
  comm_type_ = llvm::StructType::get(kb.ctx, {ptr, i32, i32, ptr, ptr, ptr, ptr});
}

llvm::Value* CollectiveLowering::comm() {
  auto& b = kb_.b;
  llvm::Function* fn = b.GetInsertBlock()->getParent();
  llvm::BasicBlock* from = b.GetInsertBlock();
  llvm::BasicBlock* has_ctx = llvm::BasicBlock::Create(kb_.ctx, "has_ctx", fn);
  llvm::BasicBlock* join = llvm::BasicBlock::Create(kb_.ctx, "comm", fn);
  b.CreateCondBr(b.CreateIsNull(ctx_), join, has_ctx);
  b.SetInsertPoint(has_ctx);
  llvm::Value* loaded = b.CreateLoad(kb_.ptr_type(), b.CreateStructGEP(ctx_type_, ctx_, kContextComm), "comm");
  b.CreateBr(join);
  b.SetInsertPoint(join);
  llvm::PHINode* phi = b.CreatePHI(kb_.ptr_type(), 2, "comm");
  phi->addIncoming(llvm::ConstantPointerNull::get(kb_.ptr_type()), from);
  phi->addIncoming(loaded, has_ctx);
  return phi;
}

void CollectiveLowering::check(llvm::Value* status, const Node& n, int node_id, int index) {
  KernelEnv env{kb_, n, node_id, {}, nullptr, {}, {}, {}};
  env.ctx = ctx_;
  env.fail_if(kb_.b.CreateICmpNE(status, kb_.b.getInt32(NABLA_OK)), NABLA_COLLECTIVE_FAILED, kb_.i64(-1),
              kb_.i64(index), 0);
}

void CollectiveLowering::start(const Node& n, int node_id, llvm::Value* result, llvm::Value* operand,
                               int kernels_done) {
  auto& b = kb_.b;
  auto* ptr = kb_.ptr_type();
  auto* i32 = b.getInt32Ty();
  int64_t count = n.type().numel();
  int64_t bytes = count * static_cast<int64_t>(dtype_size(n.dtype()));
  int index = static_cast<int>(schedule_.size());
  llvm::Align align(dtype_size(n.dtype()));
  if (result != operand) b.CreateMemCpy(result, align, operand, align, static_cast<uint64_t>(bytes));
  llvm::AllocaInst* request = kb_.local(ptr, "request");
  b.CreateStore(llvm::ConstantPointerNull::get(ptr), request);
  llvm::Value* c = comm();
  kb_.when(b.CreateIsNotNull(c), [&] {
    llvm::Value* state = b.CreateLoad(ptr, b.CreateStructGEP(comm_type_, c, kState), "state");
    llvm::Value* fn = b.CreateLoad(ptr, b.CreateStructGEP(comm_type_, c, kStart), "all_reduce_start");
    auto* type = llvm::FunctionType::get(i32, {ptr, ptr, kb_.i64_type(), i32, i32, ptr}, false);
    llvm::Value* status = b.CreateCall(type, fn, {state, result, kb_.i64(count), b.getInt32(collective_dtype(n.dtype())),
                                                  b.getInt32(collective_reduction(n.attrs().op)), request});
    check(status, n, node_id, index);
  });
  std::string name = n.name().empty() ? "all_reduce" : n.name();
  schedule_.push_back({name, bytes, kernels_done, kernels_done});
  Pending p{&n, node_id, index, result, request};
  if (!overlap_) return wait(p, kernels_done);
  pending_.push_back(p);
}

void CollectiveLowering::wait(const Pending& p, int kernels_done) {
  auto& b = kb_.b;
  auto* ptr = kb_.ptr_type();
  auto* i32 = b.getInt32Ty();
  schedule_[p.index].wait = kernels_done;
  llvm::Value* c = comm();
  kb_.when(b.CreateIsNotNull(c), [&] {
    llvm::Value* state = b.CreateLoad(ptr, b.CreateStructGEP(comm_type_, c, kState), "state");
    llvm::Value* fn = b.CreateLoad(ptr, b.CreateStructGEP(comm_type_, c, kWait), "wait");
    auto* type = llvm::FunctionType::get(i32, {ptr, ptr}, false);
    llvm::Value* status = b.CreateCall(type, fn, {state, b.CreateLoad(ptr, p.request)});
    check(status, *p.node, p.node_id, p.index);
  });
}

void CollectiveLowering::wait_for(const std::vector<const Node*>& reads, int kernels_done) {
  for (size_t k = 0; k < pending_.size();) {
    bool read = false;
    for (const Node* r : reads) read = read || r == pending_[k].node;
    if (!read) { ++k; continue; }
    wait(pending_[k], kernels_done);
    pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(k));
  }
}

void CollectiveLowering::progress() {
  if (pending_.empty()) return;
  auto& b = kb_.b;
  auto* ptr = kb_.ptr_type();
  llvm::Value* c = comm();
  kb_.when(b.CreateIsNotNull(c), [&] {
    llvm::Value* fn = b.CreateLoad(ptr, b.CreateStructGEP(comm_type_, c, kProgress), "progress");
    kb_.when(b.CreateIsNotNull(fn), [&] {
      llvm::Value* state = b.CreateLoad(ptr, b.CreateStructGEP(comm_type_, c, kState), "state");
      b.CreateCall(llvm::FunctionType::get(b.getVoidTy(), {ptr}, false), fn, {state});
    });
  });
}

void CollectiveLowering::wait_all(int kernels_done) {
  for (const Pending& p : pending_) wait(p, kernels_done);
  pending_.clear();
}

}  // namespace nabla
