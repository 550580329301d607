// Data-parallel training across real processes: R ranks × batch 32 against
// one process × batch 32·R, after 20 SGD steps of an MLP, in f64 and f32;
// rank 0's parameters reaching every rank; mismatched steps refused.
#include <cmath>
#include <cstring>

#include <gtest/gtest.h>

#include "nabla/compiler/data_parallel.h"
#include "nabla/ir/builder.h"
#include "nabla/passes/data_parallel.h"
#include "nabla/runtime/error.h"
#include "tests/mpi/mpi_testing.h"

namespace nabla {
namespace {

using mpitest::comm;
using mpitest::rank;
using mpitest::size;

constexpr int64_t kFeatures = 16, kHidden = 32, kClasses = 10, kLocal = 32, kSteps = 20;

// @step(X, y, W1, b1, W2, b2) -> (loss, W1', b1', W2', b2'): cross-entropy (a
// mean over the batch) plus weight decay, SGD with rate 0.1.
void build_step(Module& m, DType t, int64_t batch, bool data_parallel) {
  Function& f = m.function("step");
  Value x = f.input("X", {t, {batch, kFeatures}});
  Value y = f.input("y", i32({batch}));
  std::vector<Value> p = {f.input("W1", {t, {kFeatures, kHidden}}), f.input("b1", {t, {kHidden}}),
                          f.input("W2", {t, {kHidden, kClasses}}), f.input("b2", {t, {kClasses}})};
  Value logits = matmul(relu(matmul(x, p[0]) + p[1]), p[2]) + p[3];
  Value loss = cross_entropy(logits, y) + 1e-3 * (sum(p[0] * p[0]) + sum(p[2] * p[2]));
  std::vector<Value> g = data_parallel ? data_parallel_grad(loss, p) : grad(loss, p);
  f.output(loss);
  for (size_t i = 0; i < p.size(); ++i) f.output(p[i] - 0.1 * g[i]);
}

// Example i of the synthetic data set.
double feature(int64_t i, int64_t j) { return std::sin(0.37 * static_cast<double>(i) + 0.11 * static_cast<double>(j)); }
int32_t label(int64_t i) { return static_cast<int32_t>((i * 7 + i / 3) % kClasses); }

// Rows [first, first + n) of the data set.
std::vector<Tensor> batch(DType t, int64_t first, int64_t n) {
  Tensor x(t, {n, kFeatures}), y(DType::i32, {n});
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < kFeatures; ++j) x.set(i * kFeatures + j, feature(first + i, j));
    y.set(i, label(first + i));
  }
  return {x, y};
}

std::vector<Tensor> initial_parameters(DType t) {
  std::vector<Tensor> p = {Tensor(t, {kFeatures, kHidden}), Tensor(t, {kHidden}), Tensor(t, {kHidden, kClasses}),
                           Tensor(t, {kClasses})};
  for (size_t k = 0; k < p.size(); ++k)
    for (int64_t i = 0; i < p[k].numel(); ++i) p[k].set(i, 0.3 * std::cos(1.7 * static_cast<double>(i) + static_cast<double>(k)));
  return p;
}

// 20 steps of `exe` on rows [step·global + offset, + local) of each global batch.
std::vector<Tensor> train(Executable& exe, DType t, int64_t global, int64_t offset, int64_t local) {
  std::vector<Tensor> p = initial_parameters(t);
  for (int64_t s = 0; s < kSteps; ++s) {
    std::vector<Tensor> in = batch(t, s * global + offset, local);
    in.insert(in.end(), p.begin(), p.end());
    std::vector<Tensor> out = exe.run(in);
    p.assign(out.begin() + 1, out.end());
  }
  return p;
}

// split_bytes: CompileOptions::collective_split_bytes of the ranks' step;
// shared_workspace: its workspace in nabla_mpi_shared_memory (the all-reduces
// in place, where there is shared memory).
void check_equivalence(DType t, double tolerance, int64_t split_bytes = CompileOptions{}.collective_split_bytes,
                       bool shared_workspace = false) {
  int64_t global = kLocal * size();
  Module dp, one;
  build_step(dp, t, kLocal, true);
  build_step(one, t, global, false);
  CompileOptions o;
  o.collective_split_bytes = split_bytes;
  if (split_bytes == 512) o.collective_bucket_bytes = 0;  // it would take every gradient of this small MLP
  Executable step = compile(dp, "step", o), reference = compile(one, "step");
  if (split_bytes == 512) {  // W1's gradient (4096 bytes) in 8 blocks, W2's (2560) in 5 (7 rows, the last 4), b1, b2
    EXPECT_EQ(step.stats().collectives.size(), 15u);
  }
  step.set_communicator(&comm());
  void* workspace = shared_workspace ? nabla_mpi_shared_memory(mpitest::mpi(), step.workspace_bytes()) : nullptr;
  if (workspace) step.set_workspace(workspace, step.workspace_bytes());
  check_same_program(comm(), step);
  std::vector<Tensor> got = train(step, t, global, rank() * kLocal, kLocal);
  std::vector<Tensor> want = train(reference, t, global, 0, global);
  for (size_t k = 0; k < got.size(); ++k) {
    double diff = 0, scale = 0;
    for (int64_t i = 0; i < got[k].numel(); ++i) {
      diff = std::max(diff, std::abs(got[k].get(i) - want[k].get(i)));
      scale = std::max(scale, std::abs(want[k].get(i)));
    }
    EXPECT_LE(diff, tolerance * scale) << "parameter " << k << " on rank " << rank();
  }
  std::vector<Tensor> rank0;  // every rank holds the same bits
  for (const Tensor& p : got) rank0.push_back(p.clone());
  broadcast_from_rank0(comm(), rank0);
  for (size_t k = 0; k < got.size(); ++k)
    EXPECT_EQ(std::memcmp(rank0[k].data(), got[k].data(), got[k].nbytes()), 0) << "parameter " << k;
}

TEST(DataParallel, RanksTimesBatchEqualOneProcessWithTheWholeBatchF64) { check_equivalence(DType::f64, 1e-12); }
TEST(DataParallel, RanksTimesBatchEqualOneProcessWithTheWholeBatchF32) { check_equivalence(DType::f32, 1e-5); }
// The weight gradients' products and all_reduces split into blocks of rows
// (split-collectives).
TEST(DataParallel, RanksTimesBatchEqualOneProcessWithSplitGradients) { check_equivalence(DType::f64, 1e-12, 512); }

// The step's workspace in shared memory: its gradients reduced in place.
TEST(DataParallel, RanksTimesBatchEqualOneProcessWithTheWorkspaceShared) {
  check_equivalence(DType::f64, 1e-12, CompileOptions{}.collective_split_bytes, true);
  check_equivalence(DType::f32, 1e-5, CompileOptions{}.collective_split_bytes, true);
}

TEST(DataParallel, EveryRankStartsFromRankZerosParameters) {
  std::vector<Tensor> p = {Tensor(DType::f32, {3}), Tensor(DType::f64, {2, 2})};
  for (Tensor& t : p)
    for (int64_t i = 0; i < t.numel(); ++i) t.set(i, 1.25 * static_cast<double>(i) - rank() * 100.0 - 0.5);
  broadcast_from_rank0(comm(), p);
  for (const Tensor& t : p)
    for (int64_t i = 0; i < t.numel(); ++i) EXPECT_EQ(t.get(i), 1.25 * static_cast<double>(i) - 0.5);
}

TEST(DataParallel, ShardsCoverTheDataInRankOrder) {
  Shard a = shard_of(10, 0, 3), b = shard_of(10, 1, 3), c = shard_of(10, 2, 3);
  EXPECT_EQ(a.begin, 0);
  EXPECT_EQ(a.end, 4);
  EXPECT_EQ(b.begin, 4);
  EXPECT_EQ(b.end, 7);
  EXPECT_EQ(c.begin, 7);
  EXPECT_EQ(c.end, 10);
}

TEST(DataParallel, RanksThatCompiledDifferentStepsAreRefused) {
  if (size() < 2) GTEST_SKIP() << "needs two ranks";
  Module m;
  build_step(m, DType::f32, rank() == 1 ? 16 : kLocal, true);  // rank 1 has another batch size
  Executable step = compile(m, "step");
  try {
    check_same_program(comm(), step);
    FAIL() << "the mismatch went unnoticed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("@step: rank 1 compiled a different step than rank 0 (hash "),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace nabla
