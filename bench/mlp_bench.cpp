// The MLP training step (784-512-512-10, relu, softmax cross-entropy against
// integer labels, weight decay, SGD update of every parameter): the step
// compiled by nabla against the hand-written oneDNN baseline (checked against
// plain double loops), with the time nabla's generated GEMMs alone take for
// the step's eight products (standalone, without epilogues: "outside" is the
// share of the step spent elsewhere), nabla's compile time and its workspace
// against the peak live set of intermediates. The hand-written step of
// ../shared/baselines/mlp (oneDNN's sgemm, every elementwise pass fused by
// hand; its README) is built with its build.sh and run between the blocks as
// a process of its own; the ratio is nabla's time over the faster of the two
// baselines. Without that directory or oneDNN its column says why it is empty.
//   mlp_bench [--threads 1,2] [--batch 64,256] [--quick] [--no-fuse-matmul] [--exact] [--baseline DIR|none]
// (--no-fuse-matmul: no GEMM epilogues, the fuse-matmul pass off; --exact:
// nabla's step and its products without fast-math, bit-equal to the
// interpreter, the baselines as they are.)
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/fma_peak.h"
#include "bench/mlp_graph.h"
#include "bench/mlp_onednn.h"
#include "nabla/compiler/compile.h"
#include "bench/spin_pool.h"
#include "nabla/compiler/gemm.h"
#include "tests/support/gemm_runner.h"

namespace nabla::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Inputs {
  std::vector<float> x;
  std::vector<int32_t> labels;
  MlpParams params;
  Inputs(const MlpDims& d, unsigned seed) : params(d) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> pixel(0.f, 1.f);
    x.resize(d.batch * d.in);
    for (auto& v : x) v = pixel(rng);
    std::uniform_int_distribution<int32_t> label(0, static_cast<int32_t>(d.classes) - 1);
    labels.resize(d.batch);
    for (auto& v : labels) v = label(rng);
    auto init = [&](std::vector<float>& w, int64_t fan_in) {
      std::normal_distribution<float> n(0.f, std::sqrt(2.f / static_cast<float>(fan_in)));
      for (auto& v : w) v = n(rng);
    };
    init(params.w1, d.in), init(params.w2, d.h1), init(params.w3, d.h2);
    std::uniform_real_distribution<float> small(-0.01f, 0.01f);
    for (auto* b : {&params.b1, &params.b2, &params.b3})
      for (auto& v : *b) v = small(rng);
  }
};

// Largest |a - b| / (1 + |b|) over all parameters.
double max_param_diff(const MlpParams& a, const MlpParams& b) {
  double worst = 0;
  for (int i = 0; i < 6; ++i)
    for (size_t j = 0; j < a.all[i]->size(); ++j) {
      double x = (*a.all[i])[j], y = (*b.all[i])[j];
      worst = std::max(worst, std::abs(x - y) / (1 + std::abs(y)));
    }
  return worst;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// --exact: nabla compiled without fast-math (exact GEMMs, sequential sums).
bool g_exact = false;

// The eight matrix products of one step: forward, weight gradients (A^T G)
// and input gradients (G W^T; none for the input layer).
std::vector<GemmSpec> step_products(const MlpDims& d, int threads) {
  auto mk = [&](int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
    GemmSpec s;
    s.M = m, s.N = n, s.K = k, s.trans_a = ta, s.trans_b = tb, s.threads = threads;
    s.exact = g_exact;
    return s;
  };
  const int64_t b = d.batch;
  return {mk(b, d.h1, d.in, false, false),      mk(b, d.h2, d.h1, false, false),
          mk(b, d.classes, d.h2, false, false), mk(d.h2, d.classes, b, true, false),
          mk(b, d.h2, d.classes, false, true),  mk(d.h1, d.h2, b, true, false),
          mk(b, d.h1, d.h2, false, true),       mk(d.in, d.h1, b, true, false)};
}

// Median time of running the step's products back to back with nabla's GEMMs:
// the GEMM part of a compiled step.
double nabla_products_ms(testing::TestJit& jit, const MlpDims& d, int threads, int reps) {
  auto gemms = testing::compile_gemms(jit, step_products(d, threads));
  struct Buffers {
    std::vector<float> a, b, c;
    std::vector<testing::AlignedBuffer> scratch;
  };
  std::vector<Buffers> bufs(gemms.size());
  for (size_t i = 0; i < gemms.size(); ++i) {
    const GemmSpec& s = gemms[i].spec;
    bufs[i].a.assign(s.M * s.K, 0.5f), bufs[i].b.assign(s.K * s.N, 0.25f);
    bufs[i].c.assign(s.M * s.N, 0.f);
    for (int t = 0; t < threads; ++t)
      bufs[i].scratch.emplace_back(static_cast<size_t>(gemms[i].plan.scratch_bytes));
  }
  SpinPool pool(threads);
  std::vector<double> times;
  for (int r = 0; r < reps + 3; ++r) {
    auto t0 = Clock::now();
    for (size_t i = 0; i < gemms.size(); ++i) {
      const auto& g = gemms[i];
      Buffers& bf = bufs[i];
      const int64_t n = g.plan.num_tasks;
      pool.run([&](int t) {
        g.fn(bf.a.data(), bf.b.data(), bf.c.data(), nullptr, nullptr, bf.scratch[t].data(),
             n * t / threads, n * (t + 1) / threads);
      });
    }
    if (r >= 3) times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return median(times);
}

// The hand-written step of ../shared/baselines/mlp, built by its build.sh
// into the build directory and run as a process: `mlp_dnnl BATCH THREADS N`
// prints the median of N samples, each the mean of enough steps for 0.1 s.
class HandWritten {
 public:
  // Builds it; on failure available() is false and note() says why.
  explicit HandWritten(const std::string& dir) {
    if (dir == "none") {
      note_ = "hand-written step not run (--baseline none)";
      return;
    }
    std::string script = dir + "/build.sh";
    if (!std::ifstream(script)) {
      note_ = "hand-written step not run: no " + script;
      return;
    }
    out_ = NABLA_BENCH_BINARY_DIR "/handwritten_mlp";
    std::string log = out_ + ".log";
    std::string cmd = "sh '" + script + "' '" + out_ + "' > '" + log + "' 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      note_ = "hand-written step not run: its build.sh failed (oneDNN missing? see " + log + ")";
      return;
    }
    available_ = true;
  }
  bool available() const { return available_; }
  const std::string& note() const { return note_; }

  // Its median ms per step, or a negative value when it failed.
  double run_ms(int64_t batch, int threads, int samples) const {
    std::string cmd = "cd '" + out_ + "' && ./mlp_dnnl " + std::to_string(batch) + " " +
                      std::to_string(threads) + " " + std::to_string(samples) + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return -1;
    double ms = -1;
    char line[512];
    while (std::fgets(line, sizeof line, p))
      if (const char* m = std::strstr(line, "median ")) std::sscanf(m, "median %lf", &ms);
    return pclose(p) == 0 ? ms : -1;
  }

 private:
  bool available_ = false;
  std::string out_, note_;
};

// --no-siblings: the fuse pass without sibling fusion (for comparison).
bool g_siblings = true;

// The step compiled by nabla: build-grad, the default pipeline, fast-math
// (as the baseline: fused multiply-adds, reassociated sums).
struct NablaStep {
  Executable exe;
  std::vector<Tensor> inputs, outputs;
  NablaStep(const MlpDims& d, int threads, bool fuse_matmul, Inputs& in, MlpParams& out, float& loss) {
    Module m;
    build_mlp_step(m, d);
    CompileOptions o;
    o.pipeline = g_siblings ? "build-grad,default" : "build-grad,default,fuse{siblings=false}";
    o.fuse = g_siblings;
    o.fast_math = !g_exact;
    o.num_threads = threads;
    o.fuse_matmul = fuse_matmul;
    exe = compile(m, "mlp_step", o);
    MlpParams& p = in.params;
    inputs = {Tensor::view(in.x.data(), DType::f32, {d.batch, d.in}),
              Tensor::view(in.labels.data(), DType::i32, {d.batch})};
    const Shape shapes[6] = {{d.in, d.h1}, {d.h1}, {d.h1, d.h2}, {d.h2}, {d.h2, d.classes}, {d.classes}};
    for (int i = 0; i < 6; ++i) inputs.push_back(Tensor::view(p.all[i]->data(), DType::f32, shapes[i]));
    outputs = {Tensor::view(&loss, DType::f32, {})};
    for (int i = 0; i < 6; ++i) outputs.push_back(Tensor::view(out.all[i]->data(), DType::f32, shapes[i]));
  }
  void run() { exe.run(inputs, outputs); }
};

struct Options {
  std::vector<int> thread_counts = {1, 2};
  std::vector<int64_t> batches = {64, 256};
  bool quick = false, fuse_matmul = true;
  std::string baseline = NABLA_SOURCE_DIR "/../shared/baselines/mlp";
};

// One row: batch, threads. Blocks of runs of the oneDNN step, nabla's step and
// the hand-written one (a process), alternating, with idle gaps (OpenMP's and
// the pools' workers spin); medians of all runs (of the hand-written one: of
// its per-block medians).
void measure_row(const Options& o, const HandWritten& hand, testing::TestJit& jit, int threads,
                 int64_t batch) {
  omp_set_num_threads(threads);
  MlpDims d;
  d.batch = batch;
  Inputs in(d, 7);
  MlpParams out(d), ref(d);
  OneDnnMlpStep step(d);
  float loss = step.run(in.x.data(), in.labels.data(), in.params, out);
  float ref_loss = mlp_step_reference(d, in.x.data(), in.labels.data(), in.params, ref);
  double diff = max_param_diff(out, ref);
  bool ok = std::abs(loss - ref_loss) <= 1e-4 * std::abs(ref_loss) && diff <= 1e-5;
  float nloss = 0;
  MlpParams nout(d);
  NablaStep nstep(d, threads, o.fuse_matmul, in, nout, nloss);
  nstep.run();
  double ndiff = max_param_diff(nout, out);
  bool nok = std::abs(nloss - loss) <= 1e-4 * std::abs(loss) && ndiff <= 1e-5;
  std::vector<double> td, tn, th;
  int reps = o.quick ? 30 : 200, blocks = o.quick ? 3 : 5;
  auto timed = [](auto&& fn) {
    auto t0 = Clock::now();
    fn();
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  };
  auto gap = [] { std::this_thread::sleep_for(std::chrono::milliseconds(10)); };
  for (int blk = 0; blk < blocks; ++blk) {
    for (int r = 0; r < reps / blocks; ++r)
      td.push_back(timed([&] { step.run(in.x.data(), in.labels.data(), in.params, out); }));
    gap();
    for (int r = 0; r < reps / blocks; ++r) tn.push_back(timed([&] { nstep.run(); }));
    gap();
    if (hand.available()) th.push_back(hand.run_ms(batch, threads, 3));
  }
  double products = nabla_products_ms(jit, d, threads, reps);
  double dm = median(td), nm = median(tn), hm = th.empty() ? -1 : median(th);
  bool hand_ok = !th.empty() && *std::min_element(th.begin(), th.end()) > 0;
  double best = hand_ok ? std::min(dm, hm) : dm;
  const Executable& e = nstep.exe;
  char hand_ms[32] = "-";
  if (hand_ok) std::snprintf(hand_ms, sizeof hand_ms, "%.3f", hm);
  else if (!th.empty()) std::snprintf(hand_ms, sizeof hand_ms, "failed");
  std::printf("%5ld %3d | %9.3f | %9s | %9.3f %5.2fx | %11.3f %7.1f%% | %10.0f | %8.2fx | %s; %s (loss %.6f, params %.1e)\n",
              long(batch), threads, dm, hand_ms, nm, nm / best, products, 100 * (nm - products) / nm,
              e.stats().total_ms,
              static_cast<double>(e.workspace_bytes()) / static_cast<double>(e.peak_live_bytes()),
              ok ? "ok" : "DIFFER", nok ? "ok" : "DIFFER", nloss, ndiff);
  std::fflush(stdout);
}

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) {
      o.quick = true;
    } else if (!std::strcmp(argv[i], "--no-siblings")) {
      g_siblings = false;
    } else if (!std::strcmp(argv[i], "--exact")) {
      g_exact = true;
    } else if (!std::strcmp(argv[i], "--no-fuse-matmul")) {
      o.fuse_matmul = false;
    } else if (!std::strcmp(argv[i], "--baseline") && i + 1 < argc) {
      o.baseline = argv[++i];
    } else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
      o.thread_counts.clear();
      for (char* p = std::strtok(argv[++i], ","); p; p = std::strtok(nullptr, ","))
        o.thread_counts.push_back(std::atoi(p));
    } else if (!std::strcmp(argv[i], "--batch") && i + 1 < argc) {
      o.batches.clear();
      for (char* p = std::strtok(argv[++i], ","); p; p = std::strtok(nullptr, ","))
        o.batches.push_back(std::atol(p));
      if (std::find_if(o.batches.begin(), o.batches.end(), [](int64_t b) { return b <= 0; }) !=
          o.batches.end()) {
        std::fprintf(stderr, "mlp_bench: --batch takes positive sizes, got %s\n", argv[i]);
        return false;
      }
    } else {
      std::fprintf(stderr, "usage: mlp_bench [--threads 1,2] [--batch 64,256] [--quick] [--no-siblings] [--no-fuse-matmul] "
                           "[--exact] [--baseline DIR|none]\n");
      return false;
    }
  }
  return true;
}

int run(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) return 1;
  HandWritten hand(o.baseline);
  std::printf("MLP training step 784-512-512-10 (relu, softmax CE, weight decay, SGD), fp32, nabla %s\n",
              g_exact ? "exact (no fast-math)" : "with fast-math");
  if (!hand.available()) std::printf("note: %s\n", hand.note().c_str());
  const double peak = fma_peak_gflops();
  for (int64_t b : o.batches) {  // the products: forward, weight gradients, two input gradients
    double flops = 4.0 * b * (784 * 512 + 512 * 512 + 512 * 10) + 2.0 * b * (512 * 10 + 512 * 512);
    std::printf("FMA limit of one core %.1f GFLOP/s: batch %ld's products (%.3f GFLOP) take at least %.3f ms "
                "on 1 thread\n", peak, long(b), flops / 1e9, flops / peak / 1e6);
  }
  std::printf("%5s %3s | %9s | %9s | %9s %6s | %11s %8s | %10s | %9s | %s\n", "batch", "thr",
              "oneDNN ms", "hand ms", "nabla ms", "ratio", "its GEMMs", "outside", "compile ms",
              "ws/peak", "checks (baseline vs double loops; nabla vs baseline)");
  std::printf("(ratio: nabla over the faster of the oneDNN step and the hand-written one)\n");
  testing::TestJit jit;
  for (int threads : o.thread_counts)
    for (int64_t batch : o.batches) measure_row(o, hand, jit, threads, batch);
  return 0;
}

}  // namespace
}  // namespace nabla::bench

int main(int argc, char** argv) { return nabla::bench::run(argc, argv); }
