/* nabla_mpi's all-reduce between ranks of one machine through shared memory
 * (docs/distributed.md, "The shared-memory all-reduce"): an
 * MPI_Win_allocate_shared window holds one slot per rank.
 * On 2 ranks each rank copies its buffer into its slot ("contributed"), and
 * once the other has, adds the other's slot into its buffer, rank 0's values
 * first on both ("finished"): one synchronization per all-reduce.
 * On more, or when a rank's buffer lies in an area of the window
 * (shared_window_attach: a step's workspace), an all-reduce of `count`
 * elements is cut into one chunk per rank (chunk c reduced by rank c):
 *   start:   rank r copies the chunks of its buffer that others reduce into
 *            its slot (nothing when its buffer is in an area: the others read
 *            it there) and announces it (its "contributed" counter);
 *   reduce:  once every rank has contributed, rank r reduces chunk r in its
 *            own buffer, reading the others' contributions straight from
 *            their slots or buffers, and writes the result where each
 *            other rank's values are (its slot, or its buffer in an area;
 *            on 2 ranks in the adding's pass) (its "reduced" counter);
 *   gather:  once every rank has reduced, every chunk's result is where this
 *            rank's values are: rank r copies the others' from its slot into
 *            its buffer unless in an area ("finished", which frees the
 *            region). No rank reads or writes another's buffer after its
 *            own "reduced": two synchronizations per all-reduce.
 * Everything is plain loads and stores in user space: no kernel copy, no page
 * pinning. The counters are read with acquire and written with release
 * atomics (and MPI_Win_sync inside a lock_all epoch, MPI's own rule for shared
 * windows). Each all-reduce takes its region of the slot in turn around the
 * window (the same offset on every rank); a region is reused once every rank
 * has finished the all-reduce that held it. The phases advance in start
 * order, inside shared_window_advance, which nabla_mpi calls from its start,
 * progress and wait; on R > 2 ranks a rank adds 1/R of the elements; every
 * rank ends with the same bits. Internal to nabla_mpi. */
#ifndef NABLA_MPI_SHARED_ALL_REDUCE_H
#define NABLA_MPI_SHARED_ALL_REDUCE_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

typedef struct shared_window shared_window;

/* Collective over comm (every rank calls it, with the same capacity): a
 * window with `capacity` bytes per rank when comm has at least 2 ranks, all on
 * one node (MPI_Comm_split_type MPI_COMM_TYPE_SHARED), and every rank got its
 * slot; NULL otherwise (capacity 0, ranks on several nodes, allocation failed),
 * the same on every rank. */
shared_window* shared_window_create(MPI_Comm comm, size_t capacity);
/* Collective over the window's ranks (each calls it, in the same order):
 * `bytes` more bytes of shared memory per rank, page-aligned (at most 16
 * such areas), freed with the window; NULL (on every rank) when w is NULL or
 * the allocation failed. An all-reduce of a buffer inside this rank's area
 * needs no copy into the slot, and each rank adds only its chunk. */
void* shared_window_attach(shared_window* w, size_t bytes);
/* Collective over the window's ranks. */
void shared_window_free(shared_window* w);
/* Whether an all-reduce of `bytes` bytes can go through the window. */
int shared_window_fits(const shared_window* w, int64_t bytes);
/* Whether the next all-reduce of `bytes` bytes (fitting) has its region free
 * now: frees the regions of all-reduces that every rank has finished. */
int shared_window_has_room(shared_window* w, int64_t bytes);
/* Starts reducing `count` elements (NABLA_DTYPE_* dtype, `elem` bytes each,
 * NABLA_REDUCE_* op) at buf in place; needs has_room. Returns the all-reduce's
 * number, for shared_window_done. buf must stay valid until it is done. */
int64_t shared_all_reduce_start(shared_window* w, void* buf, int64_t count, size_t elem, int32_t dtype, int32_t op);
/* Takes every step whose condition holds, oldest all-reduce first. */
void shared_window_advance(shared_window* w);
/* Whether all-reduce `number` has its result in its buffer. */
int shared_window_done(const shared_window* w, int64_t number);

#endif /* NABLA_MPI_SHARED_ALL_REDUCE_H */
