#pragma once
// What an Executable holds (internal to compiler/).
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <llvm/ADT/SmallVector.h>

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
    ~Lease() {
      if (data_) pool_.give_back(data_);
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    void* data() const { return data_; }

   private:
    WorkspacePool& pool_;
    void* data_;
  };
  // Makes `data` (the caller's, not freed here) the workspace of the next
  // run, in place of the free ones.
  void lend(void* data);
  // A workspace for one run (null when the size is 0: inline, no call).
  Lease take() { return bytes_ == 0 ? Lease(*this, nullptr) : take_one(); }

 private:
  Lease take_one();
  void* allocate();
  void give_back(void* data);
  // Frees the free workspaces this pool allocated (not the lent one).
  void free_owned();

  size_t bytes_ = 0;
  std::string what_;
  std::mutex mutex_;
  std::vector<void*> free_;
  void* lent_ = nullptr;
};

// What run() checks of one argument, read from one array (not from the
// TensorTypes' separate shape buffers): a cold call (GradBench's `hello`, one
// call per message) pays a cache miss per line and page it touches.
struct ArgSpec {
  DType dtype;
  uint32_t rank;
  uint32_t dims;      // its dimensions' position in Impl::signature_dims
  uint32_t elem;      // element size in bytes (run checks the alignment)
  size_t bytes;
};

struct Executable::Impl {
  // What run() reads, first and together: a cold call reads a few lines of
  // one page here.
  nabla_entry_fn entry = nullptr;
  const nabla_communicator* comm = nullptr;
  std::shared_ptr<ThreadPool> pool;     // null: everything on the calling thread
  size_t num_inputs = 0;
  llvm::SmallVector<ArgSpec, 8> signature;  // the inputs', then the outputs'
  llvm::SmallVector<int64_t, 16> signature_dims;
  WorkspacePool workspaces;

  std::unique_ptr<Module> module;       // the function after the passes
  const Function* function = nullptr;
  std::unique_ptr<Jit> jit;             // owns the machine code
  MemoryPlan plan;
  std::vector<const Node*> nodes;       // by nabla_error_info::node
  std::vector<TensorType> input_types, output_types;
  std::vector<std::string> input_names;
  int num_threads = 1;
  CompileStats stats;
};

// Fills impl.signature from its input_types and output_types.
void make_signature(Executable::Impl& impl);

}  // namespace nabla
