// nabla_mpi's all-reduces through the communicator table itself (mpiexec -np
// 1, 2, 3): its shared-memory one (the default when the ranks share a node),
// its own ring (reduce-scatter + all-gather over point-to-point messages, the
// fallback) and MPI_Iallreduce against sums, means, maxima and minima computed
// by hand, for buffers that do not split evenly over the ranks (fewer elements
// than ranks, none, odd counts, several chunks of 100,003 elements), in every
// dtype; several in flight at once, waited for in another order; a window too
// small for some of them; no window at all.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "tests/mpi/mpi_testing.h"

namespace nabla {
namespace {

using mpitest::rank;
using mpitest::size;

// Rank r's element i: small integers and quarters, exact in every dtype and
// in any order of adding.
double value(int r, int64_t i) { return static_cast<double>((i * 7 + r * 5) % 13) - 4 + (r == 1 ? 0.25 : 0); }

template <class T> std::vector<T> rank_values(int r, int64_t n) {
  std::vector<T> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<T>(value(r, i));
  return v;
}

// Element i reduced over all ranks by hand, in T.
template <class T> T expected(int64_t i, int32_t op) {
  T acc = static_cast<T>(value(0, i));
  for (int r = 1; r < size(); ++r) {
    T v = static_cast<T>(value(r, i));
    acc = op == NABLA_REDUCE_MAX ? std::max(acc, v) : op == NABLA_REDUCE_MIN ? std::min(acc, v) : acc + v;
  }
  return op == NABLA_REDUCE_MEAN ? static_cast<T>(acc / static_cast<T>(size())) : acc;
}

// Whether the run has no shared windows (ctest mpi.ring.*: NABLA_MPI_SHARED_BYTES=0).
bool windows_off() {
  const char* bytes = std::getenv("NABLA_MPI_SHARED_BYTES");
  return bytes && std::string(bytes) == "0";
}

// The algorithm a communicator takes by itself: SHARED whenever there are
// ranks to share with (the tests run on one machine), unless windows are off.
int32_t default_all_reduce() {
  return size() > 1 && !windows_off() ? NABLA_MPI_ALL_REDUCE_SHARED : NABLA_MPI_ALL_REDUCE_RING;
}

// A communicator of its own (collective: every rank makes one), its shared
// window of `shared_bytes` per rank (NABLA_MPI_SHARED_BYTES; -1: the default).
struct Comm {
  nabla_mpi* mpi;
  explicit Comm(int32_t algorithm, long long shared_bytes = -1) : mpi(create(shared_bytes)) {
    EXPECT_EQ(nabla_mpi_set_all_reduce(mpi, algorithm), NABLA_OK);
  }
  static nabla_mpi* create(long long shared_bytes) {
    const char* was = std::getenv("NABLA_MPI_SHARED_BYTES");
    std::string before = was ? was : "";
    if (shared_bytes >= 0 && !windows_off()) setenv("NABLA_MPI_SHARED_BYTES", std::to_string(shared_bytes).c_str(), 1);
    nabla_mpi* m = nabla_mpi_create(MPI_COMM_WORLD, 20.0);
    if (was) setenv("NABLA_MPI_SHARED_BYTES", before.c_str(), 1);
    else unsetenv("NABLA_MPI_SHARED_BYTES");
    return m;
  }
  ~Comm() { nabla_mpi_destroy(mpi); }
  const nabla_communicator& table() const { return *nabla_mpi_communicator(mpi); }
  void* start(void* buf, int64_t n, int32_t dtype, int32_t op) const {
    void* req = nullptr;
    EXPECT_EQ(table().all_reduce_start(table().state, buf, n, dtype, op, &req), NABLA_OK) << nabla_mpi_error(mpi);
    return req;
  }
  void wait(void* req) const { EXPECT_EQ(table().wait(table().state, req), NABLA_OK) << nabla_mpi_error(mpi); }
};

const int64_t kCounts[] = {0, 1, 2, 3, 5, 7, 1000, 100003};
// The mean (f32, f64 only) divides in the communicator's last pass: on 3
// ranks, sums of quarters divided by 3 round, and must round once, as
// sum / 3 does.
const int32_t kOps[] = {NABLA_REDUCE_SUM, NABLA_REDUCE_MAX, NABLA_REDUCE_MIN, NABLA_REDUCE_MEAN};

template <class T> void check_all(const Comm& c, int32_t dtype) {
  for (int64_t n : kCounts)
    for (int32_t op : kOps) {
      if (op == NABLA_REDUCE_MEAN && !std::is_floating_point_v<T>) continue;
      std::vector<T> buf = rank_values<T>(rank(), n);
      c.wait(c.start(buf.data(), n, dtype, op));
      int64_t wrong = 0, first = -1;
      for (int64_t i = 0; i < n; ++i)
        if (buf[static_cast<size_t>(i)] != expected<T>(i, op) && wrong++ == 0) first = i;
      EXPECT_EQ(wrong, 0) << "count " << n << ", op " << op << ": first wrong element " << first;
    }
}

void check_every_dtype(int32_t algorithm, long long shared_bytes = -1) {
  Comm c(algorithm, shared_bytes);
  check_all<float>(c, NABLA_DTYPE_F32);
  check_all<double>(c, NABLA_DTYPE_F64);
  check_all<int32_t>(c, NABLA_DTYPE_I32);
  check_all<int64_t>(c, NABLA_DTYPE_I64);
}

TEST(NablaMpiAllReduce, SharedIsTheDefaultOnOneMachine) {
  EXPECT_EQ(nabla_mpi_all_reduce(mpitest::mpi()), default_all_reduce());
}

TEST(NablaMpiAllReduce, SharedGivesTheHandComputedReductions) { check_every_dtype(default_all_reduce()); }

// A window of 4 KiB: the 100,003-element buffers take the ring, the others
// the window (waiting for room behind each other).
TEST(NablaMpiAllReduce, SharedWithASmallWindowGivesTheHandComputedReductions) {
  check_every_dtype(default_all_reduce(), 4096);
}

// Without a window (NABLA_MPI_SHARED_BYTES=0, as when the ranks are on
// several machines or the window cannot be allocated) the ring is the
// default and SHARED is refused.
TEST(NablaMpiAllReduce, WithoutAWindowTheRingIsTheDefault) {
  Comm c(NABLA_MPI_ALL_REDUCE_RING, 0);
  EXPECT_EQ(nabla_mpi_set_all_reduce(c.mpi, NABLA_MPI_ALL_REDUCE_SHARED), NABLA_COLLECTIVE_FAILED);
  EXPECT_EQ(nabla_mpi_failed(c.mpi), 0);
  nabla_mpi* fresh = Comm::create(0);
  EXPECT_EQ(nabla_mpi_all_reduce(fresh), NABLA_MPI_ALL_REDUCE_RING);
  nabla_mpi_destroy(fresh);
}

TEST(NablaMpiAllReduce, RingGivesTheHandComputedReductions) { check_every_dtype(NABLA_MPI_ALL_REDUCE_RING); }
TEST(NablaMpiAllReduce, LibraryGivesTheHandComputedReductions) { check_every_dtype(NABLA_MPI_ALL_REDUCE_LIBRARY); }

// The reductions of check_in_flight's all-reduces: a max, two means (the
// large one, which a small window sends through the ring, and one of 300),
// sums.
int32_t op_of(size_t k) {
  return k == 2 ? NABLA_REDUCE_MAX : k == 0 || k == 5 ? NABLA_REDUCE_MEAN : NABLA_REDUCE_SUM;
}

// Seven all-reduces started one after the other, progressed, then waited for
// newest first (a compiled step waits in the order of first use).
void check_in_flight(int32_t algorithm, long long shared_bytes = -1) {
  Comm c(algorithm, shared_bytes);
  const int64_t counts[] = {100003, 3, 65536, 1, 300, 300, 300};
  std::vector<std::vector<double>> bufs;
  for (int64_t n : counts) bufs.push_back(rank_values<double>(rank(), n));
  std::vector<void*> reqs;
  for (size_t k = 0; k < bufs.size(); ++k)
    reqs.push_back(c.start(bufs[k].data(), counts[k], NABLA_DTYPE_F64, op_of(k)));
  for (int p = 0; p < 3; ++p) c.table().progress(c.table().state);
  EXPECT_EQ(nabla_mpi_all_reduce(c.mpi), algorithm);
  for (size_t k = bufs.size(); k-- > 0;) c.wait(reqs[k]);
  for (size_t k = 0; k < bufs.size(); ++k)
    for (int64_t i = 0; i < counts[k]; ++i)
      ASSERT_EQ(bufs[k][static_cast<size_t>(i)], expected<double>(i, op_of(k)))
          << "all-reduce " << k << ", element " << i;
}

TEST(NablaMpiAllReduce, SharedSeveralInFlightWaitedNewestFirst) { check_in_flight(default_all_reduce()); }
// 6 KiB: the third of 300 doubles (2,400 bytes) waits for the first ones' room.
TEST(NablaMpiAllReduce, SharedSeveralInFlightInASmallWindow) { check_in_flight(default_all_reduce(), 6144); }
TEST(NablaMpiAllReduce, RingSeveralInFlightWaitedNewestFirst) { check_in_flight(NABLA_MPI_ALL_REDUCE_RING); }
TEST(NablaMpiAllReduce, LibrarySeveralInFlightWaitedNewestFirst) { check_in_flight(NABLA_MPI_ALL_REDUCE_LIBRARY); }

TEST(NablaMpiAllReduce, UnknownAlgorithmIsRefused) {
  EXPECT_EQ(nabla_mpi_set_all_reduce(mpitest::mpi(), 7), NABLA_COLLECTIVE_FAILED);
  EXPECT_EQ(nabla_mpi_failed(mpitest::mpi()), 0);  // refusing it does not break the communicator
}

}  // namespace
}  // namespace nabla
