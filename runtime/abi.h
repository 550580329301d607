/* The kernel ABI: how a compiled nabla function is called, the same for the
 * JIT (compiler/compile.h) and for objects made by the offline compiler. Plain
 * C, no LLVM and no C++ needed to use it. docs/backend.md describes it.
 *
 * A compiled function NAME is one C entry:
 *
 *   int32_t NAME(const void* const* inputs, void* const* outputs,
 *                void* workspace, nabla_context* ctx);
 *
 *   inputs     one pointer per function input, in order: dense, C-ordered
 *              elements of the input's dtype and shape (bool: one byte, 0 or 1),
 *              aligned to the element size;
 *   outputs    one pointer per function result, likewise, written by the call;
 *              an output must not overlap an input or another output;
 *   workspace  NABLA_WORKSPACE_ALIGN-aligned scratch memory of the function's
 *              workspace size (NULL when that size is 0); the call keeps
 *              nothing in it between calls;
 *   ctx        NULL, or a context: a thread pool for parallel loops, room for
 *              error details, and the communicator of collective ops.
 *
 * The return value is NABLA_OK (0), or a status below when the input data make
 * the computation impossible (a label or an index out of range). Then
 * ctx->error (when ctx is not NULL) says which op failed and on what value
 * (nabla_error_message words it), and the outputs hold unspecified values. Shapes and dtypes are not checked by the entry: they are
 * static, and the caller passes buffers of the declared sizes.
 */
#ifndef NABLA_RUNTIME_ABI_H
#define NABLA_RUNTIME_ABI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NABLA_ABI_VERSION 3
#define NABLA_WORKSPACE_ALIGN 64

/* Statuses returned by an entry; nabla_error_message words each. */
enum {
  NABLA_OK = 0,
  NABLA_LABEL_OUT_OF_RANGE = 1, /* cross_entropy / one_hot: a label outside [0, bound) */
  NABLA_INDEX_OUT_OF_RANGE = 2, /* gather / scatter_add: an index outside [-bound, bound) */
  NABLA_COLLECTIVE_FAILED = 3,  /* all_reduce: the communicator failed (a rank died, a timeout) */
  NABLA_TRIP_COUNT_EXCEEDED = 4, /* while: the condition still held after max_trip_count steps */
  NABLA_TRIP_COUNT_OUT_OF_RANGE = 5 /* scan: a run-time trip count (dynamic_length) outside [0, length] */
};

/* Details of a failed call: which op failed on which value. For
 * NABLA_COLLECTIVE_FAILED, op is "all_reduce", index the collective's position
 * among the function's collectives, and the communicator's error_message says
 * why. */
typedef struct nabla_error_info {
  int32_t status;  /* the status the entry returned */
  int32_t node;    /* position of the failing node in the compiled function's body */
  const char* op;  /* the op's name, e.g. "cross_entropy" (static storage) */
  int64_t value;   /* the bad label or index */
  int64_t index;   /* its flat position in the labels or indices tensor */
  int64_t bound;   /* the class count, the depth, or the size of the indexed axis */
} nabla_error_info;

/* A task: runs the iterations [begin, end) of a parallel loop. */
typedef void (*nabla_task_fn)(void* data, int64_t begin, int64_t end);

/* Runs task(data, b, e) over a partition of [0, n) into contiguous ranges,
 * possibly on several threads at once, and returns when all have finished.
 * Calling task(data, 0, n) is a valid (single-threaded) implementation. */
typedef void (*nabla_parallel_for_fn)(void* pool, int64_t n, nabla_task_fn task, void* data);

/* ---- Collectives (docs/distributed.md) ----
 * A compiled function that holds all_reduce ops calls them through a
 * communicator the caller puts into ctx->comm: a table of C functions, so the
 * generated code needs no MPI. A NULL ctx or ctx->comm means one process, where
 * an all-reduce is the identity. nabla provides a single-process table
 * (runtime/communicator.h) and an MPI one (the nabla_mpi library, mpi/nabla_mpi.h). */

/* Element types and reductions of a collective. NABLA_REDUCE_MEAN (ABI
 * version 3; f32 and f64 only) is the sum divided by the number of ranks:
 * every element rounded as (sum in the dtype) / (dtype) size, which the
 * communicator may fold into its last pass over the buffer. */
enum { NABLA_DTYPE_F32 = 0, NABLA_DTYPE_F64 = 1, NABLA_DTYPE_I32 = 2, NABLA_DTYPE_I64 = 3 };
enum { NABLA_REDUCE_SUM = 0, NABLA_REDUCE_MAX = 1, NABLA_REDUCE_MIN = 2, NABLA_REDUCE_MEAN = 3 };

typedef struct nabla_communicator {
  void* state;   /* passed to every function below */
  int32_t rank;  /* this process, in [0, size) */
  int32_t size;  /* the number of processes */
  /* Starts reducing `count` elements of `dtype` at `buf` over all ranks, in
   * place, and stores a handle for wait in *request. Every rank starts the same
   * collectives (count, dtype, op) in the same order. buf is neither read nor
   * written by the caller until wait returns. Returns NABLA_OK or
   * NABLA_COLLECTIVE_FAILED. */
  int32_t (*all_reduce_start)(void* state, void* buf, int64_t count, int32_t dtype, int32_t op,
                              void** request);
  /* Waits for a started collective; buf then holds the result. Returns NABLA_OK
   * or NABLA_COLLECTIVE_FAILED (also when it gives up after a timeout). */
  int32_t (*wait)(void* state, void* request);
  /* Lets started collectives advance; called between kernels while any is in
   * flight. May be NULL. */
  void (*progress)(void* state);
  /* What went wrong, after NABLA_COLLECTIVE_FAILED (e.g. "rank 1 has not
   * answered for 10 s"); storage owned by the communicator. May be NULL. */
  const char* (*error_message)(void* state);
} nabla_communicator;

typedef struct nabla_context {
  nabla_parallel_for_fn parallel_for; /* NULL: every loop runs on the calling thread */
  void* pool;                         /* passed to parallel_for */
  nabla_error_info error;             /* written when the call fails */
  const nabla_communicator* comm;     /* NULL: one process (collectives are identities) */
} nabla_context;

/* The message of a failed call, as the reference interpreter words it, into
 * buf (snprintf's contract: at most size bytes, NUL-terminated; returns the
 * length the whole message needs):
 *   NABLA_LABEL_OUT_OF_RANGE  "<op>: label <value> at index <index> is outside [0, <bound>)"
 *   NABLA_INDEX_OUT_OF_RANGE  "<op>: index <value> at position <index> is outside [-<bound>, <bound>)"
 *   NABLA_COLLECTIVE_FAILED   "all_reduce: collective <index> failed" (the communicator's
 *                             error_message says why)
 *   NABLA_TRIP_COUNT_EXCEEDED "while: still running after max_trip_count = <bound> steps"
 *   NABLA_TRIP_COUNT_OUT_OF_RANGE "scan: trip count <value> is outside [0, <bound>]" */
static inline int nabla_error_message(const nabla_error_info* e, char* buf, size_t size) {
  const char* op = e->op ? e->op : "?";
  long long v = (long long)e->value, i = (long long)e->index, n = (long long)e->bound;
  switch (e->status) {
    case NABLA_LABEL_OUT_OF_RANGE:
      return snprintf(buf, size, "%s: label %lld at index %lld is outside [0, %lld)", op, v, i, n);
    case NABLA_INDEX_OUT_OF_RANGE:
      return snprintf(buf, size, "%s: index %lld at position %lld is outside [%lld, %lld)", op, v, i, -n, n);
    case NABLA_COLLECTIVE_FAILED:
      return snprintf(buf, size, "%s: collective %lld failed", op, i);
    case NABLA_TRIP_COUNT_EXCEEDED:
      return snprintf(buf, size, "%s: still running after max_trip_count = %lld steps", op, n);
    case NABLA_TRIP_COUNT_OUT_OF_RANGE:
      return snprintf(buf, size, "%s: trip count %lld is outside [0, %lld]", op, v, n);
    default:
      return snprintf(buf, size, "%s: failed with status %d", op, (int)e->status);
  }
}

typedef int32_t (*nabla_entry_fn)(const void* const* inputs, void* const* outputs,
                                  void* workspace, nabla_context* ctx);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* NABLA_RUNTIME_ABI_H */
