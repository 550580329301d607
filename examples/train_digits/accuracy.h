#pragma once
// Classification accuracy of a compiled logits function, shared by the
// training demos (train_digits, train_cnn).
#include <cstdint>
#include <vector>

#include "examples/train_digits/datasets.h"
#include "nabla/compiler/compile.h"

namespace nabla::demo {

// Fraction of rows of `d` whose largest logit is the label; `logits` takes the
// images [count, features] and then the parameters.
double accuracy(Executable& logits, const Dataset& d, int64_t classes, const std::vector<Tensor>& params);

}  // namespace nabla::demo
