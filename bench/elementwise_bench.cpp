// A 30-op elementwise function and its gradient over 16M floats, against the
// memory-traffic bound: the bytes the function must read and write divided
// by the copy bandwidth measured in the same run. Also the 45-op function
// this bench measured before it counted ops one by one (docs/performance.md).
//   elementwise_bench [--ops 30,45] [--threads 1,2] [--quick]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "nabla/compiler/compile.h"
#include "nabla/ir/builder.h"

namespace nabla::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kN = int64_t{1} << 24;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// y = f(x) with `ops` cheap elementwise ops, counted one by one (relu(v - 1)
// is two), and dx = d sum(y) / dx. The ops cycle through mul, add, sub, relu,
// minimum, sub, abs, mul by x and maximum (constants from 0.5 up in steps of
// 0.01 per step of six); its first 45 ops are the bench's function until
// 36329e0.
Module build(int64_t n, int ops) {
  Module m;
  Function& f = m.function("f");
  Value x = f.input("x", f32({n}));
  Value v = x;
  int left = ops;
  auto op = [&](auto&& fn) {
    if (left == 0) return;
    v = fn(v);
    --left;
  };
  for (int i = 0; left > 0; ++i) {
    double c = 0.5 + 0.01 * i;
    switch (i % 6) {
      case 0: op([&](Value a) { return a * c; }); break;
      case 1: op([&](Value a) { return a + c; }); break;
      case 2:
        op([](Value a) { return a - 1.0; });
        op([](Value a) { return relu(a); });
        break;
      case 3: op([&](Value a) { return minimum(a, 4.0 + c); }); break;
      case 4:
        op([&](Value a) { return a - c; });
        op([](Value a) { return abs(a); });
        break;
      case 5:
        op([&](Value a) { return a * x; });
        op([&](Value a) { return maximum(a, -c); });
        break;
    }
  }
  f.output(v);
  f.output(grad_op(sum(v), x));
  return m;
}

int usage() {
  std::fprintf(stderr, "usage: elementwise_bench [--ops 30,45] [--threads 1,2] [--quick]\n");
  return 1;
}

int run(int argc, char** argv) {
  std::vector<int> thread_counts = {1, 2};
  std::vector<int> op_counts = {30, 45};
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) {
      quick = true;
    } else if ((!std::strcmp(argv[i], "--threads") || !std::strcmp(argv[i], "--ops")) && i + 1 < argc) {
      std::vector<int>& list = !std::strcmp(argv[i], "--threads") ? thread_counts : op_counts;
      list.clear();
      for (char* p = std::strtok(argv[++i], ","); p; p = std::strtok(nullptr, ","))
        if (std::atoi(p) > 0) list.push_back(std::atoi(p));
      if (list.empty()) return usage();
    } else {
      return usage();
    }
  }
  const int reps = quick ? 5 : 15;
  std::vector<float> x(kN), y(kN), dx(kN), copy(kN);
  for (int64_t i = 0; i < kN; ++i) x[i] = static_cast<float>((i % 1000) * 0.004 - 2.0);
  std::printf("elementwise ops and their gradient over %ld floats (reads x, writes y and dx)\n",
              static_cast<long>(kN));
  std::printf("%3s %3s %-8s | %11s %9s | %9s %9s | %s\n", "ops", "thr", "siblings", "copy GB/s", "bound ms",
              "nabla ms", "vs bound", "compiled");
  // Side by side: the fuse pass without and with sibling fusion (one loop
  // computing y and continuing to dx, passes/fuse_siblings.h).
  for (int ops : op_counts)
  for (int threads : thread_counts)
  for (bool siblings : {false, true}) {
    Module m = build(kN, ops);
    CompileOptions o;
    o.pipeline = siblings ? "build-grad,default" : "build-grad,default,fuse{siblings=false}";
    o.fuse = siblings;
    o.num_threads = threads;
    Executable exe = compile(m, "f", o);
    std::vector<Tensor> in{Tensor::view(x.data(), DType::f32, {kN})};
    std::vector<Tensor> out{Tensor::view(y.data(), DType::f32, {kN}),
                            Tensor::view(dx.data(), DType::f32, {kN})};
    // Copy bandwidth: `threads` threads each copying its share, like the kernels.
    auto copy_once = [&] {
      std::vector<std::thread> pool;
      for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
          int64_t b = kN * t / threads, e = kN * (t + 1) / threads;
          std::memcpy(copy.data() + b, x.data() + b, (e - b) * sizeof(float));
        });
      for (auto& th : pool) th.join();
    };
    // The memory bandwidth of this machine drifts by 20-50% over seconds, so
    // each repetition times a copy and a run side by side, each right after
    // an untimed one of its own kind: the traffic one leaves behind
    // (write-backs, or a non-temporal kernel's writes still draining) would
    // slow the other down. The ratio is the median of the repetitions' ratios.
    auto time_ms = [](auto&& fn) {
      fn();
      auto t0 = Clock::now();
      fn();
      return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    };
    std::vector<double> tc, tn, ratio;
    for (int r = 0; r < reps; ++r) {
      tc.push_back(time_ms(copy_once));
      tn.push_back(time_ms([&] { exe.run(in, out); }));
      ratio.push_back(tn.back() / (1.5 * tc.back()));  // bound: read x, write y and dx = 1.5 copies
    }
    double copy_ms = median(tc), gbs = 2.0 * kN * 4 / (copy_ms * 1e6);
    double bound_ms = 1.5 * copy_ms;
    double nabla_ms = median(tn);
    std::printf("%3d %3d %-8s | %11.1f %9.2f | %9.2f %8.2fx | %d kernels, %d fused regions\n", ops, threads,
                siblings ? "on" : "off", gbs,
                bound_ms, nabla_ms, median(ratio), exe.stats().num_kernels,
                exe.stats().num_fused_regions);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace nabla::bench

int main(int argc, char** argv) { return nabla::bench::run(argc, argv); }
