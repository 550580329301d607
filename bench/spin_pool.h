#pragma once
// A tiny persistent thread pool for the benchmarks: workers spin briefly on a
// generation counter (so back-to-back calls do not pay a wake-up), then sleep.
#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include <immintrin.h>

namespace nabla::bench {

class SpinPool {
 public:
  explicit SpinPool(int threads) : threads_(threads) {
    for (int t = 1; t < threads; ++t) workers_.emplace_back([this, t] { work(t); });
  }
  ~SpinPool() {
    stop_ = true;
    generation_.fetch_add(1);
    generation_.notify_all();
    for (auto& w : workers_) w.join();
  }
  int threads() const { return threads_; }

  // Runs fn(t) for t in [0, threads), t = 0 on the calling thread.
  void run(const std::function<void(int)>& fn) {
    fn_ = &fn;
    pending_.store(threads_ - 1);
    generation_.fetch_add(1);
    generation_.notify_all();
    fn(0);
    while (pending_.load() != 0) _mm_pause();
  }

 private:
  void work(int t) {
    unsigned seen = 0;
    for (;;) {
      int spins = 0;
      unsigned g;
      while ((g = generation_.load()) == seen) {
        if (++spins < (1 << 16)) {
          _mm_pause();
        } else {
          generation_.wait(seen);
        }
      }
      seen = g;
      if (stop_) return;
      (*fn_)(t);
      pending_.fetch_sub(1);
    }
  }

  int threads_;
  std::vector<std::thread> workers_;
  std::atomic<unsigned> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  const std::function<void(int)>* fn_ = nullptr;
};

}  // namespace nabla::bench
