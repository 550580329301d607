#pragma once
// Elementwise fusion: groups of elementwise ops become `fused` nodes
// (ir/fused.h) that the backend computes in one loop nest, with no buffer for
// the values used only inside the group.
//
// Greedy, from the last node to the first: an elementwise op (unary, binary,
// comparison, select, cast) or broadcast_to starts a group, and so does a
// sum/mean/max whose operand can join it. A producer joins a group when it is
// such an op itself, every one of its uses is in the group, it is not a
// result of the function, and it has as many elements as the group's loop
// (so nothing is recomputed for a broadcast operand). Scalar and other small
// constants (at most 16 elements) are copied into the bodies that use them.
// A slice or concat used by a group that does not reduce joins it as a view
// read in place (ir/fused_views.h), and so do the slices and concats it
// reads; anything else it reads stays outside (at most kMaxViewCells cells).
// A gather of the loop's size joins as an indexed read (moved in or, being
// cheap, copied), its table and index staying outside the group; a
// scatter_add starts a group over its updates, which the group computes.
// A group holds views or indexed reads, not both.
// Groups of a single op stay as they are.
//
// Then sibling fusion (passes/fuse_siblings.h): elementwise regions of one
// shape that read a common operand, where neither depends on the other and
// the schedule allows one position for both, become one body with several
// results (a group of fused nodes), each shared body node computed once.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "nabla/ir/function.h"

namespace nabla {

// The fusion passes' limits: constants of at most this many elements are
// copied into the bodies that use them; a merged body (sibling or producer
// fusion) holds at most kMaxMergedBodyNodes nodes.
inline constexpr int64_t kMaxInlinedConstant = 16;
inline constexpr size_t kMaxMergedBodyNodes = 512;

// Returns true when it made at least one fused node. `siblings` false (the
// pass option `fuse{siblings=false}`) leaves out sibling fusion.
bool fuse(Function& f, bool siblings = true);

}  // namespace nabla
