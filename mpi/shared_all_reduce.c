/* nabla_mpi's shared-memory all-reduce (shared_all_reduce.h). */
#include "shared_all_reduce.h"

#include <stdlib.h>
#include <string.h>

#include "nabla/runtime/abi.h"
#include "reduce_kernels.h"

enum {
  kLine = 64,            /* a cache line: each counter on its own, regions aligned to it */
  kCounters = 4 * kLine, /* a slot's counters, then its locations, then its data */
  kMaxLive = 64,         /* all-reduces whose regions are held at once */
  kMaxAreas = 16,        /* shared_window_attach's areas */
  kPage = 4096           /* where an area starts */
};

/* Where a rank's values of an all-reduce are for the others to read: its
 * region of its slot (area -1: copied there), or its own buffer, `offset`
 * bytes into its part of area `area` (in place: no copy). A slot holds one
 * per live all-reduce after its counters, written before "contributed". */
typedef struct location {
  int64_t area, offset;
} location;

enum { kHeader = kCounters + (kMaxLive * sizeof(location) + kLine - 1) / kLine * kLine };

/* A window of shared_window_attach: per rank, its part in this process's mapping. */
typedef struct area {
  MPI_Win win;
  char** base;
  size_t bytes; /* this rank's part */
} area;

/* A slot's counters, each written by its rank only: how many all-reduces it
 * has contributed to, reduced its chunk of, and finished. */
enum { kContributed = 0, kReduced = 1, kFinished = 2 };

typedef struct entry {
  char* buf;   /* the caller's buffer */
  int64_t number;
  int64_t count;
  size_t elem, offset, bytes; /* its region: [offset, offset + bytes) of every slot's data */
  int32_t dtype, op;
  int phase;   /* the counters it has passed here: kContributed .. kFinished */
  int in_place; /* buf is in an area: the others read and write it there until their "reduced" */
} entry;

struct shared_window {
  MPI_Comm node;   /* comm's ranks, as one node's */
  MPI_Win win;
  int rank, size;
  size_t capacity; /* data bytes per slot */
  char** slot;     /* per rank: its slot (counters, then data) in this process's mapping */
  int64_t next;    /* all-reduces started */
  int64_t oldest;  /* the oldest whose region is still held */
  size_t head;     /* where the next region goes, unless it has to wrap */
  entry live[kMaxLive]; /* all-reduce k is live[k % kMaxLive] while oldest <= k < next */
  area areas[kMaxAreas];
  int num_areas;
};

static int64_t* counter(const shared_window* w, int rank, int which) {
  return (int64_t*)(w->slot[rank] + which * kLine);
}
static location* published(const shared_window* w, int rank, int64_t k) {
  return (location*)(w->slot[rank] + kCounters) + k % kMaxLive;
}
static char* data(const shared_window* w, int rank, const entry* e) { return w->slot[rank] + kHeader + e->offset; }
/* Where rank q's values of e are (read after q's "contributed"). */
static const char* source(const shared_window* w, int q, const entry* e) {
  const location* l = published(w, q, e->number);
  return l->area < 0 ? data(w, q, e) : w->areas[l->area].base[q] + l->offset;
}
/* Where rank q's values of e are, for the rank that reduces a chunk to write
 * the chunk's result (after q's "contributed", before its own "reduced"). */
static char* destination(const shared_window* w, int q, const entry* e) { return (char*)source(w, q, e); }
static int64_t chunk_begin(const shared_window* w, const entry* e, int c) { return (int64_t)c * e->count / w->size; }

/* MPI's rule for load/store access to shared windows, and a full memory barrier. */
static void sync_all(shared_window* w) {
  MPI_Win_sync(w->win);
  for (int a = 0; a < w->num_areas; ++a) MPI_Win_sync(w->areas[a].win);
}

static void announce(shared_window* w, int which, int64_t value) {
  sync_all(w);
  __atomic_store_n(counter(w, w->rank, which), value, __ATOMIC_RELEASE);
}

/* Whether every rank's counter `which` has passed all-reduce k. */
static int everyone_past(const shared_window* w, int which, int64_t k) {
  for (int q = 0; q < w->size; ++q)
    if (__atomic_load_n(counter(w, q, which), __ATOMIC_ACQUIRE) <= k) return 0;
  return 1;
}

static size_t round_up(int64_t bytes) { return ((size_t)bytes + kLine - 1) / kLine * kLine; }

/* Collective over node: a shared window of `bytes` per rank, each rank's part
 * on its own pages, base[q] rank q's part in this process's mapping; *mine
 * this rank's. 1 when every rank got its part (else nothing stays allocated). */
static int allocate_parts(MPI_Comm node, int size, size_t bytes, MPI_Win* win, char** base, char** mine) {
  MPI_Info info;
  MPI_Info_create(&info);
  MPI_Info_set(info, "alloc_shared_noncontig", "true");
  int ok = MPI_Win_allocate_shared((MPI_Aint)bytes, 1, info, node, mine, win) == MPI_SUCCESS;
  int allocated = ok;
  MPI_Info_free(&info);
  for (int q = 0; ok && q < size; ++q) {
    MPI_Aint got = 0;
    int unit = 0;
    ok = MPI_Win_shared_query(*win, q, &got, &unit, &base[q]) == MPI_SUCCESS && got >= (MPI_Aint)bytes;
  }
  int all_ok = 0;
  if (MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_LAND, node) != MPI_SUCCESS) all_ok = 0;
  if (!all_ok && allocated) MPI_Win_free(win);
  return all_ok;
}

/* The node's window, or NULL (the caller then frees node). */
static shared_window* allocate(MPI_Comm node, int size, size_t capacity) {
  shared_window* w = (shared_window*)calloc(1, sizeof *w);
  char** slot = (char**)calloc((size_t)size, sizeof(char*));
  char* mine = NULL;
  int ok = w && slot;
  /* Every rank takes part in the allocation's collective calls. */
  if (MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_LAND, node) != MPI_SUCCESS) ok = 0;
  if (!ok || !allocate_parts(node, size, kHeader + capacity, &w->win, slot, &mine)) {
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
  w->capacity = capacity;
  MPI_Win_lock_all(MPI_MODE_NOCHECK, w->win);
  MPI_Barrier(node); /* every slot's counters are zero before anyone reads them */
  return w;
}

void* shared_window_attach(shared_window* w, size_t bytes) {
  if (!w || bytes == 0 || w->num_areas == kMaxAreas) return NULL; /* the same on every rank */
  area* a = &w->areas[w->num_areas];
  a->base = (char**)calloc((size_t)w->size, sizeof(char*));
  int ok = a->base != NULL;
  char* mine = NULL;
  if (MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_LAND, w->node) != MPI_SUCCESS) ok = 0;
  if (!ok || !allocate_parts(w->node, w->size, bytes + kPage, &a->win, a->base, &mine)) {
    free(a->base);
    a->base = NULL;
    return NULL;
  }
  for (int q = 0; q < w->size; ++q) /* MPI's parts need not start on a page */
    a->base[q] += (kPage - (uintptr_t)a->base[q] % kPage) % kPage;
  a->bytes = bytes;
  MPI_Win_lock_all(MPI_MODE_NOCHECK, a->win);
  ++w->num_areas;
  return a->base[w->rank];
}

void shared_window_free(shared_window* w) {
  if (!w) return;
  for (int a = w->num_areas - 1; a >= 0; --a) {
    MPI_Win_unlock_all(w->areas[a].win);
    MPI_Win_free(&w->areas[a].win);
    free(w->areas[a].base);
  }
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

/* buf's place in one of this rank's areas, or area -1. */
static location find_area(const shared_window* w, const char* buf, size_t bytes) {
  location l = {-1, 0};
  for (int a = 0; a < w->num_areas; ++a) {
    const char* base = w->areas[a].base[w->rank];
    if (buf >= base && buf + bytes <= base + w->areas[a].bytes) {
      l.area = a;
      l.offset = buf - base;
    }
  }
  return l;
}

int64_t shared_all_reduce_start(shared_window* w, void* buf, int64_t count, size_t elem, int32_t dtype, int32_t op) {
  int64_t k = w->next++;
  entry* e = &w->live[k % kMaxLive];
  e->buf = (char*)buf;
  e->number = k;
  e->count = count;
  e->elem = elem;
  e->dtype = dtype;
  e->op = op;
  e->bytes = round_up(count * (int64_t)elem);
  e->offset = next_offset(w, e->bytes);
  w->head = e->offset + e->bytes;
  location l = find_area(w, e->buf, (size_t)count * elem);
  e->in_place = l.area >= 0;
  *published(w, w->rank, k) = l;
  /* Copied: the chunks that others reduce (on 2 ranks all of it: the other
   * rank may add the whole buffer, when neither is in place). */
  for (int c = 0; c < w->size && !e->in_place; ++c) {
    if (c == w->rank && w->size > 2) continue;
    size_t begin = (size_t)chunk_begin(w, e, c) * elem, end = (size_t)chunk_begin(w, e, c + 1) * elem;
    memcpy(data(w, w->rank, e) + begin, e->buf + begin, end - begin);
  }
  e->phase = kContributed;
  announce(w, kContributed, k + 1);
  return k;
}

/* 2 ranks, neither in place: each adds the whole buffer (one synchronization). */
static int reduces_whole(const shared_window* w, const entry* e) {
  return w->size == 2 && published(w, 0, e->number)->area < 0 && published(w, 1, e->number)->area < 0;
}

/* This rank's chunk: its own values plus every other rank's, in rank order
 * after its own; the result also into every other rank's values (its slot's
 * region or, in place, its buffer), so that no rank reads this rank's buffer
 * once it has announced "reduced". On 2 ranks in one pass. */
static void reduce_mine(shared_window* w, const entry* e) {
  int64_t first = chunk_begin(w, e, w->rank), n = chunk_begin(w, e, w->rank + 1) - first;
  size_t at = (size_t)first * e->elem;
  if (n == 0) return;
  if (w->size == 2) {
    nabla_mpi_reduce_both(e->buf + at, destination(w, 1 - w->rank, e) + at, n, e->dtype, e->op, 2);
    return;
  }
  int last = w->rank == w->size - 1 ? w->size - 2 : w->size - 1; /* the last rank added: a mean divides there */
  for (int q = 0; q < w->size; ++q) {
    int32_t op = e->op == NABLA_REDUCE_MEAN && q != last ? NABLA_REDUCE_SUM : e->op;
    if (q != w->rank) nabla_mpi_reduce_into(e->buf + at, source(w, q, e) + at, n, e->dtype, op, 0, w->size);
  }
  for (int q = 0; q < w->size; ++q)
    if (q != w->rank) memcpy(destination(w, q, e) + at, e->buf + at, (size_t)n * e->elem);
}

/* 2 ranks: the whole buffer, rank 0's values first (the same bits on both). */
static void reduce_whole(shared_window* w, const entry* e) {
  nabla_mpi_reduce_into(e->buf, data(w, 1 - w->rank, e), e->count, e->dtype, e->op, w->rank == 1, 2);
}

/* The other chunks' results, which their reducers wrote where this rank's
 * values are: nothing to copy in place, else from its slot's region. */
static void gather_others(shared_window* w, const entry* e) {
  for (int c = 0; c < w->size && !e->in_place; ++c) {
    if (c == w->rank) continue;
    size_t begin = (size_t)chunk_begin(w, e, c) * e->elem, end = (size_t)chunk_begin(w, e, c + 1) * e->elem;
    memcpy(e->buf + begin, data(w, w->rank, e) + begin, end - begin);
  }
}

void shared_window_advance(shared_window* w) {
  if (!w) return;
  sync_all(w);
  /* In start order: an all-reduce passes a phase only after the one before it. */
  int limit = kFinished;
  for (int64_t k = w->oldest; k < w->next && limit > kContributed; ++k) {
    entry* e = &w->live[k % kMaxLive];
    if (e->phase == kContributed && everyone_past(w, kContributed, k)) {
      if (!reduces_whole(w, e)) {
        reduce_mine(w, e);
        e->phase = kReduced;
        announce(w, kReduced, k + 1);
      } else if (limit == kFinished) {
        reduce_whole(w, e);
        e->phase = kFinished;
        announce(w, kFinished, k + 1);
      }
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
  /* Every rank has written its chunk's result here and no longer reads buf. */
  return number < w->oldest || w->live[number % kMaxLive].phase == kFinished;
}
