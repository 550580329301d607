#pragma once
// Lowering of one nabla function (optimized, fused) to LLVM IR: one kernel
// per node that computes something, and one entry with the ABI of
// runtime/abi.h that calls them in order. Internal to compiler/;
// compiler/compile.h is the public interface. docs/backend.md explains it.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "nabla/compiler/lower_collective.h"
#include "nabla/compiler/memory_plan.h"
#include "nabla/ir/function.h"

namespace llvm {
class Module;
class Value;
}  // namespace llvm

namespace nabla {

class KernelBuilder;

// Constants of at least `min_bytes` bytes that the lowering leaves out of the
// module: each becomes an external declaration `symbol` whose definition, the
// constant's own bytes at `address`, the caller provides (the JIT defines it
// as an absolute symbol; compiler/jit.h). Code reaches them through the GOT,
// so they may lie anywhere in memory. In the module, a large constant is a
// data section that the JIT may place more than 2 GB from the code that reads
// it RIP-relatively (x86-64: "relocation ... out of range of Delta32 fixup"),
// and that LLVM copies through bitcode and machine code on every compile.
struct ExternalConstants {
  int64_t min_bytes = 0;
  struct Entry {
    std::string symbol;
    const void* address;
    int64_t bytes;
  };
  std::vector<Entry> entries;
};

struct LowerOptions {
  std::string entry_name;      // the entry's symbol
  int vector_bits = 512;       // widest vector register of the target
  bool fast_math = false;      // fast-math flags, reassociated reductions, FMA
  int num_threads = 1;         // > 1: large loops may run through ctx->parallel_for
  int64_t min_parallel_work = int64_t{1} << 15;  // element operations below which a kernel stays serial
  // > 0: elementwise kernels whose results take at least this many bytes
  // store them non-temporally (x86-64 only; compiler/stream_stores.h).
  int64_t stream_store_bytes = 0;
  // "prefer-vector-width" per kernel kind ("" leaves LLVM's default); the
  // entry and the tasks take other_width. 512 for all: one attribute set.
  std::string elementwise_width = "512", reduce_width = "512", other_width = "512";
  // Collectives wait at their first reader (true) or right after they start.
  bool overlap_collectives = true;
  // When set, large constants go there instead of into the module (the
  // sink outlives the lowering; loop bodies share their parent's).
  ExternalConstants* external_constants = nullptr;
};

// What the lowering tells the caller.
struct LoweredFunction {
  std::string entry;
  MemoryPlan plan;
  int num_kernels = 0;
  int num_parallel_kernels = 0;
  // Node positions used in error details (nabla_error_info::node).
  std::vector<const Node*> nodes;
  // The collectives in start order, with where they start and are waited for.
  std::vector<CollectiveSchedule> collectives;
  // Serial kernels run side by side, in schedule order (side_by_side.h).
  std::vector<SideBySide> side_by_side;
};

// Emits the kernels and the entry of `f` into `module` (which has the target's
// data layout). Throws nabla::Error for what cannot be lowered.
LoweredFunction lower_function(const Function& f, llvm::Module& module, const LowerOptions& options);

// ---- The kernel interface, one implementation per op family. ----

// How a node's kernel is shaped, known before it is emitted.
struct KernelInfo {
  const char* kind = "elementwise";  // elementwise, reduce, layout, matmul, neural, axis
  int64_t tasks = 1;          // iterations of the kernel's parallel loop (1: none)
  int64_t work = 0;           // rough cost, in element operations
  int64_t scratch_bytes = 0;  // temporary workspace during the kernel
  bool can_fail = false;      // returns a status (label checks)
  bool checks = false;        // emit_checks checks its operands in the entry, before it runs
  // > 0: the parallel loop's threads claim chunks of this many tasks from a
  // shared counter instead of running one range each, so a thread woken late
  // or slowed leaves its share to the others (the same code for every chunk,
  // so results do not depend on which thread ran it).
  int64_t claim = 0;
};

// The kernel being emitted: the builder sits in its body.
struct KernelEnv {
  KernelBuilder& kb;
  const Node& node;
  int node_id;                           // position for error details
  std::vector<llvm::Value*> operands;    // one pointer per node operand
  llvm::Value* result;                   // the result's pointer
  // The element strides at which an elementwise kernel stores its result(s)
  // (a block of an assembled concat, compiler/memory_plan.h); empty: row-major.
  std::vector<int64_t> result_strides;
  // A group of fused nodes of one body (ir/fused.h) is one kernel: the nodes
  // it stores (the group's nodes that something reads) and their pointers;
  // empty for every other kernel.
  std::vector<const Node*> group;
  std::vector<llvm::Value*> group_results;
  llvm::Value* scratch = nullptr;        // scratch_bytes of workspace, or null
  llvm::Value* ctx = nullptr;            // nabla_context* (may be null at run time)
  llvm::Value* begin = nullptr;          // the task range [begin, end) of the parallel loop
  llvm::Value* end = nullptr;
  // For kernels that can fail: emits the error exit when `failed` holds,
  // recording the details in ctx->error.
  // `op` names the failing op (default: the node's; a fused body's gather names itself).
  void fail_if(llvm::Value* failed, int32_t status, llvm::Value* value, llvm::Value* index,
               int64_t bound, std::string_view op = {});
};

// A loop (ir/loop.h), emitted in the entry by compiler/lower_loop.cpp.
struct LoopEnv {
  KernelBuilder& kb;
  const Node& node;  // the loop's first node
  int node_id;
  const LowerOptions& options;
  std::vector<llvm::Value*> operands;  // one pointer per operand
  std::vector<llvm::Value*> results;   // one pointer per result of the group
  llvm::Value* scratch;                // describe_loop's scratch_bytes
  llvm::Value* ctx;
  // Returns `status` from the entry when it is not NABLA_OK, the error naming the loop.
  std::function<void(llvm::Value* status)> return_if_failed;
};
KernelInfo describe_loop(const Node& n, const LowerOptions& o);
void emit_loop(LoopEnv& env);

KernelInfo describe_kernel(const Node& n, const LowerOptions& options);
void emit_kernel(KernelEnv& env);

// Per family (compiler/lower_<family>.cpp).
KernelInfo describe_elementwise(const Node& n, const LowerOptions& o);
// The tasks of an elementwise kernel that stores its results at these strides
// (MemoryPlan's blocks of a concat along an inner axis): the loop nest's
// outer axis, which the strides may keep from merging with the next.
int64_t strided_elementwise_tasks(const Node& n, const std::vector<const Node*>& outs,
                                  const std::vector<int64_t>& result_strides);
void emit_elementwise(KernelEnv& env);
KernelInfo describe_reduce(const Node& n, const LowerOptions& o);
void emit_reduce(KernelEnv& env);
KernelInfo describe_layout(const Node& n, const LowerOptions& o);
void emit_layout(KernelEnv& env);
KernelInfo describe_matmul(const Node& n, const LowerOptions& o);
// Whether the GEMM of a fused matmul region (passes/fuse_matmul.h) sums the
// whole of K in one block: its epilogue then reads each leaf element just
// before C's element is written, never after (a leaf may share C's bytes).
bool gemm_one_k_block(const Node& fused, const LowerOptions& o);

void emit_matmul(KernelEnv& env);
KernelInfo describe_neural(const Node& n, const LowerOptions& o);
void emit_neural(KernelEnv& env);
KernelInfo describe_axis(const Node& n, const LowerOptions& o);
void emit_axis(KernelEnv& env);
KernelInfo describe_conv(const Node& n, const LowerOptions& o);
void emit_conv(KernelEnv& env);
// The run-time checks of a kernel whose KernelInfo says `checks` (indices in
// range), emitted in the entry with the entry's pointers: a failure returns
// the status from the entry before the kernel runs.
void emit_checks(KernelEnv& env);

}  // namespace nabla
