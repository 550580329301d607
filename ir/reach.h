#pragma once
// Reachability in a function's graph, shared by the passes that cut out the
// part of a graph between some values and others (build-grad's G', the
// batching transform's cone).
#include <span>
#include <unordered_set>

#include "nabla/ir/node.h"

namespace nabla {

using NodeSet = std::unordered_set<const Node*>;

// The nodes `roots` are computed from, the roots included.
NodeSet ancestors(std::span<const Value> roots);

// The nodes of `within` reached from `from` along users without leaving
// `within` (each of `from` included when in `within`). With `within` the
// ancestors of some values, these are the nodes on a path from `from` to them.
NodeSet descendants_within(const NodeSet& within, std::span<const Value> from);

}  // namespace nabla
