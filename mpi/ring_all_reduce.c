/* nabla_mpi's own non-blocking all-reduce (ring_all_reduce.h). */
#include "ring_all_reduce.h"

#include <stdlib.h>
#include <string.h>

#include "nabla/runtime/abi.h"
#include "reduce_kernels.h"

struct ring_all_reduce {
  char* buf;       /* the caller's buffer, reduced in place */
  char* scratch;   /* one chunk: what the left neighbour sends while reducing */
  size_t scratch_bytes; /* scratch's capacity (kept when a spare is reused) */
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

int ring_all_reduce_start(ring_all_reduce** out, ring_all_reduce* spare, void* buf, int64_t count, MPI_Datatype type,
                          int32_t dtype, int32_t op, MPI_Comm comm, int tag) {
  *out = NULL;
  ring_all_reduce* r = spare ? spare : (ring_all_reduce*)calloc(1, sizeof *r);
  if (!r) return MPI_ERR_NO_MEM;
  char* scratch = r->scratch;
  size_t scratch_bytes = r->scratch_bytes;
  memset(r, 0, sizeof *r);
  r->scratch = scratch;
  r->scratch_bytes = scratch_bytes;
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
  size_t need = (size_t)chunk_count(r, r->size - 1) * r->elem;
  if (need > r->scratch_bytes) {
    free(r->scratch);
    r->scratch_bytes = 0;
    r->scratch = (char*)malloc(need);
    if (!r->scratch) {
      free(r);
      *out = NULL;
      return MPI_ERR_NO_MEM;
    }
    r->scratch_bytes = need;
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
      /* A mean divides in the last step's adding only: then the chunk holds every rank's sum. */
      int c = wrap(r, r->rank - r->step - 1), op = r->op;
      if (op == NABLA_REDUCE_MEAN && r->step < r->size - 2) op = NABLA_REDUCE_SUM;
      nabla_mpi_reduce_into(r->buf + (size_t)chunk_begin(r, c) * r->elem, r->scratch, chunk_count(r, c), r->dtype, op,
                            0, r->size);
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
