#pragma once
// Communicators for the collective ops (runtime/abi.h's nabla_communicator):
// the single-process one, and the C++ helpers that call any communicator from
// nabla code (the interpreter, the data-parallel training helper). The MPI
// communicator is the separate nabla_mpi library (mpi/nabla_mpi.h).
#include <cstdint>
#include <string>

#include "nabla/runtime/abi.h"
#include "nabla/runtime/tensor.h"

namespace nabla {

// One process: rank 0 of 1; every all-reduce leaves its buffer as it is.
const nabla_communicator* single_process_communicator();

// The communicator to use for `comm`: itself, or the single-process one for null.
inline const nabla_communicator& communicator_or_single(const nabla_communicator* comm) {
  return comm ? *comm : *single_process_communicator();
}

// The ABI codes of a dtype (f32, f64, i32, i64; throws nabla::Error for bool).
int32_t collective_dtype(DType t);

// The message for a failed collective: the communicator's error_message, or a
// generic one.
std::string collective_error(const nabla_communicator& comm);

// Reduces t in place over all ranks (op: NABLA_REDUCE_SUM, _MEAN, _MAX or _MIN) and
// waits for it. Throws nabla::Error ("all_reduce: ...") when the communicator fails.
void all_reduce_in_place(const nabla_communicator& comm, Tensor& t, int32_t op);

}  // namespace nabla
