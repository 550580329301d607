#include "examples/common/cluster.h"

#include <cstdio>
#include <cstdlib>

#include "nabla/runtime/communicator.h"
#include "nabla/runtime/error.h"
#ifdef NABLA_HAVE_MPI
#include "examples/common/mpi_leak_check.h"
#include "nabla/mpi/nabla_mpi.h"
#endif

namespace nabla::demo {

Cluster::Cluster(int& argc, char**& argv, double timeout) : comm_(single_process_communicator()) {
#ifdef NABLA_HAVE_MPI
  if (!std::getenv("OMPI_COMM_WORLD_SIZE") && !std::getenv("PMI_SIZE")) return;  // not under mpirun
  nabla_mpi_init_serialized(&argc, &argv);
  auto* mpi = nabla_mpi_create(MPI_COMM_WORLD, timeout);
  if (!mpi) throw Error("train_digits: cannot set up the MPI communicator");
  mpi_ = mpi;
  comm_ = nabla_mpi_communicator(mpi);
  distributed_ = true;
#endif
}

Cluster::~Cluster() {
#ifdef NABLA_HAVE_MPI
  if (!mpi_) return;
  nabla_mpi_destroy(static_cast<nabla_mpi*>(mpi_));
  nabla_mpi_finalize_checked();
#endif
}

void* Cluster::shared_memory(int64_t bytes) {
#ifdef NABLA_HAVE_MPI
  if (mpi_) return nabla_mpi_shared_memory(static_cast<nabla_mpi*>(mpi_), bytes);
#endif
  (void)bytes;
  return nullptr;
}

void Cluster::fail(const std::string& message) {
  if (!distributed_) return;
  std::fprintf(stderr, "train_digits: rank %d: %s\n", rank(), message.c_str());
  std::fflush(stdout);
  std::fflush(stderr);
  // Without MPI_Finalize, which could wait for the failed rank: mpirun sees a
  // rank exit with 1 and ends the others.
  std::_Exit(1);
}

}  // namespace nabla::demo
