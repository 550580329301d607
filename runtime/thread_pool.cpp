#include "nabla/runtime/thread_pool.h"

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace nabla {
namespace {

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

constexpr int kSpins = 1 << 14;  // pauses before a worker sleeps (well under a millisecond)

}  // namespace

int ThreadPool::hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

ThreadPool::ThreadPool(int num_threads)
    : num_threads_(num_threads <= 0 ? hardware_threads() : num_threads) {
  for (int i = 1; i < num_threads_; ++i) workers_.emplace_back([this, i] { work(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  for (std::thread& w : workers_) w.join();
}

void ThreadPool::run_range(int index) {
  if (index >= parts_) return;
  // Range i of `parts` near-equal contiguous ranges.
  int64_t begin = n_ * index / parts_, end = n_ * (index + 1) / parts_;
  if (begin < end) task_(data_, begin, end);
}

void ThreadPool::parallel_for(int64_t n, nabla_task_fn task, void* data) {
  if (n <= 0) return;
  if (num_threads_ == 1 || n == 1) {
    task(data, 0, n);
    return;
  }
  std::lock_guard<std::mutex> lock(loop_mutex_);
  task_ = task;
  data_ = data;
  n_ = n;
  parts_ = static_cast<int>(std::min<int64_t>(n, num_threads_));
  // Every worker answers every loop (those without a range at once), so the
  // loop's fields are never rewritten while a worker may still read them.
  pending_.store(num_threads_ - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  run_range(0);
  for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
    if (spins < kSpins) cpu_relax();
    else std::this_thread::yield();
  }
}

void ThreadPool::work(int index) {
  uint32_t seen = 0;
  for (;;) {
    uint32_t g;
    int spins = 0;
    while ((g = generation_.load(std::memory_order_acquire)) == seen) {
      if (++spins < kSpins) cpu_relax();
      else generation_.wait(seen, std::memory_order_acquire);
    }
    seen = g;
    if (stop_.load()) return;
    run_range(index);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::parallel_for_callback(void* pool, int64_t n, nabla_task_fn task, void* data) {
  static_cast<ThreadPool*>(pool)->parallel_for(n, task, data);
}

nabla_context ThreadPool::context() {
  nabla_context ctx{};
  ctx.parallel_for = &ThreadPool::parallel_for_callback;
  ctx.pool = this;
  return ctx;
}

}  // namespace nabla
