#pragma once
// The run-time side of data-parallel training (docs/distributed.md): the
// same start on every rank, each rank's share of the data, and a check that
// every rank compiled the same step. Everything goes through the
// communicator of runtime/abi.h (MPI or not).
#include <cstdint>
#include <span>

#include "nabla/compiler/compile.h"
#include "nabla/runtime/abi.h"
#include "nabla/runtime/tensor.h"

namespace nabla {

// Gives every rank rank 0's values of `tensors` (in place): an all-reduce sum
// to which the other ranks contribute zeros, exact for every value but -0
// (which arrives as +0). Throws nabla::Error when the communicator fails.
void broadcast_from_rank0(const nabla_communicator& comm, std::span<Tensor> tensors);

// Rank `rank`'s part of `count` items split evenly over `size` ranks: the
// half-open range [begin, end), contiguous, in rank order.
struct Shard {
  int64_t begin = 0, end = 0;
};
Shard shard_of(int64_t count, int rank, int size);

// Compares exe.program_hash() across the ranks, with collectives of a fixed
// shape (so it works even when the steps' own collectives differ). Throws
// nabla::Error on every rank when they differ, e.g.
//   "@train_step: rank 1 compiled a different step than rank 0 (hash 1a2b...
//    against 3c4d...): every rank must run the same program (the same model,
//    shapes and options)".
void check_same_program(const nabla_communicator& comm, const Executable& exe);

}  // namespace nabla
