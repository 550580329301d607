#pragma once
// Shared by the tests of tests/mpi/: the run's communicator and its rank.
#include <cstdio>

#include "nabla/mpi/nabla_mpi.h"

namespace nabla::mpitest {

nabla_mpi* mpi();
const nabla_communicator& comm();
int rank();
int size();

}  // namespace nabla::mpitest
