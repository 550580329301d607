// Issue 16's embedding-bag figure: y[b] = sum over l of table[idx[b, l]]
// (gather -> sum) over 1M indices (15,625 bags of 64) into a 100,000 x 64
// f32 table, and its gradient in the table (build-grad: a scatter_add of dy
// broadcast over each bag), compiled by nabla, against the memory-traffic
// bound: the bytes that must move over the copy bandwidth measured in the same
// run (a plain copy loop of 256 MiB, timed in alternation with the kernels,
// an idle gap after it),
// and beside plain C++ loops for reference. 1 and 2 threads, medians.
//   embedding_bench [--threads 1,2] [--quick] [--vector-table] [--vector-output]
// The table and the results are nabla Tensors (huge pages,
// runtime/tensor.cpp), the results allocated once before the rounds; with
// --vector-table (--vector-output), std::vectors seen through views (4 KiB
// pages). Each median is printed with the range of its rounds.
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "nabla/compiler/compile.h"
#include "nabla/ir/builder.h"

namespace nabla::bench {
namespace {

constexpr int64_t kRows = 100000, kDim = 64, kBags = 15625, kBag = 64, kIdx = kBags * kBag;

// Bytes that must move: the indices, every gathered row once per index, the
// result; the gradient reads and writes every indexed row once per index,
// reads dy and writes the whole table once.
constexpr double kForwardBytes = 4.0 * kIdx + 4.0 * kIdx * kDim + 4.0 * kBags * kDim;
constexpr double kGradBytes = 4.0 * kIdx + 8.0 * kIdx * kDim + 4.0 * kBags * kDim + 4.0 * kRows * kDim;

Executable compile_bag(bool gradient, int threads) {
  Module m;
  Function& f = m.function("bag");
  Value table = f.input("table", f32({kRows, kDim}));
  Value idx = f.input("idx", i32({kBags, kBag}));
  Value y = sum(gather(table, idx, 0), std::vector<int64_t>{1});
  if (!gradient) {
    f.output(y);
  } else {
    Value dy = f.input("dy", f32({kBags, kDim}));
    f.output(grad_op(sum(y * dy), table));
  }
  CompileOptions o;
  o.pipeline = "build-grad,default";
  o.fast_math = true;
  o.num_threads = threads;
  return compile(m, "bag", o);
}

void reference_forward(const float* table, const int32_t* idx, float* y) {
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < kBags; ++b) {
    float acc[kDim] = {};
    for (int64_t l = 0; l < kBag; ++l) {
      const float* row = table + int64_t(idx[b * kBag + l]) * kDim;
      for (int64_t j = 0; j < kDim; ++j) acc[j] += row[j];
    }
    std::copy_n(acc, kDim, y + b * kDim);
  }
}

// Each thread owns a range of table rows and applies, in index order, the
// indices that fall into it (deterministic, like nabla's scatter_add).
void reference_gradient(const int32_t* idx, const float* dy, float* dtable) {
#pragma omp parallel
  {
    int t = omp_get_thread_num(), nt = omp_get_num_threads();
    int64_t lo = kRows * t / nt, hi = kRows * (t + 1) / nt;
    std::fill(dtable + lo * kDim, dtable + hi * kDim, 0.f);
    for (int64_t p = 0; p < kIdx; ++p) {
      int64_t r = idx[p];
      if (r < lo || r >= hi) continue;
      const float* g = dy + (p / kBag) * kDim;
      for (int64_t j = 0; j < kDim; ++j) dtable[r * kDim + j] += g[j];
    }
  }
}

double copy_ms(std::vector<float>& src, std::vector<float>& dst) {
  auto t0 = Clock::now();
  const int64_t n = static_cast<int64_t>(src.size());
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i += 4096) std::memcpy(&dst[i], &src[i], 4 * std::min<int64_t>(4096, n - i));
  return ms_since(t0);
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, double(std::abs(a[i] - b[i])) / (1 + std::abs(b[i])));
  return worst;
}

// The table and the results are nabla Tensors (runtime/tensor.cpp: 2
// MiB-aligned, advised to huge pages), as a user's would be; the indices and
// dy are plain vectors seen through views.
void bench_threads(int threads, int reps, Tensor& table_tensor, std::vector<int32_t>& idx, std::vector<float>& dy,
                   bool vector_output) {
  const float* table = static_cast<const float*>(table_tensor.data());
  omp_set_num_threads(threads);
  Executable fwd = compile_bag(false, threads), grad = compile_bag(true, threads);
  std::vector<float> yr(kBags * kDim), dtr(kRows * kDim), yv(vector_output ? yr.size() : 0), dv(yv.empty() ? 0 : dtr.size());
  std::vector<float> src(64 << 20, 1.f), dst(src.size());
  Tensor tt = table_tensor, ti = Tensor::view(idx.data(), DType::i32, {kBags, kBag});
  Tensor td = Tensor::view(dy.data(), DType::f32, {kBags, kDim});
  std::vector<Tensor> yo = {vector_output ? Tensor::view(yv.data(), DType::f32, {kBags, kDim}) : Tensor(DType::f32, {kBags, kDim})};
  std::vector<Tensor> go = {vector_output ? Tensor::view(dv.data(), DType::f32, {kRows, kDim}) : Tensor(DType::f32, {kRows, kDim})};
  auto as_vector = [](const Tensor& t) {
    const float* p = static_cast<const float*>(t.data());
    return std::vector<float>(p, p + t.numel());
  };
  const std::vector<Tensor> fin = {tt, ti}, gin = {tt, ti, td};
  std::vector<double> tc, tf, tg, trf, trg;
  for (int r = 0; r < reps + 1; ++r) {  // the first round warms up
    double c = copy_ms(src, dst);
    // An idle gap: after a parallel region libgomp's workers spin for
    // milliseconds (GOMP_SPINCOUNT), on the core a kernel's second task
    // needs: right after the copy the 2-thread forward took 1.8x as long
    // (docs/performance.md, "The 2-thread forward after OpenMP's copy loop").
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    double f = time_ms([&] { fwd.run(fin, yo); });
    double g = time_ms([&] { grad.run(gin, go); });
    double rf = time_ms([&] { reference_forward(table, idx.data(), yr.data()); });
    double rg = time_ms([&] { reference_gradient(idx.data(), dy.data(), dtr.data()); });
    if (r) tc.push_back(c), tf.push_back(f), tg.push_back(g), trf.push_back(rf), trg.push_back(rg);
  }
  double bw = 2.0 * 4 * src.size() / median(tc) / 1e6;  // GB/s: read + write
  double bf = kForwardBytes / bw / 1e6, bg = kGradBytes / bw / 1e6;
  std::printf("%d thread(s): copy %.1f GB/s; forward bound %.2f ms (%.0f MB), gradient bound %.2f ms (%.0f MB)\n",
              threads, bw, bf, kForwardBytes / 1e6, bg, kGradBytes / 1e6);
  auto spread = [](const std::vector<double>& t, double bound) {
    auto [lo, hi] = std::minmax_element(t.begin(), t.end());
    return std::make_pair(*lo / bound, *hi / bound);
  };
  auto [f0, f1] = spread(tf, bf);
  auto [g0, g1] = spread(tg, bg);
  std::printf("  forward:  nabla %8.3f ms = %.2fx the bound (rounds %.2fx-%.2fx); C++ loops %8.3f ms = %.2fx"
              " (results differ by %.1e)\n",
              median(tf), median(tf) / bf, f0, f1, median(trf), median(trf) / bf, max_diff(as_vector(yo[0]), yr));
  std::printf("  gradient: nabla %8.3f ms = %.2fx the bound (rounds %.2fx-%.2fx); C++ loops %8.3f ms = %.2fx"
              " (results differ by %.1e)\n",
              median(tg), median(tg) / bg, g0, g1, median(trg), median(trg) / bg, max_diff(as_vector(go[0]), dtr));
  std::printf("  (nabla: %d + %d kernels, workspace %.1f + %.1f MB)\n", fwd.stats().num_kernels, grad.stats().num_kernels,
              fwd.workspace_bytes() / 1e6, grad.workspace_bytes() / 1e6);
  std::fflush(stdout);
}

int run(int argc, char** argv) {
  BenchArgs args;
  bool vector_table = false, vector_output = false;
  auto extra = [&](char** argv, int& i) {
    if (!std::strcmp(argv[i], "--vector-output")) return vector_output = true;
    return !std::strcmp(argv[i], "--vector-table") && (vector_table = true);
  };
  if (!parse_bench_args(argc, argv, "embedding_bench [--threads 1,2] [--quick] [--vector-table] [--vector-output]", args, extra))
    return 1;
  const bool quick = args.quick;
  std::mt19937 rng(7);
  std::vector<float> plain(vector_table ? kRows * kDim : 0);
  Tensor table = vector_table ? Tensor::view(plain.data(), DType::f32, {kRows, kDim}) : Tensor(DType::f32, {kRows, kDim});
  std::vector<float> dy(kBags * kDim);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int64_t i = 0; i < kRows * kDim; ++i) static_cast<float*>(table.data())[i] = u(rng);
  for (float& v : dy) v = u(rng);
  std::vector<int32_t> idx(kIdx);
  std::uniform_int_distribution<int32_t> row(0, kRows - 1);
  for (auto& v : idx) v = row(rng);
  std::printf("embedding bag: %lld indices (%lld bags of %lld) into a %lld x %lld f32 table (%s); medians of %d\n",
              (long long)kIdx, (long long)kBags, (long long)kBag, (long long)kRows, (long long)kDim,
              vector_table ? "std::vector, 4 KiB pages" : "nabla Tensor, huge pages", quick ? 3 : 9);
  for (int threads : args.threads) bench_threads(threads, quick ? 3 : 9, table, idx, dy, vector_output);
  return 0;
}

}  // namespace
}  // namespace nabla::bench

int main(int argc, char** argv) { return nabla::bench::run(argc, argv); }
