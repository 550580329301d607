#pragma once
// Constant folding through the reference interpreter (ir/interpreter.h).
#include <cstdint>
#include <memory>

#include "nabla/ir/function.h"

namespace nabla {

struct FoldOptions {
  // A node is folded when its result has at most this many elements, or no
  // more elements than its largest operand (so folding never grows the
  // constants a function holds by more than max_elements per node). A
  // broadcast_to is folded only in the second case (it just replicates), or
  // in the first when only concats use it. A concat is also folded when it
  // has no more elements than its operands together.
  int64_t max_elements = 4096;
};

// Replaces every node whose operands are all constants by a constant holding
// the interpreter's result (the same kernels as at run time, so the rewrite is
// exact). Never folded: grad (build-grad's input) and barrier (kept for
// rematerialization). A node whose evaluation fails (e.g. a label out of range)
// is left for run time to report. Returns true when it folded a node.
bool fold(Function& f, const FoldOptions& options = {});

// Registered as pass "fold" (passes/passes.def); option `max-elements=N`.

}  // namespace nabla
