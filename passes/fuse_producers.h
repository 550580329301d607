#pragma once
// Producer-into-consumer fusion after the sibling merge, the third step of
// the fuse pass (passes/fuse.h). The first step moves a producer into a
// region only when all its uses are in that region; a producer whose uses sat
// in two regions stayed a kernel of its own, and sibling fusion may merge
// those two regions into one group afterwards. This step then moves such a
// producer into its consumer group: an elementwise op, or a fused region or
// group without views, scatter_add, matmul or reduction, whose every value is
// read only by one fused group, at that group's loop index (its type is the
// group's loop shape and every body use is elementwise or a reduction's
// operand), not a function result, and which calls libm exactly when the
// group does (a loop with a libm call stays scalar). The producer's body is
// computed inside the consumer's loop, equal body nodes once, so its values
// are never stored (ba's objective: 1/theta and the px/py region go into the
// loop that computes the reprojection errors).
#include "nabla/ir/function.h"

namespace nabla {

// Returns true when it moved at least one producer into its consumer.
bool fuse_producers(Function& f);

}  // namespace nabla
