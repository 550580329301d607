/* A C program that takes a sparse Hessian (or Jacobian) from a nablac object without
   nabla: the pattern from the generated header (SYMBOL_row_ptr, _col_idx),
   the values from the entry point. Prints "row col value" per nonzero, as a
   solver such as IPOPT would receive them (CSR; a Hessian's lower triangle).
   Built by tests/unit/aot_sparse_test.cpp with -include the header and
   -DENTRY=nabla_rosen_hessian -DPREFIX=NABLA_ROSEN_HESSIAN. */
#include <stdio.h>
#include <stdlib.h>

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)

int main(void) {
  double x[CAT(PREFIX, _PATTERN_COLS)];
  double values[CAT(PREFIX, _PATTERN_NNZ)];
  for (int i = 0; i < CAT(PREFIX, _PATTERN_COLS); ++i) x[i] = -1.0 + 0.17 * i;
  size_t bytes = CAT(PREFIX, _WORKSPACE_BYTES);
  size_t rounded = (bytes + NABLA_WORKSPACE_ALIGN - 1) / NABLA_WORKSPACE_ALIGN * NABLA_WORKSPACE_ALIGN;
  void* ws = bytes ? aligned_alloc(NABLA_WORKSPACE_ALIGN, rounded) : NULL;
  const void* in[1] = {x};
  void* out[1] = {values};
  nabla_context ctx = {0};
  if (ENTRY(in, out, ws, &ctx) != NABLA_OK) {
    fprintf(stderr, "status %d\n", (int)ctx.error.status);
    return 1;
  }
  for (int r = 0; r < CAT(PREFIX, _PATTERN_ROWS); ++r)
    for (int k = CAT(ENTRY, _row_ptr)[r]; k < CAT(ENTRY, _row_ptr)[r + 1]; ++k)
      printf("%d %d %.17g\n", r, (int)CAT(ENTRY, _col_idx)[k], values[k]);
  free(ws);
  return 0;
}
