#include "tests/support/gemm_runner.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace nabla::testing {

AlignedBuffer::AlignedBuffer(size_t bytes)
    : ptr(static_cast<std::byte*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64)), std::free) {
  std::memset(ptr.get(), 0, (bytes + 63) / 64 * 64 + 64);
}

std::vector<CompiledGemm> compile_gemms(TestJit& jit, std::vector<GemmSpec> specs,
                                        const std::string& asm_path) {
  static std::atomic<int> modules{0};
  std::string prefix = "gemm" + std::to_string(modules++) + "_";
  auto module = jit.new_module(prefix);
  std::vector<CompiledGemm> out;
  for (size_t i = 0; i < specs.size(); ++i) {
    specs[i].target_cpu = jit.cpu();
    specs[i].target_features = jit.features();
    std::string name = prefix + std::to_string(i);
    emit_gemm(*module, specs[i], name);
    add_external_wrapper(*module, name, name + "_entry");
    out.push_back({specs[i], plan_gemm(specs[i]), nullptr});
  }
  // One module: compile once, then look every entry up.
  if (specs.empty()) return out;
  out[0].fn = reinterpret_cast<GemmFn>(jit.compile(std::move(module), prefix + "0_entry", asm_path));
  for (size_t i = 1; i < out.size(); ++i)
    out[i].fn = reinterpret_cast<GemmFn>(jit.lookup(prefix + std::to_string(i) + "_entry"));
  return out;
}

void run_gemm(const CompiledGemm& g, const void* a, const void* b, void* c, const void* bias,
              const void* d, int threads) {
  int64_t n = g.plan.num_tasks;
  auto part = [&](int t) {
    AlignedBuffer scratch(static_cast<size_t>(g.plan.scratch_bytes));
    int64_t begin = n * t / threads, end = n * (t + 1) / threads;
    g.fn(a, b, c, bias, d, scratch.data(), begin, end);
  };
  if (threads == 1) return part(0);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(part, t);
  for (auto& th : pool) th.join();
}

}  // namespace nabla::testing
