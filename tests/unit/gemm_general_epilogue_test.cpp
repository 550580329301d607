// The GEMM emitter's general epilogue (GemmSpec::epilogue) used directly, on
// every vector width (128, 256, 512 bits), f32 and f64, exact mode over one
// and several K blocks, transposes and edge tiles, the tasks split in two:
//   C = relu(P + bias[n]),  O0 = mask[m,n] ? P * col[m] : 0
// (a row leaf, a per-row leaf splatted across the vector, a bool leaf and an
// extra output) against plain loops, bit for bit.
#include <gtest/gtest.h>

#include <random>

#include <llvm/IR/IRBuilder.h>

#include "nabla/compiler/gemm.h"
#include "tests/support/gemm_runner.h"
#include "tests/support/test_jit.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using EpilogueFn = void (*)(const void*, const void*, void*, const void*, const void*, void*, int64_t,
                            int64_t, const void*, const void*, const void*, void*);

template <class T>
void check(testing::TestJit& jit, DType t, int bits, int64_t M, int64_t N, int64_t K, bool ta, bool tb) {
  GemmSpec s;
  s.dtype = t;
  s.M = M, s.N = N, s.K = K;
  s.trans_a = ta, s.trans_b = tb;
  s.exact = true;
  s.vector_bits = bits;
  s.threads = 2;
  s.epilogue.operands = {{t, 0, 0, 1}, {t, 0, 1, 0}, {DType::bool_, 0, N, 1}};  // bias[n], col[m], mask[m,n]
  s.epilogue.outputs = 1;
  s.epilogue.apply = [](llvm::IRBuilderBase& b, llvm::Value* v, const std::vector<llvm::Value*>& e) {
    llvm::Value* zero = llvm::Constant::getNullValue(v->getType());
    llvm::Value* x = b.CreateFAdd(v, e[0]);
    llvm::Value* relu = b.CreateSelect(b.CreateFCmpUGT(x, zero), x, zero);
    llvm::Value* masked = b.CreateSelect(e[2], b.CreateFMul(v, e[1]), zero);
    return std::vector<llvm::Value*>{relu, masked};
  };
  std::vector<testing::CompiledGemm> g = testing::compile_gemms(jit, {s});
  auto fn = reinterpret_cast<EpilogueFn>(reinterpret_cast<void*>(g[0].fn));

  std::mt19937 rng(static_cast<unsigned>(M * 131 + N * 7 + K + bits));
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<T> a(static_cast<size_t>(M * K)), bm(static_cast<size_t>(K * N)), bias(static_cast<size_t>(N)),
      col(static_cast<size_t>(M)), c(static_cast<size_t>(M * N)), o(static_cast<size_t>(M * N));
  std::vector<uint8_t> mask(static_cast<size_t>(M * N));
  for (auto* v : {&a, &bm, &bias, &col})
    for (T& x : *v) x = static_cast<T>(u(rng));
  for (uint8_t& x : mask) x = rng() % 2;
  int64_t tasks = g[0].plan.num_tasks;
  testing::AlignedBuffer scratch(static_cast<size_t>(std::max<int64_t>(g[0].plan.scratch_bytes, 64)));
  fn(a.data(), bm.data(), c.data(), nullptr, nullptr, scratch.data(), 0, tasks / 2, bias.data(), col.data(),
     mask.data(), o.data());
  fn(a.data(), bm.data(), c.data(), nullptr, nullptr, scratch.data(), tasks / 2, tasks, bias.data(), col.data(),
     mask.data(), o.data());
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      T p = 0;
      for (int64_t k = 0; k < K; ++k) {
        T x = ta ? a[static_cast<size_t>(k * M + i)] : a[static_cast<size_t>(i * K + k)];
        T y = tb ? bm[static_cast<size_t>(j * K + k)] : bm[static_cast<size_t>(k * N + j)];
        p += x * y;
      }
      T sum = p + bias[static_cast<size_t>(j)];
      T want_c = sum > 0 || sum != sum ? sum : T(0);
      T want_o = mask[static_cast<size_t>(i * N + j)] ? p * col[static_cast<size_t>(i)] : T(0);
      size_t at = static_cast<size_t>(i * N + j);
      ASSERT_EQ(c[at], want_c) << bits << " bits " << M << "x" << N << "x" << K << " at " << i << "," << j;
      ASSERT_EQ(o[at], want_o) << bits << " bits " << M << "x" << N << "x" << K << " at " << i << "," << j;
    }
}

TEST(GemmGeneralEpilogue, EveryWidthExact) {
  testing::TestJit jit;
  for (int bits : {128, 256, 512})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        check<float>(jit, DType::f32, bits, 29, 45, 37, ta, tb);
        check<double>(jit, DType::f64, bits, 17, 13, 600, ta, tb);  // several K blocks
      }
}

}  // namespace
}  // namespace nabla
