/* nabla_mpi: nabla_communicator over MPI (nabla_mpi.h). */
#define _POSIX_C_SOURCE 200809L
#include "nabla/mpi/nabla_mpi.h"

#include "reduce_kernels.h"
#include "ring_all_reduce.h"
#include "shared_all_reduce.h"

#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { kPingTag = 7 };
static const double kPingInterval = 0.1; /* seconds between pings while waiting */
static const int kPingValue = 1;          /* what a ping carries (never written) */
static const size_t kSharedBytes = (size_t)8 << 20; /* the shared window's bytes per rank, by default */

typedef struct request {
  MPI_Request mpi;       /* NABLA_MPI_ALL_REDUCE_LIBRARY: MPI_Iallreduce's */
  ring_all_reduce* ring; /* NABLA_MPI_ALL_REDUCE_RING */
  int shared;            /* NABLA_MPI_ALL_REDUCE_SHARED: shared_number is the window's */
  int64_t shared_number;
  int done;
  int64_t number; /* position among this communicator's collectives */
  void* divide;   /* a library mean: its buffer, divided by the ranks once MPI's sum is done */
  int64_t count;
  int32_t dtype;
  struct request* next; /* the list of started collectives */
} request;

struct nabla_mpi {
  nabla_communicator table;
  MPI_Comm comm;    /* the collectives */
  MPI_Comm control; /* liveness pings */
  double timeout;
  int32_t algorithm; /* NABLA_MPI_ALL_REDUCE_* */
  int tag_ub;        /* the ring's messages are tagged by collective number modulo this */
  int failed;
  char message[512];
  double* heard;     /* per rank: MPI_Wtime when it was last heard from */
  int64_t started;   /* collectives started so far */
  request* active;   /* started and not yet waited for */
  ring_all_reduce* spares[16]; /* finished rings, reused by the next starts (no malloc per step) */
  int num_spares;
  shared_window* shared; /* NULL: the ranks are not all on one node (or no window) */
};

static int32_t fail(nabla_mpi* m, const char* format, ...) {
  if (!m->failed) {
    int n = snprintf(m->message, sizeof m->message, "rank %d: ", (int)m->table.rank);
    va_list args;
    va_start(args, format);
    vsnprintf(m->message + n, sizeof m->message - (size_t)n, format, args);
    va_end(args);
  }
  m->failed = 1;
  return NABLA_COLLECTIVE_FAILED;
}

static const char* mpi_error_text(int code, char* buf) {
  int len = 0;
  if (MPI_Error_string(code, buf, &len) != MPI_SUCCESS) snprintf(buf, MPI_MAX_ERROR_STRING, "MPI error %d", code);
  return buf;
}

/* Notes who pinged us. */
static void take_pings(nabla_mpi* m) {
  double now = MPI_Wtime();
  for (;;) {
    int flag = 0, value = 0;
    MPI_Status st;
    if (MPI_Iprobe(MPI_ANY_SOURCE, kPingTag, m->control, &flag, &st) != MPI_SUCCESS || !flag) break;
    MPI_Recv(&value, 1, MPI_INT, st.MPI_SOURCE, kPingTag, m->control, MPI_STATUS_IGNORE);
    m->heard[st.MPI_SOURCE] = now;
  }
}

/* Pings every other rank and notes who pinged us. */
static void ping(nabla_mpi* m) {
  for (int r = 0; r < m->table.size; ++r) {
    if (r == m->table.rank) continue;
    MPI_Request req;
    if (MPI_Isend(&kPingValue, 1, MPI_INT, r, kPingTag, m->control, &req) == MPI_SUCCESS) MPI_Request_free(&req);
  }
  take_pings(m);
}

/* The message for a wait that timed out: the ranks not heard from lately. */
static int32_t timed_out(nabla_mpi* m, const char* what, double waited) {
  char silent[256] = "";
  size_t used = 0;
  int count = 0;
  double now = MPI_Wtime(), longest = 0;
  /* A rank that waits pings every kPingInterval: one silent for ten of them
   * (or half the timeout, if shorter) is dead or stuck in a long computation.
   * (Not the whole timeout: a rank that dies during this wait was heard from
   * after it began.) */
  double silence = 10 * kPingInterval < m->timeout / 2 ? 10 * kPingInterval : m->timeout / 2;
  for (int r = 0; r < m->table.size; ++r) {
    double quiet = now - m->heard[r];
    if (r == m->table.rank || quiet < silence) continue;
    if (quiet > longest) longest = quiet;
    if (used < sizeof silent - 16) used += (size_t)snprintf(silent + used, sizeof silent - used, "%s%d", count ? ", " : "", r);
    ++count;
  }
  if (count == 0)
    return fail(m, "%s did not complete in %.1f s, though every rank answers: the ranks do not run the same "
                   "collectives (different programs?)", what, waited);
  return fail(m, "%s did not complete in %.1f s: rank%s %s %s not been heard from for %.1f s (dead or stuck)", what,
              waited, count > 1 ? "s" : "", silent, count > 1 ? "have" : "has", longest);
}

/* Advances every started all-reduce: the ring's next steps, MPI's progress
 * engine. Returns the first failure's MPI error code. */
static int advance_all(nabla_mpi* m) {
  shared_window_advance(m->shared);
  for (request* r = m->active; r; r = r->next) {
    if (r->done) continue;
    if (r->shared) {
      r->done = shared_window_done(m->shared, r->shared_number);
      continue;
    }
    int rc = r->ring ? ring_all_reduce_advance(r->ring, &r->done) : MPI_Test(&r->mpi, &r->done, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) return rc;
    if (r->done && r->divide) nabla_mpi_divide(r->divide, r->count, r->dtype, m->table.size);
    if (r->done) r->divide = NULL;
  }
  return MPI_SUCCESS;
}

/* What a wait waits for: sets *done, returns an MPI error code. */
typedef int (*ready_fn)(nabla_mpi* m, void* arg, int* done);

static int request_ready(nabla_mpi* m, void* arg, int* done) {
  (void)m;
  *done = ((request*)arg)->done;
  return MPI_SUCCESS;
}
static int mpi_request_ready(nabla_mpi* m, void* arg, int* done) {
  (void)m;
  return MPI_Test((MPI_Request*)arg, done, MPI_STATUS_IGNORE);
}
static int shared_room_ready(nabla_mpi* m, void* arg, int* done) {
  *done = shared_window_has_room(m->shared, *(const int64_t*)arg);
  return MPI_SUCCESS;
}

/* Waits until ready(arg) says done (a started all-reduce, a broadcast or
 * barrier's MPI request, room in the shared window): polls, advancing every
 * started all-reduce (a rank may wait for one whose partner waits for
 * another), pings the others while waiting, gives up after the timeout. */
static int32_t wait_until(nabla_mpi* m, ready_fn ready, void* arg, const char* what) {
  char text[MPI_MAX_ERROR_STRING];
  double begin = MPI_Wtime(), next_ping = begin + kPingInterval;
  for (long polls = 0;; ++polls) {
    int done = 0;
    int rc = advance_all(m);
    if (rc == MPI_SUCCESS) rc = ready(m, arg, &done);
    if (rc != MPI_SUCCESS) return fail(m, "%s failed: %s", what, mpi_error_text(rc, text));
    if (done) return NABLA_OK;
    if (polls < 64) continue;
    double now = MPI_Wtime();
    if (now >= next_ping) {
      ping(m);
      next_ping = now + kPingInterval;
    }
    if (m->timeout > 0 && now - begin > m->timeout) return timed_out(m, what, now - begin);
    if (now - begin > 0.01) {
      struct timespec pause = {0, 50000};
      nanosleep(&pause, NULL);
    } else {
      sched_yield();
    }
  }
}

static MPI_Datatype mpi_type(int32_t dtype) {
  switch (dtype) {
    case NABLA_DTYPE_F32: return MPI_FLOAT;
    case NABLA_DTYPE_F64: return MPI_DOUBLE;
    case NABLA_DTYPE_I32: return MPI_INT32_T;
    case NABLA_DTYPE_I64: return MPI_INT64_T;
    default: return MPI_DATATYPE_NULL;
  }
}

/* Starts r through the shared window (which fits its bytes), first waiting
 * for its region to be free. */
static int32_t start_shared(nabla_mpi* m, request* r, void* buf, int64_t count, int32_t dtype, int32_t op,
                            int elem) {
  int64_t bytes = count * elem;
  if (!shared_window_has_room(m->shared, bytes)) {
    char what[64];
    snprintf(what, sizeof what, "all_reduce #%lld", (long long)r->number);
    int32_t status = wait_until(m, shared_room_ready, &bytes, what);
    if (status != NABLA_OK) return status;
  }
  r->shared = 1;
  r->shared_number = shared_all_reduce_start(m->shared, buf, count, (size_t)elem, dtype, op);
  shared_window_advance(m->shared);
  r->done = shared_window_done(m->shared, r->shared_number);
  return NABLA_OK;
}

static int32_t start(void* state, void* buf, int64_t count, int32_t dtype, int32_t op, void** out) {
  nabla_mpi* m = (nabla_mpi*)state;
  char text[MPI_MAX_ERROR_STRING];
  *out = NULL;
  if (m->failed) return NABLA_COLLECTIVE_FAILED;
  MPI_Datatype type = mpi_type(dtype);
  MPI_Op mpi_op = op == NABLA_REDUCE_MAX ? MPI_MAX : op == NABLA_REDUCE_MIN ? MPI_MIN : MPI_SUM;
  if (type == MPI_DATATYPE_NULL) return fail(m, "all_reduce: unknown dtype code %d", (int)dtype);
  if (op < NABLA_REDUCE_SUM || op > NABLA_REDUCE_MEAN) return fail(m, "all_reduce: unknown reduction code %d", (int)op);
  if (op == NABLA_REDUCE_MEAN && dtype != NABLA_DTYPE_F32 && dtype != NABLA_DTYPE_F64)
    return fail(m, "all_reduce: op mean takes f32 or f64 (dtype code %d)", (int)dtype);
  if (count > INT_MAX) return fail(m, "all_reduce of %lld elements: MPI counts stop at %d", (long long)count, INT_MAX);
  int elem = 0;
  MPI_Type_size(type, &elem);
  request* r = (request*)calloc(1, sizeof *r);
  if (!r) return fail(m, "all_reduce: out of memory");
  r->number = m->started++;
  r->mpi = MPI_REQUEST_NULL;
  int rc = MPI_SUCCESS;
  if (m->algorithm == NABLA_MPI_ALL_REDUCE_SHARED && shared_window_fits(m->shared, count * elem)) {
    int32_t status = start_shared(m, r, buf, count, dtype, op, elem);
    if (status != NABLA_OK) {
      free(r);
      return status;
    }
  } else if (m->algorithm == NABLA_MPI_ALL_REDUCE_LIBRARY) {
    rc = MPI_Iallreduce(MPI_IN_PLACE, buf, (int)count, type, mpi_op, m->comm, &r->mpi);
    if (op == NABLA_REDUCE_MEAN) r->divide = buf, r->count = count, r->dtype = dtype;
  } else {
    ring_all_reduce* spare = m->num_spares > 0 ? m->spares[--m->num_spares] : NULL;
    rc = ring_all_reduce_start(&r->ring, spare, buf, count, type, dtype, op, m->comm, (int)(r->number % m->tag_ub));
    if (rc == MPI_SUCCESS) rc = ring_all_reduce_advance(r->ring, &r->done);
  }
  if (rc != MPI_SUCCESS) {
    long long number = (long long)r->number;
    if (r->ring) {  /* a failed ring stays listed: MPI may still own its buffers */
      r->next = m->active;
      m->active = r;
    } else {
      free(r);
    }
    return fail(m, "all_reduce #%lld failed to start: %s", number, mpi_error_text(rc, text));
  }
  r->next = m->active;
  m->active = r;
  *out = r;
  return NABLA_OK;
}

static void forget(nabla_mpi* m, request* r) {
  for (request** p = &m->active; *p; p = &(*p)->next)
    if (*p == r) {
      *p = r->next;
      break;
    }
  int spare = r->ring && r->done && m->num_spares < (int)(sizeof m->spares / sizeof m->spares[0]);
  if (spare) m->spares[m->num_spares++] = r->ring;  /* done: MPI holds none of its buffers */
  else ring_all_reduce_free(r->ring);
  free(r);
}

static int32_t wait(void* state, void* handle) {
  nabla_mpi* m = (nabla_mpi*)state;
  request* r = (request*)handle;
  if (!r) return fail(m, "all_reduce: wait without a started collective");
  if (m->failed) {
    forget(m, r);
    return NABLA_COLLECTIVE_FAILED;
  }
  char what[64];
  snprintf(what, sizeof what, "all_reduce #%lld", (long long)r->number);
  int32_t status = wait_until(m, request_ready, r, what);
  if (status == NABLA_OK) forget(m, r);  /* a failed one stays: MPI may still own its buffer */
  return status;
}

static void progress(void* state) {
  nabla_mpi* m = (nabla_mpi*)state;
  char text[MPI_MAX_ERROR_STRING];
  if (!m->active || m->failed) return;
  int rc = advance_all(m);  /* a failure is reported by the next wait */
  if (rc != MPI_SUCCESS) fail(m, "all_reduce failed: %s", mpi_error_text(rc, text));
}

static const char* error_message(void* state) { return ((nabla_mpi*)state)->message; }

/* The shared window's bytes per rank: NABLA_MPI_SHARED_BYTES (0: no window),
 * else kSharedBytes; the least over the ranks, so that all agree. */
static size_t shared_bytes(MPI_Comm comm) {
  const char* text = getenv("NABLA_MPI_SHARED_BYTES");
  char* end = NULL;
  long long asked = text && *text ? strtoll(text, &end, 10) : (long long)kSharedBytes;
  if (asked < 0 || (end && *end)) asked = 0;
  long long bytes = asked;
  if (MPI_Allreduce(&asked, &bytes, 1, MPI_LONG_LONG, MPI_MIN, comm) != MPI_SUCCESS) bytes = 0;
  return (size_t)bytes;
}

nabla_mpi* nabla_mpi_create(MPI_Comm comm, double timeout_seconds) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) return NULL;
  nabla_mpi* m = (nabla_mpi*)calloc(1, sizeof *m);
  if (!m) return NULL;
  if (MPI_Comm_dup(comm, &m->comm) != MPI_SUCCESS) {
    free(m);
    return NULL;
  }
  MPI_Comm_set_errhandler(m->comm, MPI_ERRORS_RETURN);
  MPI_Comm_dup(m->comm, &m->control);
  MPI_Comm_set_errhandler(m->control, MPI_ERRORS_RETURN);
  int rank = 0, size = 1;
  MPI_Comm_rank(m->comm, &rank);
  MPI_Comm_size(m->comm, &size);
  m->heard = (double*)calloc((size_t)size, sizeof(double));
  double now = MPI_Wtime();
  for (int r = 0; r < size; ++r) m->heard[r] = now;
  m->timeout = timeout_seconds;
  int* tag_ub = NULL;
  int has_tag_ub = 0;
  MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &tag_ub, &has_tag_ub);
  m->tag_ub = has_tag_ub && *tag_ub > 0 ? *tag_ub : 32767;  /* MPI promises at least 32767 */
  nabla_communicator table = {m, rank, size, start, wait, progress, error_message};
  m->table = table;
  m->shared = shared_window_create(m->comm, shared_bytes(m->comm));
  m->algorithm = m->shared ? NABLA_MPI_ALL_REDUCE_SHARED : NABLA_MPI_ALL_REDUCE_RING;
  return m;
}

const nabla_communicator* nabla_mpi_communicator(nabla_mpi* m) { return &m->table; }

int32_t nabla_mpi_set_all_reduce(nabla_mpi* m, int32_t algorithm) {
  int known = algorithm == NABLA_MPI_ALL_REDUCE_RING || algorithm == NABLA_MPI_ALL_REDUCE_LIBRARY ||
              (algorithm == NABLA_MPI_ALL_REDUCE_SHARED && m->shared);
  if (!known || m->active) return NABLA_COLLECTIVE_FAILED;
  m->algorithm = algorithm;
  return NABLA_OK;
}

int32_t nabla_mpi_all_reduce(const nabla_mpi* m) { return m->algorithm; }

void* nabla_mpi_shared_memory(nabla_mpi* m, int64_t bytes) {
  return m && bytes > 0 ? shared_window_attach(m->shared, (size_t)bytes) : NULL;
}

int32_t nabla_mpi_broadcast(nabla_mpi* m, void* buf, int64_t bytes, int32_t root) {
  char text[MPI_MAX_ERROR_STRING];
  if (m->failed) return NABLA_COLLECTIVE_FAILED;
  if (bytes > INT_MAX) return fail(m, "broadcast of %lld bytes: MPI counts stop at %d", (long long)bytes, INT_MAX);
  MPI_Request req;
  int rc = MPI_Ibcast(buf, (int)bytes, MPI_BYTE, root, m->comm, &req);
  if (rc != MPI_SUCCESS) return fail(m, "broadcast failed to start: %s", mpi_error_text(rc, text));
  return wait_until(m, mpi_request_ready, &req, "broadcast");
}

int32_t nabla_mpi_barrier(nabla_mpi* m) {
  char text[MPI_MAX_ERROR_STRING];
  if (m->failed) return NABLA_COLLECTIVE_FAILED;
  MPI_Request req;
  int rc = MPI_Ibarrier(m->comm, &req);
  if (rc != MPI_SUCCESS) return fail(m, "barrier failed to start: %s", mpi_error_text(rc, text));
  return wait_until(m, mpi_request_ready, &req, "barrier");
}

const char* nabla_mpi_error(nabla_mpi* m) { return m->message; }
int nabla_mpi_failed(nabla_mpi* m) { return m->failed; }

void nabla_mpi_abort(nabla_mpi* m, int code) {
  fflush(stdout);
  fflush(stderr);
  MPI_Abort(m ? m->comm : MPI_COMM_WORLD, code);
}

void nabla_mpi_destroy(nabla_mpi* m) {
  if (!m) return;
  if (!m->failed) {
    /* Everyone is done pinging once all have passed the barrier; take in what arrived. */
    if (nabla_mpi_barrier(m) == NABLA_OK) take_pings(m);
    while (m->active) forget(m, m->active);
    shared_window_free(m->shared);
    MPI_Comm_free(&m->control);
    MPI_Comm_free(&m->comm);
  }
  while (m->num_spares > 0) ring_all_reduce_free(m->spares[--m->num_spares]);
  free(m->heard);
  free(m);
}
