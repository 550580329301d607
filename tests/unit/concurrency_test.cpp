// One compiled function called from 8 threads at once, each thread on inputs
// of its own, many times: an Executable (serial code, and code with parallel
// loops sharing one thread pool) and the object nablac makes (its entry
// called with a workspace per thread). Every result must hold the
// interpreter's bits for that thread's inputs.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "nabla/compiler/aot.h"
#include "nabla/compiler/compile.h"
#include "nabla/compiler/jit.h"
#include "nabla/ir/interpreter.h"
#include "nabla/ir/parser.h"
#include "nabla/ir/random_inputs.h"
#include "nabla/passes/build_grad.h"
#include "tests/support/backend_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

constexpr int kThreads = 8;
constexpr int kRuns = 12;

// Runs body(t) for t in [0, kThreads) on as many threads, released together.
void on_threads(const std::function<void(int)>& body) {
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      body(t);
    });
  for (std::thread& th : threads) th.join();
}

// The MLP training step (matmuls, fused elementwise regions, a reduction,
// cross-entropy) with its gradient expanded; per thread its inputs and the
// interpreter's results on them.
struct Workload {
  Module module;
  Function* f = nullptr;
  std::vector<std::vector<Tensor>> inputs, expected;
};

std::unique_ptr<Workload> mlp_step_workload() {
  auto w = std::make_unique<Workload>();
  w->module = parse_file(std::string(NABLA_SOURCE_DIR) + "/examples/mlp_step.nabla");
  w->f = w->module.find("mlp_step");
  build_grad(*w->f);
  for (int t = 0; t < kThreads; ++t) {
    w->inputs.push_back(random_inputs(*w->f, 100 + t));
    w->expected.push_back(interpret(*w->f, w->inputs.back()));
  }
  return w;
}

void expect_bits(const std::vector<Tensor>& got, const std::vector<Tensor>& want, int thread, int run) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(test::compare_bits(got[i], want[i]), "") << "thread " << thread << ", run " << run << ", result " << i;
}

void check_executable(int num_threads) {
  std::unique_ptr<Workload> w = mlp_step_workload();
  CompileOptions options = test::split_everything(num_threads);
  Executable exe = compile(*w->f, options);
  on_threads([&](int t) {
    for (int r = 0; r < kRuns; ++r) expect_bits(exe.run(w->inputs[t]), w->expected[t], t, r);
  });
}

TEST(Concurrency, ExecutableRunsOnEightThreadsAtOnce) { check_executable(1); }

// With parallel loops: the threads' calls share one pool.
TEST(Concurrency, ParallelExecutableRunsOnEightThreadsAtOnce) { check_executable(2); }

// The object nablac writes (compile_ahead_of_time, for this machine's
// generic CPU), linked in-process, its entry called by each thread with a
// workspace of its own.
TEST(Concurrency, NablacObjectRunsOnEightThreadsAtOnce) {
  std::unique_ptr<Workload> w = mlp_step_workload();
  Module copy = parse_file(std::string(NABLA_SOURCE_DIR) + "/examples/mlp_step.nabla");
  AotModule aot = compile_ahead_of_time(copy, AotOptions{});
  TargetSpec host;
  host.cpu = "native";
  Jit jit(host);
  auto entry = reinterpret_cast<nabla_entry_fn>(jit.add_objects({aot.object_bytes()}, "nabla_mlp_step"));
  size_t workspace_bytes = aot.functions()[0].workspace_bytes;
  on_threads([&](int t) {
    size_t rounded = (workspace_bytes + NABLA_WORKSPACE_ALIGN - 1) / NABLA_WORKSPACE_ALIGN * NABLA_WORKSPACE_ALIGN;
    std::unique_ptr<void, void (*)(void*)> workspace(std::aligned_alloc(NABLA_WORKSPACE_ALIGN, rounded), std::free);
    std::vector<const void*> in;
    for (const Tensor& x : w->inputs[t]) in.push_back(x.data());
    for (int r = 0; r < kRuns; ++r) {
      std::vector<Tensor> out;
      std::vector<void*> out_ptrs;
      for (const Tensor& e : w->expected[t]) {
        out.emplace_back(e.dtype(), e.shape());
        out_ptrs.push_back(out.back().data());
      }
      nabla_context ctx{};
      ASSERT_EQ(entry(in.data(), out_ptrs.data(), workspace.get(), &ctx), NABLA_OK);
      expect_bits(out, w->expected[t], t, r);
    }
  });
}

}  // namespace
}  // namespace nabla
