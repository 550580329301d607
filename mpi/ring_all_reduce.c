/* nabla_mpi's own non-blocking all-reduce (ring_all_reduce.h). */
#include "ring_all_reduce.h"

#include <stdlib.h>
#include <string.h>

struct ring_all_reduce {
  char* buf;       /* the caller's buffer, reduced in place */
  char* scratch;   /* one chunk: what the left neighbour sends while reducing */
  int64_t count;   /* elements in buf */
  size_t elem;     /* bytes per element */
  MPI_Datatype type;
  int32_t dtype, op;
  MPI_Comm comm;
  int tag, rank, size;
  int step;        /* 0 .. 2 (size - 1); the last means done */
  MPI_Request req[2]; /* this step's send and receive */
};

/* Chunk c's first element: the chunks split buf evenly, the larger ones last. */
static int64_t chunk_begin(const ring_all_reduce* r, int c) { return (int64_t)c * r->count / r->size; }
static int64_t chunk_count(const ring_all_reduce* r, int c) { return chunk_begin(r, c + 1) - chunk_begin(r, c); }
static int wrap(const ring_all_reduce* r, int c) { return ((c % r->size) + r->size) % r->size; }

#define NABLA_RING_REDUCE(T)                                              \
  do {                                                                    \
    T* d = (T*)dst;                                                       \
    const T* s = (const T*)src;                                           \
    if (op == NABLA_REDUCE_MAX)                                           \
      for (int64_t i = 0; i < n; ++i) d[i] = s[i] > d[i] ? s[i] : d[i];   \
    else if (op == NABLA_REDUCE_MIN)                                      \
      for (int64_t i = 0; i < n; ++i) d[i] = s[i] < d[i] ? s[i] : d[i];   \
    else                                                                  \
      for (int64_t i = 0; i < n; ++i) d[i] += s[i];                       \
  } while (0)

/* dst[i] = dst[i] op src[i] for n elements. */
static void reduce_into(void* dst, const void* src, int64_t n, int32_t dtype, int32_t op) {
  switch (dtype) {
    case NABLA_DTYPE_F32: NABLA_RING_REDUCE(float); break;
    case NABLA_DTYPE_F64: NABLA_RING_REDUCE(double); break;
    case NABLA_DTYPE_I32: NABLA_RING_REDUCE(int32_t); break;
    default: NABLA_RING_REDUCE(int64_t); break;
  }
}

/* Posts step `step`'s messages. Steps 0 .. size-2 scatter the reduction:
 * rank r sends chunk r - k to the right and receives chunk r - k - 1 from the
 * left into scratch (then reduces it into buf), so after them rank r holds
 * chunk r + 1 reduced over all ranks. Steps size-1 .. 2 size-3 gather: rank r
 * sends chunk r + 1 - k and receives chunk r - k straight into buf. */
static int post(ring_all_reduce* r) {
  int right = wrap(r, r->rank + 1), left = wrap(r, r->rank - 1);
  int scatter = r->step < r->size - 1;
  int k = scatter ? r->step : r->step - (r->size - 1);
  int send = wrap(r, scatter ? r->rank - k : r->rank + 1 - k);
  int recv = wrap(r, scatter ? r->rank - k - 1 : r->rank - k);
  char* into = scatter ? r->scratch : r->buf + (size_t)chunk_begin(r, recv) * r->elem;
  int rc = MPI_Irecv(into, (int)chunk_count(r, recv), r->type, left, r->tag, r->comm, &r->req[1]);
  if (rc != MPI_SUCCESS) return rc;
  return MPI_Isend(r->buf + (size_t)chunk_begin(r, send) * r->elem, (int)chunk_count(r, send), r->type, right, r->tag,
                   r->comm, &r->req[0]);
}

int ring_all_reduce_start(ring_all_reduce** out, void* buf, int64_t count, MPI_Datatype type, int32_t dtype,
                          int32_t op, MPI_Comm comm, int tag) {
  *out = NULL;
  ring_all_reduce* r = (ring_all_reduce*)calloc(1, sizeof *r);
  if (!r) return MPI_ERR_NO_MEM;
  int type_size = 0;
  MPI_Type_size(type, &type_size);
  MPI_Comm_rank(comm, &r->rank);
  MPI_Comm_size(comm, &r->size);
  r->buf = (char*)buf;
  r->count = count;
  r->elem = (size_t)type_size;
  r->type = type;
  r->dtype = dtype;
  r->op = op;
  r->comm = comm;
  r->tag = tag;
  r->req[0] = r->req[1] = MPI_REQUEST_NULL;
  *out = r;
  if (r->size == 1 || count == 0) {  /* nothing to exchange */
    r->step = 2 * (r->size - 1);
    return MPI_SUCCESS;
  }
  r->scratch = (char*)malloc((size_t)chunk_count(r, r->size - 1) * r->elem);
  if (!r->scratch) {
    free(r);
    *out = NULL;
    return MPI_ERR_NO_MEM;
  }
  return post(r);
}

int ring_all_reduce_advance(ring_all_reduce* r, int* done) {
  int last = 2 * (r->size - 1);
  while (r->step < last) {
    int flag = 0;
    int rc = MPI_Testall(2, r->req, &flag, MPI_STATUSES_IGNORE);
    if (rc != MPI_SUCCESS) return rc;
    if (!flag) break;
    if (r->step < r->size - 1) {
      int c = wrap(r, r->rank - r->step - 1);
      reduce_into(r->buf + (size_t)chunk_begin(r, c) * r->elem, r->scratch, chunk_count(r, c), r->dtype, r->op);
    }
    if (++r->step < last && (rc = post(r)) != MPI_SUCCESS) return rc;
  }
  *done = r->step == last;
  return MPI_SUCCESS;
}

void ring_all_reduce_free(ring_all_reduce* r) {
  if (!r) return;
  free(r->scratch);
  free(r);
}
