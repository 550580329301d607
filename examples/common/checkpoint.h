#pragma once
// Checkpoints of the training demos (--save DIR, --resume DIR, --load DIR).
// DIR/step-N/ holds one .npy per parameter (W1.npy, b1.npy, ...), one per
// tensor of the optimizer's state (W1_v.npy for momentum, W1_m.npy and
// W1_v.npy for Adam), state.npy (i64: the step count, the seed, the batch
// per rank, the ranks and the optimizer, 0 sgd, 1 momentum, 2 adam; the data
// order follows from them), and early stopping's state: early_stopping.npy
// (f64: the last epoch scored, the best validation loss, its epoch, the
// epochs since, the number of best parameters saved) and the parameters of
// the best epoch (best_W1.npy, ...), so that --patience goes on counting
// after --resume or --load. DIR/LATEST names
// the newest complete step directory: it is replaced (written beside, then
// renamed) only after that directory is complete, and older ones are removed
// after that, so a run stopped at any moment leaves the last checkpoint
// intact. Rank 0 writes; every rank reads.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "nabla/runtime/tensor.h"

namespace nabla::demo {

// --patience's state: the validation loss of each epoch is compared with
// the best so far.
struct EarlyStopState {
  int64_t epoch = 0;             // the last epoch whose validation loss was compared
  double best_loss = INFINITY;   // the best validation loss
  int64_t best_epoch = 0;        // its epoch
  std::vector<Tensor> best_params;  // that epoch's parameters (none before the first)
  int64_t waited() const { return epoch - best_epoch; }  // epochs without improvement
};

struct TrainState {
  int64_t step = 0;     // steps taken
  int64_t seed = 0;
  int64_t batch = 0;    // per rank
  int64_t ranks = 1;
  int64_t optimizer = 0;  // OptimizerKind
  EarlyStopState early;
};

void save_checkpoint(const std::string& dir, const std::vector<std::string>& names,
                     const std::vector<Tensor>& params, const TrainState& state);

// Fills `params` (whose names, dtypes and shapes it checks) from DIR's newest
// checkpoint and returns its state. `names` may be a subset of those saved
// (--load reads the parameters only); the best parameters of the early
// stopping state have the types of the first of them. A checkpoint without
// early_stopping.npy gives the empty state. Throws nabla::Error naming the file.
TrainState load_checkpoint(const std::string& dir, const std::vector<std::string>& names,
                           std::vector<Tensor>& params);

}  // namespace nabla::demo
