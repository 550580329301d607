#pragma once
// Sibling fusion, the second step of the fuse pass (passes/fuse.h): fused
// elementwise regions of the same shape that read a common operand become
// one region with several results (ir/fused.h), so that the loop reads each
// operand once and computes the work the regions share once.
#include "nabla/ir/function.h"

namespace nabla {

// Returns true when it merged at least two regions.
bool merge_fused_siblings(Function& f);

}  // namespace nabla
