/* nabla_mpi's own non-blocking all-reduce over MPI point-to-point messages
 * (docs/distributed.md, "nabla_mpi's all-reduce"): a ring reduce-scatter
 * followed by a ring all-gather. buf is split into `size` chunks; in each of
 * size - 1 steps every rank sends one chunk to its right neighbour and reduces
 * the one from its left into its own, then in size - 1 more steps the reduced
 * chunks travel round. Each rank sends and receives 2 (size - 1) / size of the
 * buffer and does 1 / size of the adding; on 2 ranks: each sends half, adds
 * the half it received, sends its reduced half back. Every rank ends with the
 * same values (each element is reduced along one chain, then copied).
 * It advances only inside ring_all_reduce_advance (its MPI_Testall drives MPI's
 * progress engine), which nabla_mpi calls from the communicator's progress and
 * wait. Internal to nabla_mpi. */
#ifndef NABLA_MPI_RING_ALL_REDUCE_H
#define NABLA_MPI_RING_ALL_REDUCE_H

#include <mpi.h>
#include <stdint.h>

#include "nabla/runtime/abi.h"

typedef struct ring_all_reduce ring_all_reduce;

/* Starts reducing `count` elements at buf (NABLA_DTYPE_*, MPI `type`) with
 * NABLA_REDUCE_* `op` over comm's ranks, in place, with messages tagged `tag`
 * (distinct for collectives in flight at once). `spare`, if not NULL, is a
 * finished one whose memory (and scratch chunk) is reused. *out is set (free
 * it with ring_all_reduce_free) unless out of memory. Returns an MPI error code. */
int ring_all_reduce_start(ring_all_reduce** out, ring_all_reduce* spare, void* buf, int64_t count, MPI_Datatype type,
                          int32_t dtype, int32_t op, MPI_Comm comm, int tag);
/* Takes the steps whose messages have arrived; *done once buf holds the
 * result. Returns an MPI error code. */
int ring_all_reduce_advance(ring_all_reduce* r, int* done);
void ring_all_reduce_free(ring_all_reduce* r);

#endif /* NABLA_MPI_RING_ALL_REDUCE_H */
