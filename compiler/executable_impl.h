#pragma once
// What an Executable holds (internal to compiler/).
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "nabla/compiler/compile.h"
#include "nabla/compiler/jit.h"
#include "nabla/compiler/memory_plan.h"
#include "nabla/runtime/thread_pool.h"

namespace nabla {

// One pool per thread count, shared by every Executable that wants it.
std::shared_ptr<ThreadPool> shared_thread_pool(int num_threads);

// The workspaces of an Executable's runs: a run takes a free one (or makes a
// new one) and gives it back when it ends, so runs on several threads at once
// each have their own, and a run after another reuses its workspace.
class WorkspacePool {
 public:
  WorkspacePool() = default;
  ~WorkspacePool();
  WorkspacePool(const WorkspacePool&) = delete;
  WorkspacePool& operator=(const WorkspacePool&) = delete;

  // Sets the size and makes the first workspace (so that an allocation
  // failure shows at compile time). Throws nabla::Error naming `what`.
  void init(size_t bytes, const std::string& what);

  class Lease {
   public:
    Lease(WorkspacePool& pool, void* data) : pool_(pool), data_(data) {}
    ~Lease() { pool_.give_back(data_); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    void* data() const { return data_; }

   private:
    WorkspacePool& pool_;
    void* data_;
  };
  // A workspace for one run (null when the size is 0).
  Lease take();

 private:
  void* allocate();
  void give_back(void* data);

  size_t bytes_ = 0;
  std::string what_;
  std::mutex mutex_;
  std::vector<void*> free_;
};

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
  WorkspacePool workspaces;
  CompileStats stats;
  const nabla_communicator* comm = nullptr;
};

}  // namespace nabla
