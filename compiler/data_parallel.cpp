#include "nabla/compiler/data_parallel.h"

#include <cstring>

#include <fmt/format.h>

#include "nabla/runtime/communicator.h"
#include "nabla/runtime/error.h"

namespace nabla {

void broadcast_from_rank0(const nabla_communicator& comm, std::span<Tensor> tensors) {
  for (Tensor& t : tensors) {
    if (comm.rank != 0) std::memset(t.data(), 0, t.nbytes());
    if (t.dtype() == DType::bool_) throw Error("broadcast_from_rank0: bool tensors are not supported");
    all_reduce_in_place(comm, t, NABLA_REDUCE_SUM);
  }
}

Shard shard_of(int64_t count, int rank, int size) {
  int64_t base = count / size, extra = count % size;
  int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

void check_same_program(const nabla_communicator& comm, const Executable& exe) {
  // Every rank's hash at its own position, zeros elsewhere: the sum is all of them.
  Tensor hashes(DType::i64, {comm.size});
  std::memset(hashes.data(), 0, hashes.nbytes());
  uint64_t mine = exe.program_hash();
  std::memcpy(hashes.data_as<int64_t>() + comm.rank, &mine, sizeof mine);
  all_reduce_in_place(comm, hashes, NABLA_REDUCE_SUM);
  const auto* h = reinterpret_cast<const uint64_t*>(hashes.data_as<int64_t>());
  for (int r = 1; r < comm.size; ++r)
    if (h[r] != h[0])
      throw Error(fmt::format("@{}: rank {} compiled a different step than rank 0 (hash {:016x} against {:016x}): "
                              "every rank must run the same program (the same model, shapes and options)",
                              exe.name(), r, h[r], h[0]));
}

}  // namespace nabla
