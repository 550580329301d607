#pragma once
// What an Executable holds (internal to compiler/).
#include <memory>
#include <vector>

#include "nabla/compiler/compile.h"
#include "nabla/compiler/jit.h"
#include "nabla/compiler/memory_plan.h"
#include "nabla/runtime/thread_pool.h"

namespace nabla {

// One pool per thread count, shared by every Executable that wants it.
std::shared_ptr<ThreadPool> shared_thread_pool(int num_threads);

struct Executable::Impl {
  std::unique_ptr<Module> module;       // the function after the passes
  const Function* function = nullptr;
  std::unique_ptr<Jit> jit;             // owns the machine code
  nabla_entry_fn entry = nullptr;
  MemoryPlan plan;
  std::vector<const Node*> nodes;       // by nabla_error_info::node
  std::vector<TensorType> input_types, output_types;
  std::vector<std::string> input_names;
  int num_threads = 1;
  std::shared_ptr<ThreadPool> pool;     // null: everything on the calling thread
  std::unique_ptr<std::byte[], void (*)(void*)> workspace{nullptr, nullptr};
  CompileStats stats;
  const nabla_communicator* comm = nullptr;
  uint64_t program_hash = 0;  // for the collectives; null: one process

  void allocate_workspace();
};

}  // namespace nabla
