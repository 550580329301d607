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
constexpr int kMaxThreads = 0xffff;  // ranges per loop fit in 16 bits of claim_

}  // namespace

int ThreadPool::hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

ThreadPool::ThreadPool(int num_threads)
    : num_threads_(std::min(num_threads <= 0 ? hardware_threads() : num_threads, kMaxThreads)) {
  for (int i = 1; i < num_threads_; ++i) workers_.emplace_back([this] { work(); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  for (std::thread& w : workers_) w.join();
}

void ThreadPool::help() {
  uint64_t c = claim_.load(std::memory_order_acquire);
  for (;;) {
    const uint64_t index = c & 0xffff, parts = (c >> 16) & 0xffff;
    if (index >= parts) return;
    if (!claim_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
    // Range `index` of `parts` near-equal contiguous ranges.
    const auto i = static_cast<int64_t>(index), p = static_cast<int64_t>(parts);
    int64_t begin = n_ * i / p, end = n_ * (i + 1) / p;
    if (begin < end) task_(data_, begin, end);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
    c = claim_.load(std::memory_order_acquire);
  }
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
  const auto parts = static_cast<uint64_t>(std::min<int64_t>(n, num_threads_));
  pending_.store(static_cast<int>(parts), std::memory_order_relaxed);
  const uint32_t loop = generation_.load(std::memory_order_relaxed) + 1;
  claim_.store(static_cast<uint64_t>(loop) << 32 | parts << 16, std::memory_order_release);
  generation_.store(loop, std::memory_order_release);
  generation_.notify_all();
  help();
  for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
    if (spins < kSpins) cpu_relax();
    else std::this_thread::yield();
  }
}

void ThreadPool::work() {
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
    help();
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
