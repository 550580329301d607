#pragma once
// A small persistent thread pool for the parallel loops of compiled functions
// (runtime/abi.h's parallel_for). The calling thread takes part in every loop,
// so a pool of n threads starts n - 1 workers; a pool of one thread starts none
// and runs every loop inline. Workers spin briefly after a loop (back-to-back
// loops do not pay a wake-up), then sleep. The ranges of a loop are claimed,
// not assigned: a thread that finishes its range takes the next unclaimed
// one, so the caller runs the ranges of workers that have not woken yet
// instead of waiting for them (a sleeping worker takes about 35 us to start
// on the development machine; bench/call_bench.cpp).
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
  void work();
  // Claims and runs ranges of the current loop until none is left.
  void help();

  int num_threads_;
  std::vector<std::thread> workers_;
  std::mutex loop_mutex_;  // one loop at a time
  // The current loop, published by claim_ and then generation_. Its fields
  // are rewritten only after all its ranges are done, and a range is only
  // run after a successful claim, so no thread reads them while they change.
  nabla_task_fn task_ = nullptr;
  void* data_ = nullptr;
  int64_t n_ = 0;
  // (loop number << 32) | (ranges << 16) | next range to claim.
  std::atomic<uint64_t> claim_{0};
  std::atomic<uint32_t> generation_{0};  // workers wait on it
  std::atomic<int> pending_{0};          // ranges not yet done
  std::atomic<bool> stop_{false};
};

}  // namespace nabla
