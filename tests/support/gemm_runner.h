#pragma once
// Compiles GEMM specs with the test JIT and runs them over their task ranges;
// for the GEMM tests and benchmarks.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nabla/compiler/gemm.h"
#include "tests/support/test_jit.h"

namespace nabla::testing {

using GemmFn = void (*)(const void* a, const void* b, void* c, const void* bias, const void* d,
                        void* scratch, int64_t task_begin, int64_t task_end);

struct CompiledGemm {
  GemmSpec spec;
  GemmPlan plan;
  GemmFn fn = nullptr;
};

// Emits every spec (targeting the JIT's host CPU) into one module and compiles it.
std::vector<CompiledGemm> compile_gemms(TestJit& jit, std::vector<GemmSpec> specs,
                                        const std::string& asm_path = "");

// Splits the tasks into `threads` contiguous ranges, each run on its own
// std::thread (the calling thread when threads == 1) with its own scratch.
void run_gemm(const CompiledGemm& g, const void* a, const void* b, void* c,
              const void* bias = nullptr, const void* d = nullptr, int threads = 1);

// 64-byte aligned, zeroed storage.
struct AlignedBuffer {
  explicit AlignedBuffer(size_t bytes);
  void* data() const { return ptr.get(); }
  std::unique_ptr<std::byte, void (*)(void*)> ptr;
};

}  // namespace nabla::testing
