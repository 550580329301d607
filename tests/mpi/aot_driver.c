/* Runs the nablac object of collectives.nabla on every rank, with the MPI
 * communicator of nabla_mpi in ctx->comm, and checks each result against the
 * reduction computed by hand (exact: the operands are binary fractions), and
 * that the all-reduces took the shared-memory window on more than one rank
 * (the ring with NABLA_MPI_SHARED_BYTES=0: ctest mpi.aot.ring.*); once with
 * its workspace from aligned_alloc, once in nabla_mpi_shared_memory.
 * Exit 0 when all agree; prints "rank R: ok". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectives.h"
#include "examples/common/mpi_leak_check.h"
#include "nabla/mpi/nabla_mpi.h"

static double x_of(int r, int i) { return 0.5 * (r + 1) + 0.25 * i; }
static double y_of(int r, int i) { return 1.5 * (r + 1) - i; }
static int32_t k_of(int r, int i) { return (r + 1) * (i - 2); }
static int64_t l_of(int r, int i) { return 7 * r - i; }

/* One run of the object with workspace ws; the number of wrong results. */
static int run_and_check(nabla_mpi* mpi, void* ws) {
  const nabla_communicator* comm = nabla_mpi_communicator(mpi);
  int rank = comm->rank, size = comm->size, bad = 0;
  float x[4], sx[4], t[4];
  double y[3], my[3];
  int32_t k[2], mk[2];
  int64_t l[2], nl[2];
  for (int i = 0; i < 4; ++i) x[i] = (float)x_of(rank, i);
  for (int i = 0; i < 3; ++i) y[i] = y_of(rank, i);
  for (int i = 0; i < 2; ++i) k[i] = k_of(rank, i), l[i] = l_of(rank, i);
  const void* in[] = {x, y, k, l};
  void* out[] = {sx, my, mk, nl, t};
  nabla_context ctx = {0};
  ctx.comm = comm;
  if (nabla_collectives(in, out, ws, &ctx) != NABLA_OK) {
    fprintf(stderr, "rank %d: %s\n", rank, nabla_mpi_error(mpi));
    nabla_mpi_abort(mpi, 1);
  }
  for (int i = 0; i < 4; ++i) {
    double s = 0;
    for (int r = 0; r < size; ++r) s += x_of(r, i);
    if (sx[i] != s || t[i] != 2 * s) ++bad, fprintf(stderr, "rank %d: sum x[%d] = %g, expected %g\n", rank, i, sx[i], s);
  }
  for (int i = 0; i < 3; ++i) {
    double s = 0;
    for (int r = 0; r < size; ++r) s += y_of(r, i);
    if (my[i] != s / size) ++bad, fprintf(stderr, "rank %d: mean y[%d] = %g, expected %g\n", rank, i, my[i], s / size);
  }
  for (int i = 0; i < 2; ++i) {
    int32_t hi = k_of(0, i);
    int64_t lo = l_of(0, i);
    for (int r = 1; r < size; ++r) {
      if (k_of(r, i) > hi) hi = k_of(r, i);
      if (l_of(r, i) < lo) lo = l_of(r, i);
    }
    if (mk[i] != hi || nl[i] != lo) ++bad, fprintf(stderr, "rank %d: max/min [%d] wrong\n", rank, i);
  }
  return bad;
}

int main(int argc, char** argv) {
  nabla_mpi_init_serialized(&argc, &argv);
  nabla_mpi* mpi = nabla_mpi_create(MPI_COMM_WORLD, 20.0);
  const nabla_communicator* comm = nabla_mpi_communicator(mpi);
  int rank = comm->rank, size = comm->size, bad = 0;
  const char* window = getenv("NABLA_MPI_SHARED_BYTES");
  int32_t expected = size > 1 && !(window && strcmp(window, "0") == 0) ? NABLA_MPI_ALL_REDUCE_SHARED
                                                                       : NABLA_MPI_ALL_REDUCE_RING;
  if (nabla_mpi_all_reduce(mpi) != expected)
    ++bad, fprintf(stderr, "rank %d: all-reduce %d, expected %d\n", rank, (int)nabla_mpi_all_reduce(mpi), (int)expected);

  void* ws = aligned_alloc(NABLA_WORKSPACE_ALIGN, NABLA_COLLECTIVES_WORKSPACE_BYTES + NABLA_WORKSPACE_ALIGN);
  bad += run_and_check(mpi, ws);
  /* The workspace in shared memory (none on 1 rank or without a window). */
  void* shared = nabla_mpi_shared_memory(mpi, NABLA_COLLECTIVES_WORKSPACE_BYTES + NABLA_WORKSPACE_ALIGN);
  if (shared) bad += run_and_check(mpi, shared);
  if (!bad) printf("rank %d: ok\n", rank);
  free(ws);
  nabla_mpi_destroy(mpi);
  nabla_mpi_finalize_checked();
  return bad ? 1 : 0;
}
