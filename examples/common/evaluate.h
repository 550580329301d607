#pragma once
// Scores of a compiled logits function on a data set, shared by the training
// demos: the mean cross-entropy, the accuracy and each image's predicted
// class, and the confusion matrix drawn from them.
#include <cstdint>
#include <string>
#include <vector>

#include "examples/common/datasets.h"
#include "nabla/compiler/compile.h"

namespace nabla::demo {

struct Scores {
  double loss = 0;      // mean softmax cross-entropy (without the weight decay), in f64
  double accuracy = 0;  // fraction of images whose largest logit is the label
  std::vector<int32_t> predicted;
};

// `logits` takes the images [count, features] and then the parameters, and
// returns [count, classes].
Scores score(Executable& logits, const Dataset& d, int64_t classes, const std::vector<Tensor>& params);

// The confusion matrix as text: one row per true class, one column per
// predicted class, each entry a count, with the totals and per-class recall.
std::string confusion_matrix(const Dataset& d, const std::vector<int32_t>& predicted, int64_t classes);

}  // namespace nabla::demo
