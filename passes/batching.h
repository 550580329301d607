#pragma once
// Batching ("vmap"): a copy of part of a graph in which every value that
// depends on chosen placeholders carries an extra leading axis of P. The
// batched derivatives (passes/derivatives.h) build one sweep with a
// placeholder seed and batch it, so that P tangents or cotangents cost one
// sweep instead of P. docs/autodiff.md, "Batched sweeps".
#include <span>
#include <vector>

#include "nabla/ir/function.h"

namespace nabla {

// For placeholders in[k] (values of one function f) and their batched values
// batched[k] (each of type [P] ++ in[k]'s shape, in[k]'s dtype, one P for
// all), adds at f's insertion point the batched copy of every node that lies
// on a path from some in[k] to some out[j], and returns, for each out[j], its
// batched value of shape [P] ++ out[j]'s shape (entry p: out[j] computed with
// batched[k][p] in place of in[k]). An out[j] that depends on no in[k] comes
// back broadcast. The original nodes are left as they are.
//
// Each op family has a rule (batching.cpp) that folds the batch axis into the
// op: elementwise ops broadcast, axis attributes shift by one, matmul and
// convolutions fold P into a row or image axis, a scan or a while whose
// condition does not depend on the batch gets a batched body (one loop
// carrying P-wide values). Ops without a rule (a while whose condition
// depends on the batch, cross_entropy, a gather whose indices are batched,
// ...) take the generic
// fallback: the node cloned once per p on the operands sliced at p, the P
// results stacked; always correct, P times the nodes. A grad node cannot be
// batched (expand it first: build-grad). Throws nabla::Error on mismatched
// arguments.
std::vector<Value> batch(std::span<const Value> in, std::span<const Value> batched,
                         std::span<const Value> out);

// How many nodes the last batch() call on this thread built through the
// generic fallback (0 when every op had a rule): the tests' view of which
// path was taken.
size_t last_batch_fallbacks();

}  // namespace nabla
