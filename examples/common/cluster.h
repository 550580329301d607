#pragma once
// train_digits across processes: when started by mpirun (and nabla was built
// with Open MPI), MPI and a nabla_mpi communicator; otherwise one process.
#include <string>

#include "nabla/runtime/abi.h"

namespace nabla::demo {

class Cluster {
 public:
  // timeout: seconds a collective may take before the run gives up.
  Cluster(int& argc, char**& argv, double timeout);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  bool distributed() const { return distributed_; }
  const nabla_communicator& comm() const { return *comm_; }
  int rank() const { return comm_->rank; }
  int size() const { return comm_->size; }
  // Memory for a step's workspace shared with the other ranks of this machine
  // (nabla_mpi_shared_memory: its all-reduces then need no copy), or null
  // (one process, ranks on several machines). Collective; freed with the Cluster.
  void* shared_memory(int64_t bytes);
  // After a failure: prints the message (naming this rank) and exits with 1,
  // which makes mpirun end the other ranks; in one process, just returns.
  void fail(const std::string& message);

 private:
  bool distributed_ = false;
  const nabla_communicator* comm_;
  void* mpi_ = nullptr;  // nabla_mpi*
};

}  // namespace nabla::demo
