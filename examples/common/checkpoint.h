#pragma once
// Checkpoints of the training demos (--save DIR, --resume DIR, --load DIR).
// DIR/step-N/ holds one .npy per parameter (W1.npy, b1.npy, ...), one per
// tensor of the optimizer's state (W1_v.npy for momentum, W1_m.npy and
// W1_v.npy for Adam) and state.npy (i64: the step count, the seed, the batch
// per rank, the ranks and the optimizer, 0 sgd, 1 momentum, 2 adam; the data
// order follows from them). DIR/LATEST names
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
  int64_t optimizer = 0;  // OptimizerKind
};

void save_checkpoint(const std::string& dir, const std::vector<std::string>& names,
                     const std::vector<Tensor>& params, const TrainState& state);

// Fills `params` (whose names, dtypes and shapes it checks) from DIR's newest
// checkpoint and returns its state. `names` may be a subset of those saved
// (--load reads the parameters only). Throws nabla::Error naming the file.
TrainState load_checkpoint(const std::string& dir, const std::vector<std::string>& names,
                           std::vector<Tensor>& params);

}  // namespace nabla::demo
