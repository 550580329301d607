#pragma once
// Checkpoints of train_digits (--save DIR, --resume DIR). DIR/step-N/ holds
// one .npy per parameter (W1.npy, b1.npy, ...) and state.npy, the optimizer's
// state (i64: the step count, the seed, the batch per rank and the ranks: SGD
// keeps nothing else, and the data order follows from them). DIR/LATEST names
// the newest complete step directory: it is replaced (written beside, then
// renamed) only after that directory is complete, and older ones are removed
// after that, so a run stopped at any moment leaves the last checkpoint
// intact. Rank 0 writes; every rank reads.
#include <cstdint>
#include <string>
#include <vector>

#include "nabla/runtime/tensor.h"

namespace nabla::demo {

struct TrainState {
  int64_t step = 0;     // steps taken
  int64_t seed = 0;
  int64_t batch = 0;    // per rank
  int64_t ranks = 1;
};

void save_checkpoint(const std::string& dir, const std::vector<std::string>& names,
                     const std::vector<Tensor>& params, const TrainState& state);

// Fills `params` (whose names, dtypes and shapes it checks) from DIR's newest
// checkpoint and returns its state. Throws nabla::Error naming the file.
TrainState load_checkpoint(const std::string& dir, const std::vector<std::string>& names,
                           std::vector<Tensor>& params);

}  // namespace nabla::demo
