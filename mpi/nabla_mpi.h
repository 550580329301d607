/* nabla_mpi: the MPI communicator for nabla's collectives (runtime/abi.h's
 * nabla_communicator), a separate library so that nothing else in nabla, and
 * no generated object, needs MPI. Plain C; docs/distributed.md describes it.
 *
 *   MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
 *   nabla_mpi* mpi = nabla_mpi_create(MPI_COMM_WORLD, 60.0);
 *   nabla_context ctx = {0};
 *   ctx.comm = nabla_mpi_communicator(mpi);
 *   if (nabla_step(in, out, ws, &ctx) == NABLA_COLLECTIVE_FAILED)
 *     fprintf(stderr, "%s\n", nabla_mpi_error(mpi));
 *   nabla_mpi_destroy(mpi);
 *   MPI_Finalize();
 *
 * Collectives are non-blocking (nabla_mpi's own all-reduce through a shared
 * memory window when every rank is on one machine, else over point-to-point
 * messages, or MPI_Iallreduce: nabla_mpi_set_all_reduce; on a duplicate of the
 * given communicator, whose errors return instead of aborting). A wait gives up
 * after the timeout: meanwhile the waiting ranks ping each other on a second
 * duplicate, so the message can name the ranks that have gone silent (dead or
 * stuck), e.g. "rank 0: all_reduce #12 did not complete in 10.0 s: rank 1 has
 * not been heard from for 10.2 s (dead or stuck)". After a failure the
 * communicator stays failed: the program should report and stop
 * (nabla_mpi_abort ends every rank). One thread at a time may use it. */
#ifndef NABLA_MPI_H
#define NABLA_MPI_H

#include <mpi.h>
#include <stdint.h>

#include "nabla/runtime/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nabla_mpi nabla_mpi;

/* A communicator over the ranks of comm (duplicated; comm itself is not
 * changed). timeout_seconds <= 0: collectives wait forever. NULL when MPI is
 * not initialized or the duplication fails. Collective: when all of comm's
 * ranks share a node (MPI_Comm_split_type MPI_COMM_TYPE_SHARED), it also
 * allocates the window of the SHARED all-reduce, NABLA_MPI_SHARED_BYTES
 * bytes per rank (the environment variable, the least over the ranks;
 * default 8 MiB; 0: no window). */
nabla_mpi* nabla_mpi_create(MPI_Comm comm, double timeout_seconds);
/* The table for nabla_context::comm; valid until nabla_mpi_destroy. */
const nabla_communicator* nabla_mpi_communicator(nabla_mpi* mpi);
/* How all-reduces travel. SHARED (the default when the window exists): every
 * rank copies the chunks others add into its slot of a shared-memory window,
 * adds its own chunk reading the others' slots directly, and copies the other
 * chunks' sums back, all in user space (an all-reduce larger than the window
 * takes the ring). RING (the default otherwise): nabla_mpi's own, over MPI
 * point-to-point messages, a reduce-scatter then an all-gather around the ring
 * of ranks (on 2 ranks each sends half, adds the half it got, sends its sum
 * back). Both advance in the communicator's start, progress and wait calls.
 * LIBRARY: MPI_Iallreduce (Open MPI 4's libnbc takes a binomial tree on 2
 * ranks, which gathers everything on rank 0: slower there,
 * docs/distributed.md). */
enum { NABLA_MPI_ALL_REDUCE_RING = 0, NABLA_MPI_ALL_REDUCE_LIBRARY = 1, NABLA_MPI_ALL_REDUCE_SHARED = 2 };
/* Chooses the all-reduce (the same on every rank) before the first one
 * starts. NABLA_OK, or NABLA_COLLECTIVE_FAILED for an unknown algorithm,
 * SHARED without a window, or with all-reduces in flight. */
int32_t nabla_mpi_set_all_reduce(nabla_mpi* mpi, int32_t algorithm);
/* The all-reduce in use (NABLA_MPI_ALL_REDUCE_*). */
int32_t nabla_mpi_all_reduce(const nabla_mpi* mpi);
/* Shared memory for a step's workspace (Executable::set_workspace, or a
 * nablac object's workspace argument): `bytes` bytes (page-aligned) in an area
 * of the SHARED all-reduce's window, freed by nabla_mpi_destroy. An
 * all-reduce of a buffer in it is reduced in place: no copy into the window,
 * each rank adds only its 1/R of the elements and reads the others' sums from
 * their buffers (docs/distributed.md). Collective (every rank calls it, in the
 * same order; at most 16 times); NULL on every rank when there is no window or
 * the allocation failed: then use ordinary memory. */
void* nabla_mpi_shared_memory(nabla_mpi* mpi, int64_t bytes);
/* Copies `bytes` bytes at buf from rank `root` to every rank (blocking, with
 * the timeout). NABLA_OK or NABLA_COLLECTIVE_FAILED. */
int32_t nabla_mpi_broadcast(nabla_mpi* mpi, void* buf, int64_t bytes, int32_t root);
/* A barrier with the timeout. NABLA_OK or NABLA_COLLECTIVE_FAILED. */
int32_t nabla_mpi_barrier(nabla_mpi* mpi);
/* The message of the first failure ("" while none). */
const char* nabla_mpi_error(nabla_mpi* mpi);
/* Whether a collective has failed. */
int nabla_mpi_failed(nabla_mpi* mpi);
/* Ends every rank of the run with `code` (MPI_Abort): after a failure, the
 * other ranks may be stuck in a collective that will never complete. */
void nabla_mpi_abort(nabla_mpi* mpi, int code);
/* Frees the duplicates (unless failed: then MPI may be unusable) and mpi. */
void nabla_mpi_destroy(nabla_mpi* mpi);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* NABLA_MPI_H */
