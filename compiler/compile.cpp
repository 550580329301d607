// compile(): passes, lowering, LLVM optimization and JIT, in that order.
#include "nabla/compiler/compile.h"

#include <chrono>
#include <future>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

#include "nabla/compiler/codegen.h"
#include "nabla/compiler/element_program.h"
#include "nabla/compiler/executable_impl.h"
#include "nabla/compiler/jit.h"
#include "nabla/compiler/lower.h"
#include "nabla/compiler/parallel_codegen.h"
#include "nabla/compiler/pipeline.h"
#include "nabla/ir/clone.h"
#include "nabla/runtime/error.h"

namespace nabla {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

PipelineSpec pipeline_of(const CompileOptions& o) {
  PipelineSpec spec;
  spec.pipeline = o.pipeline;
  spec.fuse = o.fuse;
  spec.fuse_matmul = o.fuse_matmul;
  spec.split_bytes = o.collective_split_bytes;
  spec.bucket_bytes = o.collective_bucket_bytes;
  spec.verify_each = o.verify_each;
  spec.print_after_all = o.print_after_all;
  spec.print_stream = o.print_stream;
  return spec;
}

}  // namespace

Executable compile(const Module& module, std::string_view name, const CompileOptions& options) {
  const Function* f = module.find(name);
  if (!f) {
    std::string names;
    for (const Function* g : module.functions()) names += (names.empty() ? "@" : ", @") + g->name();
    throw Error("compile: no function @" + std::string(name) + " in the module" +
                (names.empty() ? std::string() : " (it has " + names + ")"));
  }
  return compile(*f, options);
}

namespace {

LowerOptions lower_options_of(const CompileOptions& options, llvm::TargetMachine& tm, const Function& f) {
  LowerOptions lo;
  lo.entry_name = entry_symbol(f.name());
  lo.vector_bits = native_vector_bits(tm);
  lo.fast_math = options.fast_math;
  lo.num_threads = options.num_threads <= 0 ? ThreadPool::hardware_threads() : options.num_threads;
  lo.min_parallel_work = options.min_parallel_work;
  lo.stream_store_bytes = options.stream_store_bytes;
  lo.overlap_collectives = options.overlap_collectives;
  return lo;
}

// Optimizes and compiles the module in parts, then takes the JIT (set up
// meanwhile on another thread), links the parts into it with the external
// constants' addresses and returns the entry's address.
void* optimize_and_link(std::unique_ptr<llvm::Module> llvm_module, const TargetSpec& spec,
                        const CompileOptions& options, const ExternalConstants& external,
                        std::future<std::unique_ptr<Jit>>& jit, const std::string& entry_name,
                        Executable::Impl& impl) {
  PartsOptions po;
  po.parts = options.compile_threads > 0 ? options.compile_threads : ThreadPool::hardware_threads();
  po.want_ir = !options.dump_llvm_ir.empty();
  po.want_asm = !options.dump_asm.empty();
  CompiledParts parts = compile_parts(*llvm_module, spec, po);
  llvm_module.reset();
  if (po.want_ir) write_text(parts.llvm_ir, options.dump_llvm_ir, "LLVM IR");
  if (po.want_asm) write_text(parts.assembly, options.dump_asm, "assembly");
  impl.jit = jit.get();
  for (const ExternalConstants::Entry& e : external.entries) {
    impl.jit->define_absolute(e.symbol, e.address);
    ++impl.stats.num_external_constants;
    impl.stats.external_constant_bytes += e.bytes;
  }
  impl.stats.optimize_ms = parts.optimize_ms;
  return impl.jit->add_objects(parts.objects, entry_name);
}

// What run() needs besides the machine code: the memory plan, the
// signature, the workspaces and the thread pool; and the statistics.
void finish_impl(Executable::Impl& impl, const Function& f, LoweredFunction& lowered, int num_threads) {
  CompileStats& stats = impl.stats;
  impl.function = &f;
  impl.plan = std::move(lowered.plan);
  impl.nodes = std::move(lowered.nodes);
  impl.num_threads = num_threads;
  if (num_threads > 1 && (lowered.num_parallel_kernels > 0 || !lowered.side_by_side.empty()))
    impl.pool = shared_thread_pool(num_threads);
  for (const Node* in : f.inputs()) {
    impl.input_types.push_back(in->type());
    impl.input_names.push_back(in->name());
  }
  for (const Node* r : f.results()) impl.output_types.push_back(r->type());
  make_signature(impl);
  impl.workspaces.init(static_cast<size_t>(impl.plan.workspace_bytes), "@" + f.name());
  stats.num_nodes = static_cast<int>(f.size());
  stats.num_kernels = lowered.num_kernels;
  stats.num_parallel_kernels = lowered.num_parallel_kernels;
  stats.collectives = std::move(lowered.collectives);
  stats.side_by_side = std::move(lowered.side_by_side);
  for (const Node* n : f)  // a group of fused nodes is one region
    if (fused_body(*n) && n->body_result() == 0) ++stats.num_fused_regions;
}

}  // namespace

Executable compile(const Function& source, const CompileOptions& options) {
  if (options.opt_level < 0 || options.opt_level > 3)
    throw Error("compile: opt_level must be 0, 1, 2 or 3, got " + std::to_string(options.opt_level));
  auto start = Clock::now();
  auto impl = std::make_unique<Executable::Impl>();
  CompileStats& stats = impl->stats;

  TargetSpec spec;
  spec.cpu = "native";
  spec.opt_level = options.opt_level;
  // The JIT (an ORC session and its linker) is set up on a second thread
  // while this one runs the passes, lowers and starts the parts: it is needed
  // only to link them (docs/performance.md, "Compile time").
  std::future<std::unique_ptr<Jit>> jit =
      std::async(std::launch::async, [&spec] { return std::make_unique<Jit>(spec); });
  impl->module = std::make_unique<Module>();
  Function& f = clone_function(source, *impl->module);
  run_compile_passes(*impl->module, pipeline_of(options));
  stats.passes_ms = ms_since(start);

  auto t = Clock::now();
  std::unique_ptr<llvm::TargetMachine> tm = create_target_machine(spec);
  auto context = std::make_unique<llvm::LLVMContext>();
  auto llvm_module = std::make_unique<llvm::Module>("nabla." + f.name(), *context);
  prepare_module(*llvm_module, *tm);
  LowerOptions lo = lower_options_of(options, *tm, f);
  ExternalConstants external;  // the bytes stay in impl->module's constants
  external.min_bytes = options.external_constant_bytes;
  lo.external_constants = &external;
  LoweredFunction lowered = lower_function(f, *llvm_module, lo);
  stats.lowering_ms = ms_since(t);
  if (!options.dump_llvm_ir_unoptimized.empty()) write_llvm_ir(*llvm_module, options.dump_llvm_ir_unoptimized);

  t = Clock::now();
  void* entry = optimize_and_link(std::move(llvm_module), spec, options, external, jit, lowered.entry, *impl);
  stats.codegen_ms = ms_since(t) - stats.optimize_ms;
  impl->entry = reinterpret_cast<nabla_entry_fn>(entry);
  finish_impl(*impl, f, lowered, lo.num_threads);
  stats.total_ms = ms_since(start);
  Executable exe;
  exe.impl_ = std::move(impl);
  return exe;
}

}  // namespace nabla
