/* nabla_mpi's element-wise reductions (reduce_kernels.h). */
#include "reduce_kernels.h"

#include "nabla/runtime/abi.h"

/* The adding runs on the rank's own core, inside the communicator's calls,
 * between the step's kernels: vectorized (restrict, -O3 for this file, and a
 * 512-bit and a 256-bit clone where GCC can pick one at load time), it
 * streams at memory speed. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define NABLA_MPI_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NABLA_MPI_CLONES
#endif

/* Whether 1 / ranks is exact, so that x * (1 / ranks) rounds as x / ranks. */
static int power_of_two(int32_t ranks) { return ranks > 0 && (ranks & (ranks - 1)) == 0; }

/* DST = X / ranks for i < n: a multiply by the exact inverse when ranks is a
 * power of two (the same rounding, and it vectorizes), else a division. */
#define NABLA_MPI_BY_RANKS(T, DST, X)                            \
  if (power_of_two(ranks)) {                                     \
    const T inverse = (T)1 / (T)ranks;                           \
    for (int64_t i = 0; i < n; ++i) DST = (X) * inverse;         \
  } else {                                                       \
    const T divisor = (T)ranks;                                  \
    for (int64_t i = 0; i < n; ++i) DST = (X) / divisor;         \
  }

/* DST = A op B, with A the first operand (for max and min it decides which
 * of two equal values, such as -0 and +0, is kept; for sums, which NaN). The
 * mean (floating types) divides each sum in the same pass. S is the type of
 * s's elements: const T, or T where DST writes s too. */
#define NABLA_MPI_REDUCE(T, S, NAME, DST, A, B)                                                 \
  NABLA_MPI_CLONES static void NAME(T* restrict d, S* restrict s, int64_t n, int32_t op,       \
                                    int32_t ranks) {                                           \
    if (op == NABLA_REDUCE_MAX)                                                                \
      for (int64_t i = 0; i < n; ++i) DST = B > A ? B : A;                                     \
    else if (op == NABLA_REDUCE_MIN)                                                           \
      for (int64_t i = 0; i < n; ++i) DST = B < A ? B : A;                                     \
    else if (op == NABLA_REDUCE_MEAN) {                                                        \
      NABLA_MPI_BY_RANKS(T, DST, A + B)                                                        \
    } else                                                                                     \
      for (int64_t i = 0; i < n; ++i) DST = A + B;                                             \
  }
/* d = d op s */
NABLA_MPI_REDUCE(float, const float, reduce_f32, d[i], d[i], s[i])
NABLA_MPI_REDUCE(double, const double, reduce_f64, d[i], d[i], s[i])
NABLA_MPI_REDUCE(int32_t, const int32_t, reduce_i32, d[i], d[i], s[i])
NABLA_MPI_REDUCE(int64_t, const int64_t, reduce_i64, d[i], d[i], s[i])
/* d = s op d */
NABLA_MPI_REDUCE(float, const float, after_f32, d[i], s[i], d[i])
NABLA_MPI_REDUCE(double, const double, after_f64, d[i], s[i], d[i])
NABLA_MPI_REDUCE(int32_t, const int32_t, after_i32, d[i], s[i], d[i])
NABLA_MPI_REDUCE(int64_t, const int64_t, after_i64, d[i], s[i], d[i])
/* d = s = d op s: the result into both buffers in one pass (the 2-rank
 * shared-memory all-reduce writes its half's sum into its buffer and the
 * other rank's as it adds). */
NABLA_MPI_REDUCE(float, float, both_f32, s[i] = d[i], d[i], s[i])
NABLA_MPI_REDUCE(double, double, both_f64, s[i] = d[i], d[i], s[i])
NABLA_MPI_REDUCE(int32_t, int32_t, both_i32, s[i] = d[i], d[i], s[i])
NABLA_MPI_REDUCE(int64_t, int64_t, both_i64, s[i] = d[i], d[i], s[i])

void nabla_mpi_reduce_both(void* dst, void* src, int64_t n, int32_t dtype, int32_t op, int32_t ranks) {
  switch (dtype) {
    case NABLA_DTYPE_F32: both_f32((float*)dst, (float*)src, n, op, ranks); break;
    case NABLA_DTYPE_F64: both_f64((double*)dst, (double*)src, n, op, ranks); break;
    case NABLA_DTYPE_I32: both_i32((int32_t*)dst, (int32_t*)src, n, op, ranks); break;
    default: both_i64((int64_t*)dst, (int64_t*)src, n, op, ranks); break;
  }
}

void nabla_mpi_reduce_into(void* dst, const void* src, int64_t n, int32_t dtype, int32_t op, int src_first,
                           int32_t ranks) {
  switch (dtype) {
    case NABLA_DTYPE_F32: (src_first ? after_f32 : reduce_f32)((float*)dst, (const float*)src, n, op, ranks); break;
    case NABLA_DTYPE_F64: (src_first ? after_f64 : reduce_f64)((double*)dst, (const double*)src, n, op, ranks); break;
    case NABLA_DTYPE_I32: (src_first ? after_i32 : reduce_i32)((int32_t*)dst, (const int32_t*)src, n, op, ranks); break;
    default: (src_first ? after_i64 : reduce_i64)((int64_t*)dst, (const int64_t*)src, n, op, ranks); break;
  }
}

#define NABLA_MPI_DIVIDE(T, NAME)                                              \
  NABLA_MPI_CLONES static void NAME(T* restrict d, int64_t n, int32_t ranks) { \
    NABLA_MPI_BY_RANKS(T, d[i], d[i])                                                \
  }
NABLA_MPI_DIVIDE(float, divide_f32)
NABLA_MPI_DIVIDE(double, divide_f64)

void nabla_mpi_divide(void* buf, int64_t n, int32_t dtype, int32_t ranks) {
  if (dtype == NABLA_DTYPE_F32) divide_f32((float*)buf, n, ranks);
  else if (dtype == NABLA_DTYPE_F64) divide_f64((double*)buf, n, ranks);
}
