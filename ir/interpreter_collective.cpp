// Collectives: all_reduce through the communicator of the call (one process
// when there is none, where it is the identity). mean is the communicator's
// NABLA_REDUCE_MEAN (the sum divided by the number of processes), as the
// compiled code asks for it.
#include "nabla/ir/interpreter_kernels.h"
#include "nabla/runtime/communicator.h"

namespace nabla::interp {

Tensor eval_collective(const Call& c) {
  const nabla_communicator& comm = communicator_or_single(c.comm);
  Tensor out = c.args[0].clone();
  all_reduce_in_place(comm, out, collective_reduction(c.attrs.op));
  return out;
}

}  // namespace nabla::interp
