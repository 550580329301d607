#pragma once
// Compiling nabla functions to native code in-process (ORC JIT):
//
//   nabla::Executable exe = nabla::compile(module, "mlp_step", nabla::CompileOptions{});
//   std::vector<nabla::Tensor> results = exe.run(inputs);
//   exe.run(inputs, outputs);  // into caller-provided tensors (views or owned)
//
// compile() copies the function, runs the pass pipeline (build-grad and the
// cleanups of the default pipeline, then elementwise fusion), plans memory,
// lowers every node to LLVM IR kernels in one module, optimizes it for the
// host and JIT-compiles it. docs/backend.md describes each step.
#include <cstdint>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nabla/ir/function.h"
#include "nabla/runtime/abi.h"
#include "nabla/runtime/tensor.h"

namespace nabla {

struct CompileOptions {
  // The pass pipeline run before lowering (passes/pass_manager.h syntax);
  // "default" is default_pipeline(), "" runs none.
  std::string pipeline = "default";
  // Group elementwise ops into fused regions (the `fuse` pass) after the pipeline.
  bool fuse = true;
  // Then fuse each float matmul with the elementwise op or region that is its
  // only user (the `fuse-matmul` pass): the GEMM computes it as its epilogue.
  bool fuse_matmul = true;
  // Verify after every pass, and print the module after every pass to
  // print_stream (std::cerr when null).
  bool verify_each = false;
  bool print_after_all = false;
  std::ostream* print_stream = nullptr;
  // LLVM optimization level, 0..3.
  int opt_level = 3;
  // Fast-math: LLVM's fast-math flags on float operations, reductions
  // reassociated (vectorized), multiply-adds fused. Off, results equal the
  // interpreter's bit for bit (the same operations in the same order).
  bool fast_math = false;
  // Threads for large loops and matmuls; 0: the machine's hardware threads.
  // With 1, no parallel code is generated at all.
  int num_threads = 0;
  // A loop nest or matmul is split across the threads only when it does at
  // least this many element operations (so small kernels pay no hand-off).
  int64_t min_parallel_work = int64_t{1} << 15;
  // On x86-64, an elementwise kernel whose results take at least this many bytes
  // writes them with non-temporal (streaming) stores, which skip the read of
  // each line before it is written and keep the results out of the cache:
  // worth it once they are larger than the last-level cache. 0: never.
  int64_t stream_store_bytes = int64_t{16} << 20;
  // Threads that optimize and generate machine code at compile time (the
  // module is split into that many parts); 0: the machine's hardware threads.
  int compile_threads = 0;
  // Collectives (all_reduce, docs/distributed.md): wait for each at its first
  // reader, so that it overlaps the kernels in between (true), or right after
  // starting it (false: blocking, for comparison).
  bool overlap_collectives = true;
  // Small collectives (below this many bytes each) that start one after the
  // other travel as one message (`bucket-collectives`); 0: each alone.
  int64_t collective_bucket_bytes = int64_t{256} << 10;
  // A collective above this many bytes whose operand is a product (and
  // elementwise ops) with several rows is split into blocks of rows of about
  // this size, each computed and sent apart (`split-collectives`), so that
  // only the last block's message is left when the product is done; 0 (the
  // default): whole. The split pays only where messages travel without the
  // rank's CPU; nabla_mpi's all-reduces copy and add on the rank's own core,
  // and on 2 ranks of one machine 256 KiB blocks cost 0.2-0.3 ms per step
  // of bench/distributed_bench (docs/distributed.md, session 8).
  int64_t collective_split_bytes = 0;
  // Constants of at least this many bytes stay out of the generated code:
  // the code reads them where the compiled function holds them, through a
  // 64-bit address (any placement in memory; a large constant in the code's
  // module could land out of reach of 32-bit offsets, and LLVM would copy it
  // through code generation). 0: every constant goes into the code.
  int64_t external_constant_bytes = int64_t{64} << 10;
  // When not empty: write the LLVM IR before optimization, after it, and the
  // assembly of the optimized module to these files.
  std::string dump_llvm_ir_unoptimized;
  std::string dump_llvm_ir;
  std::string dump_asm;
};

// Where one collective of a compiled function starts and ends, in kernels: it
// starts after `start` kernels have run and is waited for before kernel `wait`
// (the kernel count when it is waited for at the end); wait - start kernels
// overlap it.
struct CollectiveSchedule {
  std::string name;   // the node's name (or "all_reduce")
  int64_t bytes = 0;  // the message
  int start = 0;
  int wait = 0;
};

// Serial kernels that run side by side as one parallel loop
// (compiler/side_by_side.h): the kernels of each of its tasks, by their names
// (kN.OP, N their place in the schedule).
struct SideBySide {
  std::vector<std::vector<std::string>> tasks;
};

// Where the time of a compile() went, in milliseconds, and what it made. With
// several compile threads, optimize_ms is the slowest part's optimization and
// codegen_ms the rest of that phase (machine code, waiting, linking).
struct CompileStats {
  double passes_ms = 0, lowering_ms = 0, optimize_ms = 0, codegen_ms = 0, total_ms = 0;
  int num_nodes = 0;         // body nodes after the passes (fused regions count once)
  int num_kernels = 0;
  int num_parallel_kernels = 0;
  int num_fused_regions = 0;
  int num_external_constants = 0;      // constants left out of the code (external_constant_bytes)
  int64_t external_constant_bytes = 0;  // and their bytes
  std::vector<CollectiveSchedule> collectives;  // in start order
  std::vector<SideBySide> side_by_side;         // in schedule order
};

class Executable {
 public:
  Executable();
  ~Executable();
  Executable(Executable&&) noexcept;
  Executable& operator=(Executable&&) noexcept;

  const std::string& name() const;
  // The signature: one type per input and per result, and the input names.
  const std::vector<TensorType>& input_types() const;
  const std::vector<TensorType>& output_types() const;
  const std::vector<std::string>& input_names() const;

  // Runs the function. Each input must have its input's dtype and shape, and
  // each output its result's (an undefined output tensor is allocated here);
  // outputs must not overlap inputs or each other. Throws nabla::Error with
  // a clear message for bad arguments, and for data-dependent failures (a
  // label out of range) an EvaluationError with the interpreter's message,
  // e.g. "cross_entropy: label 12 at index 3 is outside [0, 10)".
  // Threads may call run at the same time on one Executable: each run has a
  // workspace of its own (taken from the Executable's, which keeps one per
  // run in progress), and a compiled function with parallel loops shares
  // its thread pool (ThreadPool runs the loops of simultaneous calls one
  // after the other). Moving or destroying it during a run is not allowed.
  void run(std::span<const Tensor> inputs, std::span<Tensor> outputs);
  std::vector<Tensor> run(std::span<const Tensor> inputs);

  // The workspace arena's size, and the sum of the sizes of all intermediate
  // buffers (what they would take without sharing), in bytes.
  int64_t workspace_bytes() const;
  int64_t intermediate_bytes() const;
  int64_t peak_live_bytes() const;
  // Lends run() the caller's memory as the workspace (at least
  // workspace_bytes(), NABLA_WORKSPACE_ALIGN-aligned; not owned, and it must
  // outlive the Executable's runs; not set during a run): e.g.
  // nabla_mpi_shared_memory's, where all-reduces need no copy. A run at the
  // same time as another takes a workspace of its own. Throws nabla::Error
  // when it is too small or misaligned.
  void set_workspace(void* data, int64_t bytes);
  int num_threads() const;
  const CompileStats& stats() const;

  // The function as compiled: after the passes and fusion.
  const Function& function() const;

  // The raw entry (runtime/abi.h), for callers that manage buffers themselves.
  nabla_entry_fn entry() const;

  // A hash of the compiled function (its text after the passes, which holds
  // every shape, constant and collective): equal on every rank that compiled
  // the same step (compiler/data_parallel.h checks it at start-up).
  uint64_t program_hash() const;

  // The communicator that run() gives the function's collectives (ctx->comm;
  // runtime/abi.h). Null (the default): one process. Not owned.
  void set_communicator(const nabla_communicator* comm);
  const nabla_communicator* communicator() const;

  struct Impl;

 private:
  friend Executable compile(const Function& f, const CompileOptions& options);
  std::unique_ptr<Impl> impl_;
};

// Compiles function `name` of `module` (which is not modified). Throws
// nabla::Error for an unknown function, a pass failure or an op that cannot
// be lowered.
Executable compile(const Module& module, std::string_view name, const CompileOptions& options = {});
Executable compile(const Function& f, const CompileOptions& options = {});

}  // namespace nabla
