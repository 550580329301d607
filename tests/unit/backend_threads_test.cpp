// Parallel kernels and the thread pool. Each kernel kind split across two
// threads (the split threshold lowered to one element so that small shapes
// split too) gives the interpreter's results bit for bit: tasks own disjoint
// outputs and never split a sum. One thread generates no parallel code.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "nabla/runtime/thread_pool.h"
#include "tests/support/backend_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using test::DiffBatch;
using test::split_everything;

void add_every_kernel_kind(DiffBatch& batch) {
  Value x = batch.input(f32({37, 45}));
  Value b = batch.input(f32({45}));
  Value w = batch.input(f32({45, 29}));
  Value l = batch.input(i32({37}));
  batch.result(exp(x), "elementwise");
  batch.result(relu(x + b) * 0.5, "fused");
  batch.result(sum(x * x, std::vector<int64_t>{1}), "fused row sums");
  batch.result(sum(x, std::vector<int64_t>{0}), "column sums");
  batch.result(max(x, std::vector<int64_t>{1}, true), "row max");
  batch.result(transpose(x), "transpose");
  batch.result(slice(x, {1, 2}, {36, 45}, {2, 3}), "slice");
  batch.result(broadcast_to(b, {6, 37, 45}), "broadcast_to");
  batch.result(matmul(x, w), "matmul");
  batch.result(matmul(w, x, true, true), "matmul transposed");
  batch.result(softmax(x, 1), "softmax");
  batch.result(log_softmax(x, 0), "log_softmax");
  batch.result(cast(l, DType::f64), "cast");
  Value rows = gather(x, l, 0);  // l is in [-4, 4]
  batch.result(rows, "gather");
  batch.result(scatter_add(x, l, rows * 2.0, 0), "scatter_add");
  batch.result(cumsum(x, 0, true), "cumsum");
  batch.result(argmin(x, 1), "argmin");
}

TEST(BackendThreads, EveryKernelKindSplitsExactly) {
  for (int threads : {2, 3}) {
    DiffBatch batch;
    add_every_kernel_kind(batch);
    Executable exe = compile(batch.f(), split_everything(threads));
    EXPECT_GE(exe.stats().num_parallel_kernels, 8) << threads << " threads";
    batch.check(301, split_everything(threads));
  }
}

// Sums over the outer axes into the innermost one split by blocks of result
// columns (compiler/lower_reduce.cpp, block_columns): the bias gradient of a
// layer, fused with its relu mask, and plain column sums of several widths.
TEST(BackendThreads, ColumnSumsSplitByColumnBlocksExactly) {
  for (int threads : {2, 3}) {
    DiffBatch batch;
    Value x = batch.input(f32({300, 512}));
    Value g = batch.input(f32({300, 512}));
    Value y = batch.input(f32({5, 7, 48}));
    Value masked = relu(x) * g;
    batch.result(masked, "relu mask");
    batch.result(sum(masked, std::vector<int64_t>{0}), "bias gradient");
    batch.result(sum(x, std::vector<int64_t>{0}), "column sums");
    batch.result(sum(y, std::vector<int64_t>{0, 1}), "column sums of a 3-d tensor");
    batch.result(mean(y, std::vector<int64_t>{0, 1}, true), "column means, keepdims");
    batch.result(max(x, std::vector<int64_t>{0}), "column max");
    Executable exe = compile(batch.f(), test::test_options(threads));
    EXPECT_GE(exe.stats().num_parallel_kernels, 2) << threads << " threads";
    batch.check(304, test::test_options(threads));
    batch.check(305, split_everything(threads));
  }
}

TEST(BackendThreads, OneThreadGeneratesNoParallelCode) {
  DiffBatch batch;
  add_every_kernel_kind(batch);
  Executable exe = compile(batch.f(), split_everything(1));
  EXPECT_EQ(exe.stats().num_parallel_kernels, 0);
  EXPECT_EQ(exe.num_threads(), 1);
  batch.check(302, split_everything(1));
}

// Compile threads: the module is split into parts optimized and compiled
// side by side; every part count gives the interpreter's results, and the
// dumps hold every part (the entry, and the kernels' code).
TEST(BackendThreads, CompileThreadsSplitTheModule) {
  std::string dir = std::string(NABLA_BINARY_DIR) + "/compile_threads_test";
  std::filesystem::create_directories(dir);
  for (int parts : {1, 2, 3, 64}) {
    DiffBatch batch;
    add_every_kernel_kind(batch);
    CompileOptions o = test::test_options(1);
    o.compile_threads = parts;
    batch.check(303, o);
    o.dump_llvm_ir = dir + "/f.ll";
    o.dump_asm = dir + "/f.s";
    Executable exe = compile(batch.f(), o);
    std::string ir = test::read_file(o.dump_llvm_ir), assembly = test::read_file(o.dump_asm);
    EXPECT_NE(ir.find("i32 @nabla_" + batch.f().name() + "("), std::string::npos) << parts << " parts";
    EXPECT_NE(ir.find("@k0."), std::string::npos) << parts << " parts";
    EXPECT_NE(assembly.find("nabla_" + batch.f().name() + ":"), std::string::npos) << parts << " parts";
    // Split, the kernels are hidden externals, so that the parts link.
    EXPECT_EQ(ir.find("define hidden") != std::string::npos, parts > 1) << parts << " parts";
    // Every part holds its own copy of the small constants, so their loads fold.
    EXPECT_EQ(ir.find("external hidden unnamed_addr constant"), std::string::npos) << parts << " parts";
  }
}

// A small module stays one part whatever compile_threads says (the kernels
// next to the entry; no second thread).
TEST(BackendThreads, SmallModulesAreOnePart) {
  Module m;
  Function& f = m.add_function("square");
  Value x = f.input("x", f64());
  f.output(x * x);
  CompileOptions o = test::test_options(1);
  o.compile_threads = 2;
  o.dump_llvm_ir = std::string(NABLA_BINARY_DIR) + "/small_module_one_part.ll";
  Executable exe = compile(m, "square", o);
  EXPECT_EQ(test::read_file(o.dump_llvm_ir).find("define hidden"), std::string::npos);
  std::vector<Tensor> in = {Tensor::scalar(DType::f64, 3.0)};
  EXPECT_EQ(exe.run(in)[0].get(0), 9.0);
}

TEST(BackendThreads, ConcurrentExecutablesShareThePool) {
  DiffBatch batch;
  add_every_kernel_kind(batch);
  Executable a = compile(batch.f(), split_everything(2));
  Executable b = compile(batch.f(), split_everything(2));
  std::vector<Tensor> in = batch.random_inputs(303);
  std::vector<Tensor> want = a.run(in);
  std::atomic<int> mismatches{0};
  auto work = [&](Executable& e) {
    for (int i = 0; i < 20; ++i) {
      std::vector<Tensor> got = e.run(in);
      for (size_t k = 0; k < got.size(); ++k) mismatches += !got[k].same_as(want[k]);
    }
  };
  std::thread t1(work, std::ref(a)), t2(work, std::ref(b));
  t1.join();
  t2.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(ThreadPool, CoversEveryIndexOnce) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.num_threads(), threads);
    for (int64_t n : {0, 1, 2, 3, 7, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      auto task = [](void* data, int64_t begin, int64_t end) {
        auto* h = static_cast<std::vector<std::atomic<int>>*>(data);
        for (int64_t i = begin; i < end; ++i) ++(*h)[static_cast<size_t>(i)];
      };
      pool.parallel_for(n, task, &hits);
      for (int64_t i = 0; i < n; ++i) EXPECT_EQ(hits[static_cast<size_t>(i)].load(), 1) << i;
    }
  }
}

TEST(ThreadPool, OneThreadRunsInline) {
  ThreadPool pool(1);
  std::thread::id caller = std::this_thread::get_id(), ran;
  struct Data {
    std::thread::id* ran;
    int64_t begin = -1, end = -1;
  } d{&ran};
  pool.parallel_for(10, [](void* p, int64_t b, int64_t e) {
    auto* d = static_cast<Data*>(p);
    *d->ran = std::this_thread::get_id();
    d->begin = b;
    d->end = e;
  }, &d);
  EXPECT_EQ(ran, caller);
  EXPECT_EQ(d.begin, 0);
  EXPECT_EQ(d.end, 10);
}

TEST(ThreadPool, LoopsFromSeveralThreadsAtOnce) {
  ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  auto task = [](void* p, int64_t b, int64_t e) { *static_cast<std::atomic<int64_t>*>(p) += e - b; };
  auto caller = [&] {
    for (int i = 0; i < 200; ++i) pool.parallel_for(100, task, &total);
  };
  std::thread t1(caller), t2(caller);
  t1.join();
  t2.join();
  EXPECT_EQ(total.load(), 2 * 200 * 100);
}

}  // namespace
}  // namespace nabla
