#pragma once
// Helpers shared by the benchmarks: medians, wall-clock milliseconds, and
// running a baseline script (the FMA limit is in fma_peak.h).
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace nabla::bench {

using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// The wall-clock time of fn() in milliseconds.
template <class F> double time_ms(F&& fn) {
  auto t0 = Clock::now();
  fn();
  return ms_since(t0);
}

// The median (the mean of the two middle values for an even count); 0 if empty.
double median(std::vector<double> v);

// Runs a shell command, echoes its output, and returns the (name, value) of
// every line "RESULT <name> <value>" it printed.
std::vector<std::pair<std::string, double>> run_results(const std::string& cmd);

// Environment prefixes under which to run a PyTorch baseline: "" (Debian's
// default libblas.so.3, the reference BLAS unless an alternative was chosen)
// and, when libopenblas0-pthread is installed, OpenBLAS limited to `threads`.
std::vector<std::string> torch_blas_envs(int threads);

// The options every benchmark takes: --threads 1,2 (the thread counts to
// measure) and --quick (fewer runs).
struct BenchArgs {
  std::vector<int> threads = {1, 2};
  bool quick = false;
};

// Parses argv into `args`; other options go to `extra(argv, i)`, which may
// consume arguments by advancing i and returns false for an unknown one.
// Prints "usage: <usage>" and returns false on a bad command line.
bool parse_bench_args(int argc, char** argv, const char* usage, BenchArgs& args,
                      const std::function<bool(char**, int&)>& extra = {});

}  // namespace nabla::bench
