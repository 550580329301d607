// nabla's generated GEMM against oneDNN's matmul, measured side by side:
// for each shape and thread count, blocks of runs of the two alternate and the
// medians of all runs are compared.
//   gemm_bench [--threads 1,2] [--quick] [--exact]   (--exact: GemmSpec::exact, no FMA)
//   gemm_bench --shape M,N,K,ta,tb [--tune mr=14,nr=32,mc=..,nc=..,kc=..,pack_a=1,pack_b=1]
//              [--asm FILE] [--min]   one shape, with tuning overrides (for tuning)
//   --cold MB: both sides cycle through copies of the operands, MB megabytes in
//              all, so that every run finds them in L3, not in L2 (as the
//              products of a training step do)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include "bench/fma_peak.h"
#include "bench/spin_pool.h"
#include "nabla/compiler/gemm.h"
#include "tests/support/gemm_runner.h"

namespace nabla::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Shape {
  const char* what;
  int64_t m, n, k;
  bool ta, tb;
};

const Shape kShapes[] = {
    {"fwd", 64, 512, 784, false, false},     {"fwd", 256, 512, 784, false, false},
    {"fwd", 512, 512, 512, false, false},    {"fwd", 1024, 1024, 1024, false, false},
    {"fwd", 2048, 2048, 2048, false, false},
    {"A^T.G", 784, 512, 64, true, false},    {"A^T.G", 784, 512, 256, true, false},
    {"G.B^T", 64, 784, 512, false, true},    {"G.B^T", 256, 784, 512, false, true},
    {"A^T.G", 512, 512, 64, true, false},    {"G.B^T", 64, 512, 512, false, true},
    {"fwd", 64, 10, 512, false, false},      {"A^T.G", 512, 10, 64, true, false},
    {"G.B^T", 64, 512, 10, false, true},
};

bool use_min = false;  // --min: report the fastest run instead of the median (tuning)

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return use_min ? v.front() : v[v.size() / 2];
}

struct OneDnnMatmul {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  dnnl::matmul prim;
  dnnl::memory a, b, c;

  OneDnnMatmul(const Shape& s, float* pa, float* pb, float* pc) {
    using tag = dnnl::memory::format_tag;
    using dt = dnnl::memory::data_type;
    dnnl::memory::desc ad({s.m, s.k}, dt::f32, s.ta ? tag::ba : tag::ab);
    dnnl::memory::desc bd({s.k, s.n}, dt::f32, s.tb ? tag::ba : tag::ab);
    dnnl::memory::desc cd({s.m, s.n}, dt::f32, tag::ab);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(ad, bd, cd), eng);
    prim = dnnl::matmul(pd);
    a = dnnl::memory(ad, eng, pa);
    b = dnnl::memory(bd, eng, pb);
    c = dnnl::memory(cd, eng, pc);
  }
  void run() {
    prim.execute(strm, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
    strm.wait();
  }
};

struct Row {
  Shape shape;
  int threads;
  double nabla_ms, dnnl_ms, max_diff;
};

struct Options {
  bool quick = false;
  bool exact = false;
  double cold_mb = 0;  // --cold: footprint of the rotated operand copies
  GemmTuning tuning;
  std::string asm_path;
};

Row measure(testing::TestJit& jit, const Shape& s, int threads, const Options& opt) {
  const bool quick = opt.quick;
  GemmSpec spec;
  spec.tuning = opt.tuning;
  spec.exact = opt.exact;
  spec.M = s.m, spec.N = s.n, spec.K = s.k;
  spec.trans_a = s.ta, spec.trans_b = s.tb;
  spec.threads = threads;
  testing::CompiledGemm g = testing::compile_gemms(jit, {spec}, opt.asm_path)[0];
  if (!opt.asm_path.empty() || opt.tuning.mr || opt.tuning.tasks_m || opt.tuning.tasks_n ||
      opt.tuning.pack_a >= 0 || opt.tuning.pack_b >= 0 || opt.tuning.kc)
    std::printf("plan: tile %ldx%ld, blocks mc %ld nc %ld kc %ld, pack A %d B %d, tasks %ldx%ld\n",
                long(g.plan.mr), long(g.plan.nr), long(g.plan.mc), long(g.plan.nc),
                long(g.plan.kc), g.plan.pack_a, g.plan.pack_b, long(g.plan.tasks_m),
                long(g.plan.tasks_n));

  // Copies of the operands (one unless --cold), each with its own oneDNN
  // memory objects; run r uses copy r % copies.
  const double set_mb = 4.0 * static_cast<double>(s.m * s.k + s.k * s.n + s.m * s.n) / 1e6;
  const int copies = std::clamp(static_cast<int>(std::ceil(opt.cold_mb / set_mb)), 1, 64);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  struct Set {
    std::vector<float> a, b, c1, c2;
  };
  std::vector<Set> sets(copies);
  for (Set& st : sets) {
    st.a.resize(s.m * s.k), st.b.resize(s.k * s.n), st.c1.resize(s.m * s.n), st.c2.resize(s.m * s.n);
    for (auto& x : st.a) x = u(rng);
    for (auto& x : st.b) x = u(rng);
  }

  SpinPool pool(threads);
  std::vector<testing::AlignedBuffer> scratch;
  for (int t = 0; t < threads; ++t) scratch.emplace_back(static_cast<size_t>(g.plan.scratch_bytes));
  const int64_t tasks = g.plan.num_tasks;
  int cur = 0;
  auto part = std::function<void(int)>([&](int t) {
    Set& st = sets[cur];
    g.fn(st.a.data(), st.b.data(), st.c1.data(), nullptr, nullptr, scratch[t].data(),
         tasks * t / threads, tasks * (t + 1) / threads);
  });
  omp_set_num_threads(threads);
  std::vector<std::unique_ptr<OneDnnMatmul>> dnnl_mm;
  for (Set& st : sets)
    dnnl_mm.push_back(std::make_unique<OneDnnMatmul>(s, st.a.data(), st.b.data(), st.c2.data()));
  auto run_nabla = [&] {
    cur = (cur + 1) % copies;
    pool.run(part);
  };
  int dcur = 0;
  auto run_dnnl = [&] {
    dcur = (dcur + 1) % copies;
    dnnl_mm[dcur]->run();
  };

  double flops = 2.0 * s.m * s.n * s.k;
  int per_block = std::clamp(static_cast<int>(10e-3 / (flops / 100e9 / threads)), 3, 400);
  int blocks = quick ? 3 : 10;
  std::vector<double> tn, td;
  auto timed = [](auto&& fn) {
    auto t0 = Clock::now();
    fn();
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  };
  for (int w = 0; w < 3 * copies; ++w) run_nabla(), run_dnnl();  // warm-up
  for (int blk = 0; blk < blocks; ++blk) {
    for (int i = 0; i < per_block; ++i) tn.push_back(timed(run_nabla));
    // Idle gaps, so that neither side's workers still spin (OpenMP's spin for
    // some milliseconds after a parallel region) while the other one runs.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    for (int i = 0; i < per_block; ++i) td.push_back(timed(run_dnnl));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  double diff = 0;
  for (const Set& st : sets)
    for (size_t i = 0; i < st.c1.size(); ++i)
      diff = std::max<double>(diff, std::abs(st.c1[i] - st.c2[i]));
  return {s, threads, median(tn), median(td), diff};
}

int usage() {
  std::fprintf(stderr,
               "usage: gemm_bench [--threads 1,2] [--quick] [--exact] [--cold MB] [--shape M,N,K,ta,tb]\n"
               "                  [--tune mr=..,nr=..,mc=..,nc=..,kc=..,pack_a=0|1,pack_b=0|1]"
               " [--asm FILE]\n");
  return 1;
}

int run(int argc, char** argv) {
  std::vector<int> thread_counts = {1, 2};
  Options opt;
  std::vector<Shape> shapes(std::begin(kShapes), std::end(kShapes));
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) {
      opt.quick = true;
    } else if (!std::strcmp(argv[i], "--min")) {
      use_min = true;
    } else if (!std::strcmp(argv[i], "--exact")) {
      opt.exact = true;
    } else if (!std::strcmp(argv[i], "--shape") && i + 1 < argc) {
      int m, n, k, ta, tb;
      if (std::sscanf(argv[++i], "%d,%d,%d,%d,%d", &m, &n, &k, &ta, &tb) != 5) return usage();
      shapes = {{"shape", m, n, k, ta != 0, tb != 0}};
    } else if (!std::strcmp(argv[i], "--cold") && i + 1 < argc) {
      opt.cold_mb = std::atof(argv[++i]);
    } else if (!std::strcmp(argv[i], "--asm") && i + 1 < argc) {
      opt.asm_path = argv[++i];
    } else if (!std::strcmp(argv[i], "--tune") && i + 1 < argc) {
      for (char* p = std::strtok(argv[++i], ","); p; p = std::strtok(nullptr, ",")) {
        char key[32];
        long v;
        if (std::sscanf(p, "%31[a-z_]=%ld", key, &v) != 2) return usage();
        std::string k = key;
        GemmTuning& t = opt.tuning;
        if (k == "mr") t.mr = v;
        else if (k == "nr") t.nr = v;
        else if (k == "mc") t.mc = v;
        else if (k == "nc") t.nc = v;
        else if (k == "kc") t.kc = v;
        else if (k == "pack_a") t.pack_a = static_cast<int>(v);
        else if (k == "pack_b") t.pack_b = static_cast<int>(v);
        else if (k == "tasks_m") t.tasks_m = v;
        else if (k == "tasks_n") t.tasks_n = v;
        else return usage();
      }
    } else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
      thread_counts.clear();
      for (char* p = std::strtok(argv[++i], ","); p; p = std::strtok(nullptr, ","))
        thread_counts.push_back(std::atoi(p));
    } else {
      return usage();
    }
  }
  testing::TestJit jit;
  std::printf("GEMM fp32, nabla generated%s vs oneDNN %d.%d matmul (medians, side by side)\n",
              opt.exact ? " (exact: no FMA, sequential sums)" : "", dnnl_version()->major,
              dnnl_version()->minor);
  const double peak = fma_peak_gflops();
  std::printf("FMA limit of one core %.1f GFLOP/s (%% peak: nabla's GFLOP/s over threads x that)\n",
              peak);
  std::printf("%-6s %5s %5s %5s %3s | %9s %7s | %9s %7s | %6s | %6s\n", "kind", "M", "N", "K", "thr",
              "nabla ms", "GFLOP/s", "oneDNN ms", "GFLOP/s", "ratio", "% peak");
  for (int threads : thread_counts)
    for (const Shape& s : shapes) {
      Row r = measure(jit, s, threads, opt);
      double flops = 2.0 * s.m * s.n * s.k;
      double gn = flops / r.nabla_ms * 1e-6, gd = flops / r.dnnl_ms * 1e-6;
      std::printf("%-6s %5ld %5ld %5ld %3d | %9.4f %7.1f | %9.4f %7.1f | %5.2fx | %5.1f%%%s\n",
                  s.what, static_cast<long>(s.m), static_cast<long>(s.n), static_cast<long>(s.k),
                  threads, r.nabla_ms, gn, r.dnnl_ms, gd, gn / gd, 100 * gn / (threads * peak),
                  r.max_diff > 1e-3 * std::sqrt(static_cast<double>(s.k)) ? "  RESULTS DIFFER" : "");
      std::fflush(stdout);
    }
  return 0;
}

}  // namespace
}  // namespace nabla::bench

int main(int argc, char** argv) { return nabla::bench::run(argc, argv); }
