// The MLP training step (784-512-512-10, relu, softmax cross-entropy against
// integer labels, weight decay, SGD update of every parameter) of the
// hand-written oneDNN baseline, checked against plain double loops.
//   mlp_bench [--threads 1,2] [--quick]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/mlp_onednn.h"

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

int run(int argc, char** argv) {
  std::vector<int> thread_counts = {1, 2};
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) {
      quick = true;
    } else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
      thread_counts.clear();
      for (char* p = std::strtok(argv[++i], ","); p; p = std::strtok(nullptr, ","))
        thread_counts.push_back(std::atoi(p));
    } else {
      std::fprintf(stderr, "usage: mlp_bench [--threads 1,2] [--quick]\n");
      return 1;
    }
  }
  std::printf("MLP training step 784-512-512-10 (relu, softmax CE, weight decay, SGD), fp32\n");
  std::printf("%5s %3s | %12s | %s\n", "batch", "thr", "oneDNN ms", "check vs double loops");
  for (int threads : thread_counts)
    for (int64_t batch : {64, 256}) {
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
      std::vector<double> times;
      int reps = quick ? 30 : 200;
      for (int r = 0; r < reps; ++r) {
        auto t0 = Clock::now();
        step.run(in.x.data(), in.labels.data(), in.params, out);
        times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      }
      std::printf("%5ld %3d | %12.3f | loss %.6f vs %.6f, params %.1e %s\n", long(batch), threads,
                  median(times), loss, ref_loss, diff, ok ? "ok" : "DIFFER");
      std::fflush(stdout);
    }
  return 0;
}

}  // namespace
}  // namespace nabla::bench

int main(int argc, char** argv) { return nabla::bench::run(argc, argv); }
