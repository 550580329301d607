// A C++ program that runs any function compiled by nablac through the
// generated wrapper class (which owns its buffers), linked against the object
// alone:
//   c++ -std=c++17 -include MODEL.h -DCLASS=ns::NAME driver.cpp MODEL.o -lm
//   ./a.out IN0.npy IN1.npy ... OUTDIR      writes OUTDIR/out0.npy, ...
#include <cstdio>
#include <string>

#include "npy_min.h"

int main(int argc, char** argv) {
  const nabla_signature* sig = CLASS::signature();
  if (argc != sig->num_inputs + 2) return 2;
  CLASS fn;
  for (int i = 0; i < sig->num_inputs; ++i)
    if (npy_read(argv[1 + i], sig->inputs[i].dtype, fn.arg(i), sig->inputs[i].bytes)) return 1;
  if (fn.run() != NABLA_OK) {
    char message[256];
    nabla_error_message(&fn.error(), message, sizeof message);
    std::fprintf(stderr, "%s\n", message);
    return 1;
  }
  for (int i = 0; i < sig->num_outputs; ++i) {
    std::string path = std::string(argv[argc - 1]) + "/out" + std::to_string(i) + ".npy";
    const nabla_tensor_info& t = sig->outputs[i];
    if (npy_write(path.c_str(), t.dtype, t.rank, t.dims, fn.result(i), t.bytes)) return 1;
  }
  return 0;
}
