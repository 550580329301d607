/* The element-wise reductions of nabla_mpi's all-reduces (the ring's and the
 * shared-memory one's), vectorized: -O3 for reduce_kernels.c
 * (mpi/CMakeLists.txt) and, with GCC on x86-64, AVX-512 and AVX2 clones
 * picked at load time. Internal to nabla_mpi. */
#ifndef NABLA_MPI_REDUCE_KERNELS_H
#define NABLA_MPI_REDUCE_KERNELS_H

#include <stdint.h>

/* dst[i] = dst[i] op src[i] for n elements of NABLA_DTYPE_* `dtype`
 * (NABLA_REDUCE_* `op`; dst and src do not overlap); with src_first,
 * dst[i] = src[i] op dst[i] (the first operand decides, for max and min,
 * which of two equal values such as -0 and +0 is kept). NABLA_REDUCE_MEAN
 * is the sum divided by `ranks` (f32, f64), for the last operand of a sum:
 * (dst[i] + src[i]) / ranks, rounded as the sum and then the division would
 * be (a multiplication by 1 / ranks when ranks is a power of 2, which gives
 * the same bits); the earlier ones are NABLA_REDUCE_SUM. */
void nabla_mpi_reduce_into(void* dst, const void* src, int64_t n, int32_t dtype, int32_t op, int src_first,
                           int32_t ranks);
/* dst[i] = src[i] = dst[i] op src[i] (dst the first operand; op and ranks as
 * above, the mean for the last operand): the result into both in one pass. */
void nabla_mpi_reduce_both(void* dst, void* src, int64_t n, int32_t dtype, int32_t op, int32_t ranks);
/* buf[i] = buf[i] / ranks, rounded likewise (f32, f64): the mean after a
 * library all-reduce's sum. */
void nabla_mpi_divide(void* buf, int64_t n, int32_t dtype, int32_t ranks);

#endif /* NABLA_MPI_REDUCE_KERNELS_H */
