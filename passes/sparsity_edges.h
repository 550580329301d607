#pragma once
// Internals of passes/sparsity.cpp: which operand elements each result
// element of a node reads. Not a public interface.
#include <cstdint>
#include <functional>

#include "nabla/ir/node.h"

namespace nabla::sparsity {

// edge(out, slot, in): element `out` of the node's result reads element `in`
// of operand `slot` (flat, row-major indices).
using EdgeFn = std::function<void(int64_t out, size_t slot, int64_t in)>;

// Calls edge for every such pair of n (pairs may repeat). Returns false when
// the op's structure is not known here (conv2d and pooling, fused regions,
// grad, and any op kind added later): the caller then takes every result
// element to read every element of every operand.
bool for_each_edge(const Node& n, const EdgeFn& edge);

// For matmul: term(out, a, b) for each product A[a] * B[b] summed into
// result element out.
void for_each_matmul_term(const Node& n, const std::function<void(int64_t, int64_t, int64_t)>& term);

}  // namespace nabla::sparsity
