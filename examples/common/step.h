#pragma once
// The functions the training demos compile, built with the C++ API from a
// Model (examples/common/trainer.h):
//   @train_step(X f32[batch,features], y i32[batch], params..., lr f32[], [t f32[]], state...)
//     -> (loss f32[], params'..., state'...)
//   @logits(X f32[n,features], params...) -> (f32[n,classes])
//   @classify(X f32[n,features]) -> (logits f32[n,classes], class i64[n])   the exported classifier,
//     with the trained parameters as constants
#include <cstdint>
#include <string>
#include <vector>

#include "examples/common/optimizer.h"
#include "examples/common/trainer.h"

namespace nabla::demo {

struct TrainStep {
  size_t forward_nodes = 0;              // before build-grad appended the gradient
  std::vector<std::string> state_names;  // of the optimizer's state, in input order
  bool has_t = false;                    // Adam's step count input
};

// data_parallel: the gradients are averaged over the ranks (all_reduce mean,
// passes/data_parallel.h), for a step that each rank runs on its own batch.
TrainStep build_train_step(Function& f, const Model& model, int64_t features, int64_t batch,
                           const OptimizerOptions& o, bool data_parallel);

void build_logits(Function& f, const Model& model, int64_t features, int64_t n);

void build_classifier(Function& f, const Model& model, int64_t features, int64_t n,
                      const std::vector<Tensor>& params);

// --export DIR: DIR/classifier.nabla (@classify for batches of n images),
// DIR/sample_images.npy (the first n test images) and
// DIR/sample_predictions.npy (the classes the trainer predicts for them, i64),
// so that the compiled classifier can be checked against the trainer.
void export_classifier(const std::string& dir, const Model& model, const Dataset& test,
                       const std::vector<int32_t>& predicted, int64_t n, const std::vector<Tensor>& params);

}  // namespace nabla::demo
