#pragma once
// The MLP training step of bench/mlp_bench.cpp as a nabla function, built with
// the C++ API: inputs x, labels, W1, b1, W2, b2, W3, b3; results the loss and
// the six updated parameters, p' = p - lr dJ/dp (grad nodes, expanded by
// build-grad). data_parallel: each gradient is all-reduced with op = mean
// (docs/distributed.md), for a step that every rank runs on its own batch.
#include "bench/mlp_onednn.h"
#include "nabla/ir/function.h"

namespace nabla::bench {

Function& build_mlp_step(Module& m, const MlpDims& d, const std::string& name = "mlp_step",
                         bool data_parallel = false);

}  // namespace nabla::bench
