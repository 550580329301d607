// Collectives: all_reduce through the communicator of the call (one process
// when there is none, where it is the identity). mean is the sum divided by
// the number of processes, element by element, as the compiled code does.
#include "nabla/ir/interpreter_kernels.h"
#include "nabla/runtime/communicator.h"

namespace nabla::interp {

Tensor eval_collective(const Call& c) {
  const nabla_communicator& comm = communicator_or_single(c.comm);
  Tensor out = c.args[0].clone();
  int32_t op = c.attrs.op == Reduction::max   ? NABLA_REDUCE_MAX
               : c.attrs.op == Reduction::min ? NABLA_REDUCE_MIN
                                              : NABLA_REDUCE_SUM;
  all_reduce_in_place(comm, out, op);
  if (c.attrs.op == Reduction::mean) {
    visit_float(c.op, out.dtype(), [&](auto zero) {
      using T = decltype(zero);
      T* p = out.data_as<T>();
      for (int64_t i = 0; i < out.numel(); ++i) p[i] = p[i] / static_cast<T>(comm.size);
    });
  }
  return out;
}

}  // namespace nabla::interp
