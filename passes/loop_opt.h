#pragma once
// loop-opt: loops (ir/loop.h) made cheaper, their values unchanged.
//   - A stacked output of a scan that nothing reads leaves the body: it is
//     neither computed nor stored.
//   - A carry of a scan whose final value nothing reads, and on which no
//     other result depends (a gradient accumulator nobody asked for), leaves
//     the loop.
//   - Loop-invariant code is hoisted: a body node whose operands are
//     invariants (or hoisted nodes, or constants) is computed once before the
//     loop and enters the body as a new invariant. Ops that may fail at run
//     time (indices, labels) and collectives stay inside: the loop may run
//     zero times. A while's step body is hoisted from; its condition is not.
//   - A scan of length 0, or one whose body only passes its carries through
//     and has no outputs, is replaced by its initial carries (and empty
//     stacks).
//   - Two scans over the same operands with the same attributes whose bodies
//     compute the same carries (after cse of the two bodies side by side)
//     become one: the forward scan and the tape that build-grad adds for its
//     gradient (passes/loop_grad.cpp) run the forward steps once.
//   - A loop whose operands another loop after it also takes, part by part,
//     and whose results that loop's bodies also compute (cse of the bodies
//     side by side; a while's conditions equal), is replaced by that loop's
//     results: forward mode's tangent loop (passes/forward_loop.cpp) runs
//     the primal steps beside the tangents, so they run once.
//   - An invariant that a matmul of the body reads transposed (transpose_b)
//     is transposed once before the loop, and the matmul reads the copy as
//     it is: the GEMM turns a transposed B around on every call (RK4's and
//     the LSTM's backward bodies, g W^T). Same products, same order: exact.
// Passes reach the bodies themselves through the pass manager (ir/loop.h's
// rewrite_bodies), so cse, dce, fold and simplify clean inside them.
#include <memory>

#include "nabla/ir/function.h"

namespace nabla {

bool loop_opt(Function& f);

}  // namespace nabla
