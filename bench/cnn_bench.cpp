// Issue 16's LeNet-5 figure: one training step (bench/lenet.h: 28x28 images,
// batch 64, two 5x5 convolutions with relu and 2x2 max-pooling, three dense
// layers, mean softmax cross-entropy, SGD) compiled by nabla (build-grad, the
// default pipeline, fast-math) against a hand-written step on oneDNN's
// primitives (bench/lenet_onednn.cpp) and against PyTorch 1.13
// (bench/lenet_torch.py: eager and TorchScript, each with Debian's default
// BLAS and with OpenBLAS; the fastest counts). nabla and oneDNN run in
// alternating blocks with idle gaps, PyTorch's process after each pair of
// blocks; medians of all runs. nabla's updated parameters are compared with
// oneDNN's once.
//   cnn_bench [--threads 1,2] [--quick] [--no-torch] [--write-nabla FILE]
// (--write-nabla: also write the step as text, to run with nabla-run or nablac.)
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "bench/fma_peak.h"
#include "bench/lenet.h"
#include "nabla/compiler/compile.h"
#include "nabla/ir/printer.h"

namespace nabla::bench {
namespace {

// Uniform pixels in [0, 1), uniform labels, He-initialized parameters.
struct Batch {
  LenetParams params;
  std::vector<float> x;
  std::vector<int32_t> labels;
  Batch(const LenetDims& d, unsigned seed) : params(d), x(d.batch * d.side * d.side), labels(d.batch) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> pixel(0.f, 1.f);
    std::uniform_int_distribution<int32_t> label(0, static_cast<int32_t>(d.classes) - 1);
    std::generate(x.begin(), x.end(), [&] { return pixel(rng); });
    std::generate(labels.begin(), labels.end(), [&] { return label(rng); });
    params.init(rng, d);
  }
};

struct NablaStep {
  Executable exe;
  std::vector<Tensor> inputs, outputs;
  NablaStep(const LenetDims& d, int threads, Batch& in, LenetParams& out, float& loss) {
    Module m;
    build_lenet_step(m, d);
    CompileOptions o;
    o.pipeline = "build-grad,default";
    o.fast_math = true;
    o.num_threads = threads;
    exe = compile(m, "lenet_step", o);
    inputs = {Tensor::view(in.x.data(), DType::f32, {d.batch, 1, d.side, d.side}),
              Tensor::view(in.labels.data(), DType::i32, {d.batch})};
    outputs = {Tensor::view(&loss, DType::f32, {})};
    const auto& types = exe.output_types();
    for (size_t i = 0; i < in.params.t.size(); ++i) {
      inputs.push_back(Tensor::view(in.params.t[i].data(), DType::f32, types[i + 1].shape));
      outputs.push_back(Tensor::view(out.t[i].data(), DType::f32, types[i + 1].shape));
    }
  }
  void run() { exe.run(inputs, outputs); }
};

// Multiply-adds of the step's products: each layer's forward and weight
// gradient, and the input gradient of every layer but the first.
double step_flops(const LenetDims& d) {
  double conv1 = double(d.batch) * d.c1 * d.s1() * d.s1() * d.k * d.k;
  double conv2 = double(d.batch) * d.c2 * d.s2() * d.s2() * d.c1 * d.k * d.k;
  double dense = double(d.batch) * (d.flat() * d.f1 + d.f1 * d.f2 + d.f2 * d.classes);
  return 2 * (3 * (conv1 + conv2 + dense) - conv1);
}

// PyTorch's medians (ms) per way and BLAS, from one process per BLAS.
void torch_round(int threads, int reps, std::vector<std::pair<std::string, std::vector<double>>>& ways) {
  const auto envs = torch_blas_envs(threads);
  for (size_t e = 0; e < envs.size(); ++e) {
    std::string cmd = envs[e] + "/usr/bin/python3 " NABLA_SOURCE_DIR "/bench/lenet_torch.py --threads " +
                      std::to_string(threads) + " --reps " + std::to_string(reps) + " --blocks 2";
    for (const auto& [name, ms] : run_results(cmd)) {
      std::string key = name + (e ? "+openblas" : "");
      auto it = std::find_if(ways.begin(), ways.end(), [&](auto& w) { return w.first == key; });
      if (it == ways.end()) it = ways.insert(ways.end(), {key, {}});
      it->second.push_back(ms);
    }
  }
}

void bench_threads(int threads, bool quick, bool torch) {
  omp_set_num_threads(threads);
  LenetDims d;
  Batch in(d, 7);
  LenetParams out(d), nout(d);
  OneDnnLenetStep step(d);
  float loss = step.run(in.x.data(), in.labels.data(), in.params, out), nloss = 0;
  NablaStep nstep(d, threads, in, nout, nloss);
  nstep.run();
  double diff = max_param_diff(nout, out);
  bool same = std::abs(nloss - loss) <= 1e-5 * (1 + std::abs(loss)) && diff <= 1e-5;
  std::printf("\n%d thread(s): loss nabla %.7f, oneDNN %.7f; updated parameters differ by %.1e: %s\n", threads,
              nloss, loss, diff, same ? "ok" : "DIFFER");
  std::vector<double> td, tn;
  std::vector<std::pair<std::string, std::vector<double>>> tt;
  const int rounds = quick ? 2 : 4, reps = quick ? 40 : 100;
  for (int r = 0; r < rounds; ++r) {
    for (int half = 0; half < 2; ++half) {
      for (int i = 0; i < reps / 2; ++i) tn.push_back(time_ms([&] { nstep.run(); }));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      for (int i = 0; i < reps / 2; ++i)
        td.push_back(time_ms([&] { step.run(in.x.data(), in.labels.data(), in.params, out); }));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (torch) torch_round(threads, reps, tt);
  }
  double nm = median(tn), dm = median(td), best = 0;
  std::string best_way;
  std::printf("%d thread(s), medians of %zu runs: nabla %.3f ms (%.1f GFLOP/s, compile %.0f ms, %d kernels), "
              "oneDNN %.3f ms: nabla/oneDNN %.2fx\n", threads, tn.size(), nm, step_flops(d) / nm / 1e6,
              nstep.exe.stats().total_ms, nstep.exe.stats().num_kernels, dm, nm / dm);
  for (const auto& [way, ms] : tt) {
    double m = median(ms);
    std::printf("  PyTorch %-22s %.3f ms (rounds:", way.c_str(), m);
    for (double v : ms) std::printf(" %.3f", v);
    std::printf(")\n");
    if (best == 0 || m < best) best = m, best_way = way;
  }
  if (best > 0) std::printf("  nabla / PyTorch's fastest (%s): %.2fx\n", best_way.c_str(), nm / best);
  std::printf("RESULT threads=%d nabla_ms=%.3f onednn_ms=%.3f torch_ms=%.3f\n", threads, nm, dm, best);
  std::fflush(stdout);
}

int run(int argc, char** argv) {
  BenchArgs args;
  bool torch = true;
  auto extra = [&](char** argv, int& i) {
    if (!std::strcmp(argv[i], "--no-torch")) return !(torch = false);
    if (std::strcmp(argv[i], "--write-nabla") || !argv[i + 1]) return false;
    Module m;
    build_lenet_step(m, LenetDims{});
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(argv[++i], "w"), std::fclose);
    return f && std::fputs(print(m).c_str(), f.get()) >= 0;
  };
  if (!parse_bench_args(argc, argv, "cnn_bench [--threads 1,2] [--quick] [--no-torch] [--write-nabla FILE]", args,
                        extra))
    return 1;
  LenetDims d;
  std::printf("LeNet-5 training step, 28x28, batch %lld, fp32; %.1f MFLOP of products per step\n",
              static_cast<long long>(d.batch), step_flops(d) / 1e6);
  std::printf("FMA limit of one core: %.1f GFLOP/s\n", fma_peak_gflops());
  for (int threads : args.threads) bench_threads(threads, args.quick, torch);
  return 0;
}

}  // namespace
}  // namespace nabla::bench

int main(int argc, char** argv) { return nabla::bench::run(argc, argv); }
