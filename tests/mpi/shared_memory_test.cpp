// All-reduces of buffers in nabla_mpi_shared_memory (reduced in place: each
// rank adds its chunk and reads the others' from their buffers), on 1, 2 and
// 3 ranks and the ring fallback (where there is no shared memory and the
// buffers are ordinary): hand-computed results for every dtype and
// reduction, counts that do not split evenly, one rank in shared memory and
// the others not, the same bits on every rank; and a data-parallel step whose
// workspace is in shared memory against one process with the whole batch.
#include <cmath>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "nabla/compiler/compile.h"
#include "nabla/ir/builder.h"
#include "nabla/runtime/error.h"
#include "tests/mpi/mpi_testing.h"

namespace nabla {
namespace {

using mpitest::comm;
using mpitest::mpi;
using mpitest::rank;
using mpitest::size;

// Rank r's element i: exact binary fractions (sums in any order are exact),
// or, with `inexact`, values whose sums round.
double value(int r, int64_t i, bool inexact) {
  return inexact ? std::sin(0.7 * static_cast<double>(i) + 1.3 * r) : 0.5 * (r + 1) - 0.25 * static_cast<double>(i % 9);
}

struct Case {
  int32_t dtype;
  int32_t op;
  size_t elem;
};

void set(const Case& c, char* at, double v) {
  switch (c.dtype) {
    case NABLA_DTYPE_F32: { float x = static_cast<float>(v); std::memcpy(at, &x, 4); break; }
    case NABLA_DTYPE_F64: std::memcpy(at, &v, 8); break;
    case NABLA_DTYPE_I32: { auto x = static_cast<int32_t>(std::lround(4 * v)); std::memcpy(at, &x, 4); break; }
    default: { auto x = static_cast<int64_t>(std::lround(4 * v)); std::memcpy(at, &x, 8); break; }
  }
}

double get(const Case& c, const char* at) {
  switch (c.dtype) {
    case NABLA_DTYPE_F32: { float x; std::memcpy(&x, at, 4); return x; }
    case NABLA_DTYPE_F64: { double x; std::memcpy(&x, at, 8); return x; }
    case NABLA_DTYPE_I32: { int32_t x; std::memcpy(&x, at, 4); return x; }
    default: { int64_t x; std::memcpy(&x, at, 8); return static_cast<double>(x); }
  }
}

// What element i of case c must be: the reduction of every rank's value, as
// stored (an integer dtype holds 4 v rounded).
double expected(const Case& c, int64_t i) {
  std::vector<char> one(c.elem);
  double acc = 0;
  for (int r = 0; r < size(); ++r) {
    set(c, one.data(), value(r, i, false));
    double v = get(c, one.data());
    acc = r == 0 ? v : c.op == NABLA_REDUCE_MAX ? std::max(acc, v) : c.op == NABLA_REDUCE_MIN ? std::min(acc, v) : acc + v;
  }
  if (c.op != NABLA_REDUCE_MEAN) return acc;
  return c.dtype == NABLA_DTYPE_F32 ? static_cast<float>(acc) / static_cast<float>(size()) : acc / size();
}

const Case kCases[] = {
    {NABLA_DTYPE_F32, NABLA_REDUCE_SUM, 4}, {NABLA_DTYPE_F64, NABLA_REDUCE_MEAN, 8},
    {NABLA_DTYPE_F32, NABLA_REDUCE_MEAN, 4}, {NABLA_DTYPE_I32, NABLA_REDUCE_MAX, 4},
    {NABLA_DTYPE_I64, NABLA_REDUCE_MIN, 8}, {NABLA_DTYPE_F64, NABLA_REDUCE_SUM, 8},
};
const int64_t kCounts[] = {1, 2, 7, 1001, 40000};  // 1 and 2: some ranks' chunks are empty

// Every case and count, all started before the first wait, in `memory` (one
// buffer after another, 64-byte aligned). inexact: values whose sums round,
// checked only for the same bits on every rank.
void reduce_all(char* memory, bool inexact) {
  std::vector<std::pair<const Case*, char*>> bufs;
  for (const Case& c : kCases)
    for (int64_t n : kCounts) {
      for (int64_t i = 0; i < n; ++i) set(c, memory + i * c.elem, value(rank(), i, inexact));
      bufs.emplace_back(&c, memory);
      memory += (static_cast<size_t>(n) * c.elem + 63) / 64 * 64;
    }
  std::vector<void*> requests;
  size_t k = 0;
  for (const Case& c : kCases)
    for (int64_t n : kCounts) {
      requests.push_back(nullptr);
      ASSERT_EQ(comm().all_reduce_start(comm().state, bufs[k++].second, n, c.dtype, c.op, &requests.back()), NABLA_OK);
    }
  for (void* r : requests) ASSERT_EQ(comm().wait(comm().state, r), NABLA_OK);
  k = 0;
  for (const Case& c : kCases)
    for (int64_t n : kCounts) {
      char* at = bufs[k++].second;
      if (inexact) {  // rank 0's bits on every rank
        std::vector<char> zero(at, at + n * static_cast<int64_t>(c.elem));
        ASSERT_EQ(nabla_mpi_broadcast(mpi(), zero.data(), static_cast<int64_t>(zero.size()), 0), NABLA_OK);
        EXPECT_EQ(std::memcmp(zero.data(), at, zero.size()), 0) << "dtype " << c.dtype << ", " << n << " elements";
        continue;
      }
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(get(c, at + i * c.elem), expected(c, i)) << "dtype " << c.dtype << " op " << c.op << ", " << i;
    }
}

size_t bytes_needed() {
  size_t total = 0;
  for (const Case& c : kCases)
    for (int64_t n : kCounts) total += (static_cast<size_t>(n) * c.elem + 63) / 64 * 64;
  return total;
}

// The memory of the tests below, allocated once (nabla_mpi takes at most 16
// areas): null where there is no shared memory (1 rank, the ring fallback).
char* shared() {
  static char* memory = static_cast<char*>(nabla_mpi_shared_memory(mpi(), static_cast<int64_t>(bytes_needed())));
  return memory;
}

TEST(SharedMemory, AllReducesInPlaceGiveTheHandComputedReductions) {
  std::vector<char> ordinary(bytes_needed() + 64);
  char* aligned = ordinary.data() + (64 - reinterpret_cast<uintptr_t>(ordinary.data()) % 64) % 64;
  char* memory = shared() ? shared() : aligned;
  reduce_all(memory, false);
  reduce_all(memory, true);
  reduce_all(memory, false);  // the regions and locations reused
}

// Rank 0 in shared memory, the others in ordinary memory: they copy into
// the window, rank 0 does not.
TEST(SharedMemory, OneRankInPlaceTheOthersCopied) {
  std::vector<char> ordinary(bytes_needed() + 64);
  char* aligned = ordinary.data() + (64 - reinterpret_cast<uintptr_t>(ordinary.data()) % 64) % 64;
  char* memory = rank() == 0 && shared() ? shared() : aligned;
  reduce_all(memory, false);
  reduce_all(memory, true);
}

TEST(SharedMemory, OneProcessHasNone) {
  if (size() > 1) GTEST_SKIP() << "one rank only";
  EXPECT_EQ(nabla_mpi_shared_memory(mpi(), 4096), nullptr);
}

TEST(SharedMemory, AWorkspaceTooSmallOrMisalignedIsRefused) {
  Module m;
  Function& f = m.function("f");
  Value x = f.input("x", f32({64}));
  f.output(exp(x) * sin(x) + x);  // a workspace for the intermediates, if not fused
  f.output(sum(exp(x)) * x);
  Executable exe = compile(m, "f");
  std::vector<char> memory(static_cast<size_t>(exe.workspace_bytes()) + 128);
  char* aligned = memory.data() + (64 - reinterpret_cast<uintptr_t>(memory.data()) % 64) % 64;
  if (exe.workspace_bytes() == 0) GTEST_SKIP() << "no workspace";
  try {
    exe.set_workspace(aligned, exe.workspace_bytes() - 1);
    FAIL() << "a small workspace was taken";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "f: the workspace given has " + std::to_string(exe.workspace_bytes() - 1) +
                                         " bytes, the function needs " + std::to_string(exe.workspace_bytes()));
  }
  try {
    exe.set_workspace(aligned + 4, exe.workspace_bytes());
    FAIL() << "a misaligned workspace was taken";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "f: the workspace given is not 64-byte aligned");
  }
  Tensor in(DType::f32, {64});
  for (int64_t i = 0; i < 64; ++i) in.set(i, 0.01 * static_cast<double>(i));
  std::vector<Tensor> want = exe.run(std::vector<Tensor>{in});
  exe.set_workspace(aligned, exe.workspace_bytes());
  std::vector<Tensor> got = exe.run(std::vector<Tensor>{in});
  for (size_t k = 0; k < want.size(); ++k)
    for (int64_t i = 0; i < want[k].numel(); ++i) EXPECT_EQ(got[k].get(i), want[k].get(i)) << k << ", " << i;
}

}  // namespace
}  // namespace nabla
