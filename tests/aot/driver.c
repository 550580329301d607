/* A C program that runs any function compiled by nablac, linked against the
 * generated object alone (and libm):
 *   cc -std=c11 -include MODEL.h -DSIGNATURE=nabla_NAME_signature driver.c MODEL.o -lm
 *   ./a.out IN0.npy IN1.npy ... OUTDIR      writes OUTDIR/out0.npy, out1.npy, ...
 */
#include <stdio.h>
#include <stdlib.h>

#include "npy_min.h"

static void* alloc64(int64_t bytes) {
  size_t n = (size_t)((bytes + 63) / 64 * 64);
  return aligned_alloc(64, n ? n : 64);
}

int main(int argc, char** argv) {
  const nabla_signature* sig = SIGNATURE();
  if (argc != sig->num_inputs + 2) {
    fprintf(stderr, "usage: %s %d input files, then an output directory\n", argv[0], sig->num_inputs);
    return 2;
  }
  void** in = (void**)calloc((size_t)sig->num_inputs + 1, sizeof(void*));
  void** out = (void**)calloc((size_t)sig->num_outputs + 1, sizeof(void*));
  for (int i = 0; i < sig->num_inputs; ++i) {
    in[i] = alloc64(sig->inputs[i].bytes);
    if (npy_read(argv[1 + i], sig->inputs[i].dtype, in[i], sig->inputs[i].bytes)) return 1;
  }
  for (int i = 0; i < sig->num_outputs; ++i) out[i] = alloc64(sig->outputs[i].bytes);
  void* workspace = sig->workspace_bytes ? alloc64(sig->workspace_bytes) : NULL;
  nabla_context ctx = {0};
  int32_t status = sig->entry((const void* const*)in, out, workspace, &ctx);
  if (status != NABLA_OK) {
    char message[256];
    nabla_error_message(&ctx.error, message, sizeof message);
    fprintf(stderr, "%s\n", message);
    return 1;
  }
  for (int i = 0; i < sig->num_outputs; ++i) {
    char path[4096];
    snprintf(path, sizeof path, "%s/out%d.npy", argv[argc - 1], i);
    const nabla_tensor_info* t = &sig->outputs[i];
    if (npy_write(path, t->dtype, t->rank, t->dims, out[i], t->bytes)) return 1;
  }
  return 0;
}
