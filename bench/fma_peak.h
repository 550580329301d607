#pragma once
// One core's FMA limit, measured: what GEMM-bound figures are set beside
// (docs/performance.md). Takes about 0.1-0.2 s.

namespace nabla::bench {

// GFLOP/s of 12 independent chains of vector FMAs on the calling thread.
double fma_peak_gflops();

}  // namespace nabla::bench
