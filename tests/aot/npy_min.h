/* Minimal .npy reading and writing for the AOT test drivers, in plain C so
 * that the drivers need nothing but the generated header and object. */
#ifndef NABLA_TESTS_NPY_MIN_H
#define NABLA_TESTS_NPY_MIN_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char* npy_descr(const char* dtype) {
  if (strcmp(dtype, "f32") == 0) return "<f4";
  if (strcmp(dtype, "f64") == 0) return "<f8";
  if (strcmp(dtype, "i32") == 0) return "<i4";
  if (strcmp(dtype, "i64") == 0) return "<i8";
  return "|b1";
}

/* Reads the data of a C-ordered .npy file of exactly `bytes` bytes with the
 * dtype's descr into `out`. Returns 0, or prints why not and returns 1. */
static int npy_read(const char* path, const char* dtype, void* out, int64_t bytes) {
  FILE* f = fopen(path, "rb");
  unsigned char head[12];
  if (!f || fread(head, 1, 10, f) != 10 || memcmp(head, "\x93NUMPY", 6) != 0) {
    fprintf(stderr, "%s: not an .npy file\n", path);
    if (f) fclose(f);
    return 1;
  }
  uint32_t len = head[8] | (head[9] << 8);
  if (head[6] >= 2) {
    if (fread(head + 10, 1, 2, f) != 2) { fclose(f); return 1; }
    len |= ((uint32_t)head[10] << 16) | ((uint32_t)head[11] << 24);
  }
  char* dict = (char*)calloc(len + 1, 1);
  int ok = dict && fread(dict, 1, len, f) == len && strstr(dict, npy_descr(dtype)) &&
           !strstr(dict, "True") && fread(out, 1, (size_t)bytes, f) == (size_t)bytes && fgetc(f) == EOF;
  free(dict);
  fclose(f);
  if (!ok) fprintf(stderr, "%s: expected %lld bytes of %s in C order\n", path, (long long)bytes, dtype);
  return ok ? 0 : 1;
}

/* Writes a version 1.0 .npy file. Returns 0 or 1. */
static int npy_write(const char* path, const char* dtype, int32_t rank, const int64_t* dims,
                     const void* data, int64_t bytes) {
  char dict[256], shape[160] = "";
  int32_t i;
  for (i = 0; i < rank; ++i)
    snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%lld,%s", (long long)dims[i],
             i + 1 < rank ? " " : "");
  if (rank > 1) shape[strlen(shape) - 1] = '\0'; /* (2, 3) but (4,) */
  int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                   npy_descr(dtype), shape);
  int total = 10 + n + 1, pad = (64 - total % 64) % 64;
  unsigned char head[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};
  head[8] = (unsigned char)((n + pad + 1) & 0xff);
  head[9] = (unsigned char)((n + pad + 1) >> 8);
  FILE* f = fopen(path, "wb");
  if (!f) { fprintf(stderr, "%s: cannot write\n", path); return 1; }
  fwrite(head, 1, 10, f);
  fwrite(dict, 1, (size_t)n, f);
  for (i = 0; i < pad; ++i) fputc(' ', f);
  fputc('\n', f);
  fwrite(data, 1, (size_t)bytes, f);
  return fclose(f) == 0 ? 0 : 1;
}

#endif
