#pragma once
// A small persistent thread pool for the parallel loops of compiled functions
// (runtime/abi.h's parallel_for). The calling thread takes part in every loop,
// so a pool of n threads starts n - 1 workers; a pool of one thread starts none
// and runs every loop inline. Workers spin briefly after a loop (back-to-back
// loops do not pay a wake-up), then sleep.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "nabla/runtime/abi.h"

namespace nabla {

class ThreadPool {
 public:
  // num_threads <= 0: the machine's hardware threads.
  explicit ThreadPool(int num_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }

  // Runs task(data, b, e) over a partition of [0, n) into at most
  // num_threads() contiguous ranges, one per thread, and returns when all are
  // done. Loops from several threads at once are run one after the other.
  void parallel_for(int64_t n, nabla_task_fn task, void* data);

  // A context whose parallel_for uses this pool (for calling an entry).
  nabla_context context();

  // The C callback behind context(): pool is a ThreadPool*.
  static void parallel_for_callback(void* pool, int64_t n, nabla_task_fn task, void* data);

  static int hardware_threads();

 private:
  void work(int index);
  void run_range(int index);

  int num_threads_;
  std::vector<std::thread> workers_;
  std::mutex loop_mutex_;  // one loop at a time
  // The current loop, published by bumping generation_.
  nabla_task_fn task_ = nullptr;
  void* data_ = nullptr;
  int64_t n_ = 0;
  int parts_ = 0;
  std::atomic<uint32_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace nabla
