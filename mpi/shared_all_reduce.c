/* nabla_mpi's shared-memory all-reduce (shared_all_reduce.h). */
#include "shared_all_reduce.h"

#include <stdlib.h>
#include <string.h>

#include "nabla/runtime/abi.h"
#include "reduce_kernels.h"

enum {
  kLine = 64,          /* a cache line: each counter on its own, regions aligned to it */
  kHeader = 4 * kLine, /* a slot's counters, before its data */
  kMaxLive = 64        /* all-reduces whose regions are held at once */
};

/* A slot's counters, each written by its rank only: how many all-reduces it
 * has contributed to, reduced its chunk of, and finished. */
enum { kContributed = 0, kReduced = 1, kFinished = 2 };

typedef struct entry {
  char* buf;   /* the caller's buffer */
  int64_t count;
  size_t elem, offset, bytes; /* its region: [offset, offset + bytes) of every slot's data */
  int32_t dtype, op;
  int phase;   /* the counters it has passed here: kContributed .. kFinished */
} entry;

struct shared_window {
  MPI_Comm node;   /* comm's ranks, as one node's */
  MPI_Win win;
  int rank, size;
  int whole;       /* 2 ranks: each reduces the whole buffer, no gather phase */
  size_t capacity; /* data bytes per slot */
  char** slot;     /* per rank: its slot (counters, then data) in this process's mapping */
  int64_t next;    /* all-reduces started */
  int64_t oldest;  /* the oldest whose region is still held */
  size_t head;     /* where the next region goes, unless it has to wrap */
  entry live[kMaxLive]; /* all-reduce k is live[k % kMaxLive] while oldest <= k < next */
};

static int64_t* counter(const shared_window* w, int rank, int which) {
  return (int64_t*)(w->slot[rank] + which * kLine);
}
static char* data(const shared_window* w, int rank, const entry* e) { return w->slot[rank] + kHeader + e->offset; }
static int64_t chunk_begin(const shared_window* w, const entry* e, int c) { return (int64_t)c * e->count / w->size; }

static void announce(shared_window* w, int which, int64_t value) {
  MPI_Win_sync(w->win);
  __atomic_store_n(counter(w, w->rank, which), value, __ATOMIC_RELEASE);
}

/* Whether every rank's counter `which` has passed all-reduce k. */
static int everyone_past(const shared_window* w, int which, int64_t k) {
  for (int q = 0; q < w->size; ++q)
    if (__atomic_load_n(counter(w, q, which), __ATOMIC_ACQUIRE) <= k) return 0;
  return 1;
}

static size_t round_up(int64_t bytes) { return ((size_t)bytes + kLine - 1) / kLine * kLine; }

/* The node's window, or NULL (the caller then frees node). */
static shared_window* allocate(MPI_Comm node, int size, size_t capacity) {
  MPI_Info info;
  MPI_Info_create(&info);
  MPI_Info_set(info, "alloc_shared_noncontig", "true"); /* each slot on its own pages */
  shared_window* w = (shared_window*)calloc(1, sizeof *w);
  char** slot = (char**)calloc((size_t)size, sizeof(char*));
  char* mine = NULL;
  int ok = w && slot, allocated = 0;
  if (ok) ok = allocated =
      MPI_Win_allocate_shared((MPI_Aint)(kHeader + capacity), 1, info, node, &mine, &w->win) == MPI_SUCCESS;
  MPI_Info_free(&info);
  for (int q = 0; ok && q < size; ++q) {
    MPI_Aint bytes = 0;
    int unit = 0;
    ok = MPI_Win_shared_query(w->win, q, &bytes, &unit, &slot[q]) == MPI_SUCCESS && bytes >= (MPI_Aint)kHeader;
  }
  int all_ok = 0;
  if (MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_LAND, node) != MPI_SUCCESS) all_ok = 0;
  if (!all_ok) {
    if (allocated) MPI_Win_free(&w->win);
    free(slot);
    free(w);
    return NULL;
  }
  memset(mine, 0, kHeader); /* the counters start at 0 */
  w->slot = slot;
  return w;
}

shared_window* shared_window_create(MPI_Comm comm, size_t capacity) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  MPI_Comm node;
  if (size < 2 || MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node) != MPI_SUCCESS)
    return NULL;
  int node_size = 0;
  MPI_Comm_size(node, &node_size);
  /* Every rank sees the same answer: all on one node, or each node smaller than comm. */
  if (node_size != size || capacity == 0) {
    MPI_Comm_free(&node);
    return NULL;
  }
  MPI_Comm_set_errhandler(node, MPI_ERRORS_RETURN);
  shared_window* w = allocate(node, size, capacity);
  if (!w) {
    MPI_Comm_free(&node);
    return NULL;
  }
  w->node = node;
  w->rank = rank;
  w->size = size;
  w->whole = size == 2;
  w->capacity = capacity;
  MPI_Win_lock_all(MPI_MODE_NOCHECK, w->win);
  MPI_Barrier(node); /* every slot's counters are zero before anyone reads them */
  return w;
}

void shared_window_free(shared_window* w) {
  if (!w) return;
  MPI_Win_unlock_all(w->win);
  MPI_Win_free(&w->win);
  MPI_Comm_free(&w->node);
  free(w->slot);
  free(w);
}

int shared_window_fits(const shared_window* w, int64_t bytes) {
  return w && bytes > 0 && round_up(bytes) <= w->capacity;
}

/* Where the next region of `bytes` goes: the same on every rank. */
static size_t next_offset(const shared_window* w, size_t bytes) {
  return w->head + bytes <= w->capacity ? w->head : 0;
}

int shared_window_has_room(shared_window* w, int64_t bytes) {
  while (w->oldest < w->next && everyone_past(w, kFinished, w->oldest)) ++w->oldest;
  if (w->next - w->oldest >= kMaxLive) return 0;
  size_t size = round_up(bytes), offset = next_offset(w, size);
  for (int64_t k = w->oldest; k < w->next; ++k) {
    const entry* e = &w->live[k % kMaxLive];
    if (offset < e->offset + e->bytes && e->offset < offset + size) return 0;
  }
  return 1;
}

int64_t shared_all_reduce_start(shared_window* w, void* buf, int64_t count, size_t elem, int32_t dtype, int32_t op) {
  int64_t k = w->next++;
  entry* e = &w->live[k % kMaxLive];
  e->buf = (char*)buf;
  e->count = count;
  e->elem = elem;
  e->dtype = dtype;
  e->op = op;
  e->bytes = round_up(count * (int64_t)elem);
  e->offset = next_offset(w, e->bytes);
  w->head = e->offset + e->bytes;
  /* The chunks that others reduce (all of them on 2 ranks), for them to read. */
  for (int c = 0; c < w->size; ++c) {
    if (c == w->rank && !w->whole) continue;
    size_t begin = (size_t)chunk_begin(w, e, c) * elem, end = (size_t)chunk_begin(w, e, c + 1) * elem;
    memcpy(data(w, w->rank, e) + begin, e->buf + begin, end - begin);
  }
  e->phase = kContributed;
  announce(w, kContributed, k + 1);
  return k;
}

/* This rank's chunk: its own values plus every other rank's, in rank order
 * after its own; the result also into its slot, for the others. */
static void reduce_mine(shared_window* w, const entry* e) {
  int64_t first = chunk_begin(w, e, w->rank), n = chunk_begin(w, e, w->rank + 1) - first;
  size_t at = (size_t)first * e->elem;
  int last = w->rank == w->size - 1 ? w->size - 2 : w->size - 1; /* the last rank added: a mean divides there */
  for (int q = 0; q < w->size && n > 0; ++q) {
    int32_t op = e->op == NABLA_REDUCE_MEAN && q != last ? NABLA_REDUCE_SUM : e->op;
    if (q != w->rank) nabla_mpi_reduce_into(e->buf + at, data(w, q, e) + at, n, e->dtype, op, 0, w->size);
  }
  memcpy(data(w, w->rank, e) + at, e->buf + at, (size_t)n * e->elem);
}

/* 2 ranks: the whole buffer, rank 0's values first (the same bits on both). */
static void reduce_whole(shared_window* w, const entry* e) {
  nabla_mpi_reduce_into(e->buf, data(w, 1 - w->rank, e), e->count, e->dtype, e->op, w->rank == 1, 2);
}

/* The other chunks' results, from the ranks that reduced them. */
static void gather_others(shared_window* w, const entry* e) {
  for (int c = 0; c < w->size; ++c) {
    if (c == w->rank) continue;
    size_t begin = (size_t)chunk_begin(w, e, c) * e->elem, end = (size_t)chunk_begin(w, e, c + 1) * e->elem;
    memcpy(e->buf + begin, data(w, c, e) + begin, end - begin);
  }
}

void shared_window_advance(shared_window* w) {
  if (!w) return;
  MPI_Win_sync(w->win);
  /* In start order: an all-reduce passes a phase only after the one before it. */
  int limit = kFinished;
  for (int64_t k = w->oldest; k < w->next && limit > kContributed; ++k) {
    entry* e = &w->live[k % kMaxLive];
    if (e->phase == kContributed && w->whole && limit == kFinished && everyone_past(w, kContributed, k)) {
      reduce_whole(w, e);
      e->phase = kFinished;
      announce(w, kFinished, k + 1);
    }
    if (e->phase == kContributed && !w->whole && everyone_past(w, kContributed, k)) {
      reduce_mine(w, e);
      e->phase = kReduced;
      announce(w, kReduced, k + 1);
    }
    if (e->phase == kReduced && limit == kFinished && everyone_past(w, kReduced, k)) {
      gather_others(w, e);
      e->phase = kFinished;
      announce(w, kFinished, k + 1);
    }
    if (e->phase < limit) limit = e->phase;
  }
}

int shared_window_done(const shared_window* w, int64_t number) {
  return number < w->oldest || w->live[number % kMaxLive].phase == kFinished;
}
