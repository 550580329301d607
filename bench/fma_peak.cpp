// bench/fma_peak.h: one core's measured FMA limit.
#include "bench/fma_peak.h"

#include <immintrin.h>

#include <chrono>
#include <cstdint>
#include <cstdio>

namespace nabla::bench {

using Clock = std::chrono::steady_clock;

// One core's FMA limit: 12 independent chains of vector FMAs (2 FMA units of
// 4-cycle latency need at least 8), GFLOP/s counting an FMA as 2 flops a lane.
double fma_peak_gflops() {
#if defined(__AVX512F__)
  using V = __m512;
  auto fma = [](V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); };
  auto splat = [](float x) { return _mm512_set1_ps(x); };
  constexpr int lanes = 16;
#else
  using V = __m256;
  auto fma = [](V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); };
  auto splat = [](float x) { return _mm256_set1_ps(x); };
  constexpr int lanes = 8;
#endif
  constexpr int chains = 12;
  constexpr int64_t iters = 50'000'000;
  V acc[chains];
  for (int k = 0; k < chains; ++k) acc[k] = splat(static_cast<float>(k));
  V a = splat(0.999999f), b = splat(1e-7f);
  auto t0 = Clock::now();
  for (int64_t i = 0; i < iters; ++i)
    for (V& x : acc) x = fma(x, a, b);
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  float sink = 0;
  for (V& x : acc) sink += reinterpret_cast<float*>(&x)[0];
  if (sink == 12345.0f) std::printf(" ");
  return 2.0 * lanes * chains * static_cast<double>(iters) / s / 1e9;
}

}  // namespace nabla::bench
