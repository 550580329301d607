// Loops (issue 15's figures): an LSTM language model (2 layers, hidden 128,
// one-hot characters, cross-entropy, the gradient of every weight) as one
// scan, against the same network unrolled and compiled by nabla, and against
// PyTorch (bench/lstm_torch.py: torch.nn.LSTM and the cell in a Python loop);
// RK4 on a linear ODE as a scan, gradient against forward; the JIT compile
// time and the nablac object size for two sequence lengths. 1 thread.
//   lstm_bench [--quick] [--length N] [--no-torch] [--write-nabla DIR] [--only compile|run|scan|rk4|object]
// (--only scan: the scan rows of `run`, without the unrolled network and PyTorch.)
// (--write-nabla: also write the two LSTM modules as DIR/lstm_N.nabla and RK4
// with its gradients as DIR/rk4_y0.nabla, DIR/rk4.nabla, DIR/rk4_carries.nabla, DIR/rk4_sqrt.nabla and
// DIR/rk4_levels2.nabla, to compile with nablac.)
#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "bench/fma_peak.h"
#include "bench/lstm_model.h"
#include "nabla/compiler/aot.h"
#include "nabla/compiler/compile.h"
#include "nabla/ir/loop.h"
#include "nabla/ir/printer.h"

namespace nabla::bench {
namespace {

struct Timed {
  double median_ms;
  std::vector<double> runs;
  std::vector<Tensor> out;  // the results of the last run
};

// Median of `reps` runs of exe on `in` (after one warm-up run).
Timed time_runs(Executable& exe, const std::vector<Tensor>& in, int reps) {
  std::vector<Tensor> out;
  for (const TensorType& t : exe.output_types()) out.emplace_back(t.dtype, t.shape);
  exe.run(in, out);
  Timed r;
  for (int i = 0; i < reps; ++i) {
    auto t0 = Clock::now();
    exe.run(in, out);
    r.runs.push_back(ms_since(t0));
  }
  r.median_ms = median(r.runs);
  r.out = std::move(out);
  return r;
}

CompileOptions one_thread() {
  CompileOptions o;
  o.num_threads = 1;
  return o;
}

struct Compiled {
  Executable exe;
  double build_ms = 0;  // building the graph and its gradient (nabla::grad)
  double compile_ms = 0;
  size_t nodes = 0;  // of the function given to compile()
};

Compiled compile_lstm(const LstmSpec& s, bool unrolled, bool with_grad) {
  Compiled c;
  auto t0 = Clock::now();
  Module m;
  build_lstm_lm(m.function("lstm"), s, unrolled, with_grad);
  c.build_ms = ms_since(t0);
  c.nodes = m.find("lstm")->size();
  t0 = Clock::now();
  c.exe = compile(m, "lstm", one_thread());
  c.compile_ms = ms_since(t0);
  return c;
}

// Forward + gradient flops of one character, counting the products only
// (2 flops a multiply-add; the backward pass does two products per forward one).
double lstm_flops_per_char(const LstmSpec& s) {
  double h4 = 4.0 * s.hidden, fwd = 0;
  for (int64_t l = 0; l < s.layers; ++l) fwd += 2 * h4 * ((l == 0 ? s.vocab : s.hidden) + s.hidden);
  fwd += 2.0 * s.hidden * s.vocab;
  return 3 * fwd * s.batch;
}

// The two lengths are compiled alternately, so that a slow phase of the
// machine falls on both.
void compile_times(const LstmSpec& base, int reps) {
  std::printf("\nJIT compile of the scan LSTM with its gradient (median of %d, the lengths alternating; graph = "
              "building it and nabla::grad)\n", reps);
  std::printf("%8s | %8s %10s | %10s %8s %9s %9s %9s | %7s\n", "chars", "nodes", "graph ms", "compile ms", "passes",
              "lowering", "optimize", "codegen", "kernels");
  const int64_t lengths[] = {1024, 8192};
  std::vector<double> ms[2][6];  // per length: graph, total, passes, lowering, optimize, codegen
  size_t nodes[2];
  int kernels[2];
  for (int i = 0; i < reps; ++i)
    for (int k = 0; k < 2; ++k) {
      LstmSpec s = base;
      s.length = lengths[k];
      Compiled c = compile_lstm(s, false, true);
      const CompileStats& st = c.exe.stats();
      double v[6] = {c.build_ms, c.compile_ms, st.passes_ms, st.lowering_ms, st.optimize_ms, st.codegen_ms};
      for (int j = 0; j < 6; ++j) ms[k][j].push_back(v[j]);
      nodes[k] = c.nodes;
      kernels[k] = st.num_kernels;
    }
  for (int k = 0; k < 2; ++k)
    std::printf("%8lld | %8zu %10.1f | %10.1f %8.1f %9.1f %9.1f %9.1f | %7d\n", static_cast<long long>(lengths[k]),
                nodes[k], median(ms[k][0]), median(ms[k][1]), median(ms[k][2]), median(ms[k][3]), median(ms[k][4]),
                median(ms[k][5]), kernels[k]);
  std::printf("8192 / 1024 chars: %.2fx\n", median(ms[1][1]) / median(ms[0][1]));
  std::fflush(stdout);
}

// Forward + gradient per character: scan at `length` and 256, unrolled at 256.
double run_times(const LstmSpec& base, int reps, bool with_unrolled) {
  std::printf("\nForward + gradient of all weights, 1 thread (median of %d runs; us/char = time / chars)\n", reps);
  std::printf("%-10s %6s | %9s %9s %8s %8s | %10s %8s %8s\n", "nabla", "chars", "ms", "us/char", "GFLOP/s", "range",
              "compile ms", "nodes", "kernels");
  double scan_us = 0, unrolled_us = 0;
  std::vector<Tensor> at256[2];
  for (auto [unrolled, n] : {std::pair{false, base.length}, {false, int64_t{256}}, {true, int64_t{256}}}) {
    if (unrolled && !with_unrolled) return scan_us;
    LstmSpec s = base;
    s.length = n;
    Compiled c = compile_lstm(s, unrolled, true);
    Timed t = time_runs(c.exe, lstm_inputs(s, 7), reps);
    double us = 1000 * t.median_ms / static_cast<double>(n);
    double lo = *std::min_element(t.runs.begin(), t.runs.end()), hi = *std::max_element(t.runs.begin(), t.runs.end());
    std::printf("%-10s %6lld | %9.2f %9.2f %8.2f %3.0f-%3.0f%% | %10.0f %8zu %8d\n",
                unrolled ? "unrolled" : "scan", static_cast<long long>(n), t.median_ms, us,
                lstm_flops_per_char(s) / us / 1e3, 100 * lo / t.median_ms, 100 * hi / t.median_ms, c.compile_ms,
                c.nodes, c.exe.stats().num_kernels);
    const CompileStats& st = c.exe.stats();
    std::printf("%17s compile: passes %.0f, lowering %.0f, optimize %.0f, codegen %.0f ms\n", "", st.passes_ms,
                st.lowering_ms, st.optimize_ms, st.codegen_ms);
    std::fflush(stdout);
    if (n == 256) at256[unrolled] = t.out;
    if (unrolled) unrolled_us = us;
    else if (n == base.length) scan_us = us;
  }
  double diff = 0;  // the largest difference of loss and gradients, relative to each result's largest value
  for (size_t i = 0; i < at256[0].size(); ++i) {
    double d = 0, scale = 0;
    for (int64_t k = 0; k < at256[0][i].numel(); ++k) {
      double a = at256[0][i].data_as<float>()[k], b = at256[1][i].data_as<float>()[k];
      d = std::max(d, std::abs(a - b));
      scale = std::max(scale, std::abs(b));
    }
    diff = std::max(diff, d / scale);
  }
  std::printf("scan vs unrolled at 256 chars: loss and gradients agree to %.1e (relative to each one's largest)\n",
              diff);
  std::printf("scan (%lld chars) / unrolled (256 chars), per char: %.2fx\n", static_cast<long long>(base.length),
              scan_us / unrolled_us);
  return scan_us;
}

// Runs bench/lstm_torch.py with `env` before the command (a BLAS) and adds
// its per-character times (us) of nn.LSTM and of the cell loop to `us`.
void torch_times(const LstmSpec& s, int reps, const std::string& env, std::vector<double>& us) {
  std::string cmd = env + "/usr/bin/python3 " NABLA_SOURCE_DIR "/bench/lstm_torch.py --length " +
                    std::to_string(s.length) + " --vocab " + std::to_string(s.vocab) + " --hidden " +
                    std::to_string(s.hidden) + " --layers " + std::to_string(s.layers) + " --batch " +
                    std::to_string(s.batch) + " --reps " + std::to_string(reps);
  std::printf("\n");
  for (const auto& [name, v] : run_results(cmd)) us.push_back(v);
}

// PyTorch with each BLAS of torch_blas_envs; the fastest per-character time.
double torch_best(const LstmSpec& s, int reps) {
  std::vector<double> us;
  for (const std::string& env : torch_blas_envs(1)) torch_times(s, reps, env, us);
  return us.empty() ? 0 : *std::min_element(us.begin(), us.end());
}

struct Rk4Row {
  const char* what;
  Rk4Grad grads;
  int64_t checkpoint;
  const char* file;  // with --write-nabla
};

// Writes m as text to `path`; a directory missing or not writable ends the
// bench with exit code 1 (rather than a "wrote" for a file that is not there).
void write_module(const std::string& path, const Module& m) {
  std::ofstream out(path);
  out << print(m);
  if (!out.flush()) {
    std::fprintf(stderr, "lstm_bench: cannot write %s (does the --write-nabla directory exist?)\n", path.c_str());
    std::exit(1);
  }
  std::printf("wrote %s\n", path.c_str());
}

// With `dir`, also writes the modules with gradients as DIR/rk4_y0.nabla,
// DIR/rk4.nabla, DIR/rk4_carries.nabla, DIR/rk4_sqrt.nabla and
// DIR/rk4_levels2.nabla. The sqrt line splits that workspace: the stored
// states are q + k = 2 sqrt(N) carries of dim f32, then a block's stage
// inputs, Aᵀ, and the rest.
void rk4(int reps, const std::string& dir) {
  constexpr int64_t dim = 100, steps = 10000;
  std::printf("\nRK4, %lld steps of dt = 1e-3, y' = y A with A f32[%lld,%lld], as a scan, 1 thread (median of %d)\n",
              static_cast<long long>(steps), static_cast<long long>(dim), static_cast<long long>(dim), reps);
  const Rk4Row rows[] = {
      {"forward z", Rk4Grad::none, 0, nullptr},
      {"z and dz/dy0", Rk4Grad::y0, 0, "/rk4_y0.nabla"},
      {"z and dz/dA, dz/dy0", Rk4Grad::all, 0, "/rk4.nabla"},
      {"same, carries only (checkpoint = 1)", Rk4Grad::all, 1, "/rk4_carries.nabla"},
      {"same, sqrt checkpointing", Rk4Grad::all, kSqrtCheckpoint, "/rk4_sqrt.nabla"},
      {"z and dz/dy0, sqrt checkpointing", Rk4Grad::y0, kSqrtCheckpoint, nullptr},
      {"same as 3, 2 levels (cube root)", Rk4Grad::all, nested_checkpoint(2), "/rk4_levels2.nabla"},
      {"same as 3, 3 levels", Rk4Grad::all, nested_checkpoint(3), nullptr},
  };
  constexpr int kRows = static_cast<int>(std::size(rows));
  double ms[kRows], ws[kRows];
  for (int k = 0; k < kRows; ++k) {
    Module m;
    build_rk4(m.function("rk4"), dim, steps, 1e-3, rows[k].grads, rows[k].checkpoint);
    if (rows[k].file && !dir.empty()) write_module(dir + rows[k].file, m);
    auto t0 = Clock::now();
    Executable exe = compile(m, "rk4", one_thread());
    double cms = ms_since(t0);
    Timed t = time_runs(exe, rk4_inputs(dim, 3), reps);
    ms[k] = t.median_ms;
    ws[k] = static_cast<double>(exe.workspace_bytes());
    std::printf("%d %-34s %9.2f ms  (compile %.0f ms, workspace %.0f bytes)\n", k, rows[k].what, t.median_ms, cms,
                ws[k]);
  }
  // Storing every step (the aim's measure) is the default (row 2), which
  // also stores the stage inputs its products compute; row 3 the carries only.
  for (int k : {4, 6, 7})
    std::printf("%s: time %.2fx storing every step (%.2fx forward), workspace %.2f%% of storing every step "
                "(%.2f%% of storing every step's carries only)\n",
                rows[k].what, ms[k] / ms[2], ms[k] / ms[0], 100 * ws[k] / ws[2], 100 * ws[k] / ws[3]);
  // sqrt: q = 100 states at the outer level, a block of k = 100 steps stored
  // as the default stores them (its state and 3 stage inputs a step), Aᵀ.
  double states = 2 * 100 * dim * 4.0, stages = 100 * 3 * dim * 4.0, at = dim * dim * 4.0;
  double rest = ws[4] - states - stages - at;
  std::printf("  sqrt, in %% of the default: stored states %.0f bytes (%.2f%%), a block's stage inputs %.0f (%.2f%%), "
              "Aᵀ hoisted by loop-opt %.0f (%.2f%%), the rest %.0f (%.2f%%)\n",
              states, 100 * states / ws[2], stages, 100 * stages / ws[2], at, 100 * at / ws[2], rest,
              100 * rest / ws[2]);
  std::printf("carries only / default: time %.2fx, workspace %.2fx\n", ms[3] / ms[2], ws[3] / ws[2]);
  std::printf("gradient in y0 only / forward: %.2fx\n", ms[1] / ms[0]);
  std::printf("gradient / forward: %.2fx (carries only: %.2fx)\n", ms[2] / ms[0], ms[3] / ms[0]);
}

// With `dir`, also writes each module as DIR/lstm_N.nabla (for nablac).
void object_sizes(const LstmSpec& base, const std::string& dir) {
  std::printf("\nObject code of the scan LSTM with its gradient (compile_ahead_of_time, nablac's engine, host target)\n");
  for (int64_t n : {int64_t{1024}, int64_t{8192}}) {
    LstmSpec s = base;
    s.length = n;
    Module m;
    build_lstm_lm(m.function("lstm"), s, false, true);
    if (!dir.empty()) {
      std::string path = dir + "/lstm_" + std::to_string(n) + ".nabla";
      write_module(path, m);
    }
    auto t0 = Clock::now();
    AotModule aot = compile_ahead_of_time(m, AotOptions{});
    size_t bytes = aot.object_bytes().size();
    std::printf("%6lld chars: %zu bytes of object (%.0f ms), workspace %lld bytes\n", static_cast<long long>(n), bytes,
                ms_since(t0), static_cast<long long>(aot.functions()[0].workspace_bytes));
  }
}

int run(int argc, char** argv) {
  bool quick = false, torch = true;
  std::string nabla_dir, only;
  LstmSpec s;
  s.length = 4096;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) quick = true;
    else if (!std::strcmp(argv[i], "--no-torch")) torch = false;
    else if (!std::strcmp(argv[i], "--length") && i + 1 < argc) s.length = std::atoll(argv[++i]);
    else if (!std::strcmp(argv[i], "--write-nabla") && i + 1 < argc) nabla_dir = argv[++i];
    else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
    else {
      std::fprintf(stderr, "usage: lstm_bench [--quick] [--length N] [--no-torch] [--write-nabla DIR]\n"
                           "                  [--only compile|run|scan|rk4|object]\n");
      return 1;
    }
  }
  int reps = quick ? 3 : 7;
  std::printf("LSTM language model: %lld layers, hidden %lld, %lld one-hot letters, batch %lld\n",
              static_cast<long long>(s.layers), static_cast<long long>(s.hidden), static_cast<long long>(s.vocab),
              static_cast<long long>(s.batch));
  std::printf("FMA limit of one core: %.1f GFLOP/s\n", fma_peak_gflops());
  auto part = [&](const char* name) { return only.empty() || only == name; };
  if (part("compile")) compile_times(s, quick ? 3 : 9);
  if (only == "scan") run_times(s, reps, false);
  if (part("run")) {
    double scan_us = run_times(s, reps, true);
    double best = torch ? torch_best(s, reps) : 0;
    if (best > 0)
      std::printf("nabla scan / PyTorch's fastest way, per char: %.2f us / %.2f us = %.2fx\n", scan_us, best,
                  scan_us / best);
  }
  if (part("rk4")) rk4(reps, nabla_dir);
  if (part("object")) object_sizes(s, nabla_dir);
  return 0;
}

}  // namespace
}  // namespace nabla::bench

int main(int argc, char** argv) { return nabla::bench::run(argc, argv); }
