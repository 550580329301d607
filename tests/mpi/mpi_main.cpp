// The main of nabla_mpi_tests, run under mpiexec on 1, 2 and 3 ranks
// (tests/CMakeLists.txt): MPI and one nabla_mpi communicator for all tests;
// every rank runs every test (SPMD); rank 0 prints the usual report, the
// others only their failures.
#include <gtest/gtest.h>

#include "examples/common/mpi_leak_check.h"
#include "tests/mpi/mpi_testing.h"

namespace nabla::mpitest {
namespace {

nabla_mpi* g_mpi = nullptr;

class FailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit FailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (r.failed())
      std::fprintf(stderr, "rank %d: %s:%d: %s\n", rank_, r.file_name() ? r.file_name() : "?", r.line_number(),
                   r.summary());
  }

 private:
  int rank_;
};

}  // namespace

nabla_mpi* mpi() { return g_mpi; }
const nabla_communicator& comm() { return *nabla_mpi_communicator(g_mpi); }
int rank() { return comm().rank; }
int size() { return comm().size; }

}  // namespace nabla::mpitest

int main(int argc, char** argv) {
  nabla_mpi_init_serialized(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  nabla::mpitest::g_mpi = nabla_mpi_create(MPI_COMM_WORLD, 20.0);
  int rank = nabla::mpitest::rank();
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new nabla::mpitest::FailurePrinter(rank));
  }
  int result = RUN_ALL_TESTS();
  if (nabla_mpi_failed(nabla::mpitest::g_mpi)) {
    std::fprintf(stderr, "%s\n", nabla_mpi_error(nabla::mpitest::g_mpi));
    nabla_mpi_abort(nabla::mpitest::g_mpi, 1);
  }
  nabla_mpi_destroy(nabla::mpitest::g_mpi);
  nabla_mpi_finalize_checked();
  return result;
}
