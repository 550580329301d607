#pragma once
// The lowering of collectives (all_reduce), internal to compiler/. They are
// not kernels: the entry calls the caller's communicator (runtime/abi.h,
// ctx->comm) itself. An all_reduce starts at its place in the schedule (its
// operand copied into its result buffer, then comm->all_reduce_start on that
// buffer), the entry calls comm->progress between the kernels that follow,
// and waits (comm->wait; mean then divides by comm->size) just before the
// first kernel that reads the result, or at the end. With overlap off it
// waits right after starting. docs/distributed.md describes the schedule.
#include <cstdint>
#include <string>
#include <vector>

#include "nabla/compiler/compile.h"
#include "nabla/ir/function.h"

namespace llvm {
class StructType;
class Value;
}  // namespace llvm

namespace nabla {

class KernelBuilder;

class CollectiveLowering {
 public:
  // ctx is the entry's nabla_context* argument, ctx_type its LLVM type.
  CollectiveLowering(KernelBuilder& kb, llvm::Value* ctx, llvm::StructType* ctx_type, bool overlap);

  // Emits the start of all_reduce n (whose operand's buffer is `operand` and
  // result's `result`) after `kernels_done` kernels.
  void start(const Node& n, int node_id, llvm::Value* result, llvm::Value* operand, int kernels_done);
  // Before a kernel (or a copy) that reads the values `reads` (storage owners):
  // waits for the pending collectives among them.
  void wait_for(const std::vector<const Node*>& reads, int kernels_done);
  // After a kernel: lets pending collectives progress.
  void progress();
  // At the end of the entry: waits for everything still pending.
  void wait_all(int kernels_done);

  const std::vector<CollectiveSchedule>& schedule() const { return schedule_; }

 private:
  struct Pending {
    const Node* node;
    int node_id;
    int index;  // in schedule_
    llvm::Value* result;
    llvm::Value* request;  // the entry's slot for the handle
  };
  llvm::Value* comm();  // ctx ? ctx->comm : null, at the builder's position
  void wait(const Pending& p, int kernels_done);
  void check(llvm::Value* status, const Node& n, int node_id, int index);

  KernelBuilder& kb_;
  llvm::Value* ctx_;
  llvm::StructType* ctx_type_;
  llvm::StructType* comm_type_;
  bool overlap_;
  std::vector<Pending> pending_;
  std::vector<CollectiveSchedule> schedule_;
};

}  // namespace nabla
