#pragma once
// Seeded random graphs over every op of ir/ops.def (except input and grad),
// with broadcasting shapes, for differential tests: passes (interpreter before
// vs after), the backend (compiled vs interpreted). Built with the builder API,
// so every graph is well typed by construction.
#include <cstdint>
#include <vector>

#include "nabla/ir/function.h"
#include "nabla/runtime/tensor.h"

namespace nabla::test {

struct RandomGraphOptions {
  int num_steps = 24;         // each step adds one op, or one rewrite pattern
  int max_inputs = 6;         // float/int inputs created on demand, at most this many
  int max_rank = 3;           // of inputs and constants (broadcast_to may add an axis)
  int max_dim = 4;            // every dimension is in [1, max_dim]
  int max_results = 8;        // results: most nodes without users (the rest stay dead)
  double pattern_rate = 0.3;  // chance that a step emits a pattern the passes rewrite
                              // (x*1, neg(neg x), duplicates, constant subtrees, ...)
  double loop_rate = 0.0;     // chance that a step emits a scan or a while (besides
                              // those the op choice makes)
  double special_rate = 0.05; // chance that a constant element is 0, -0, 1, inf or NaN
  // Chance of appending grad nodes: dz/dw for z = sum of a float value and w a
  // float input (sometimes one it does not reach), and at times the derivative
  // of that gradient's sum again. Such graphs evaluate only after build-grad
  // (with allow-disconnected).
  double grad_rate = 0.0;
};

// A module holding one function named "random". Deterministic in (seed, options).
// Every op but input and grad appears; grad only with grad_rate > 0.
Module random_graph(uint64_t seed, const RandomGraphOptions& options = {});

// Inputs for f, in input order: floats uniform in [-2, 2] with a share
// `special_rate` of 0, -0, 1, inf and NaN; integers in [-4, 4]; bools 0 or 1.
std::vector<Tensor> random_inputs(const Function& f, uint64_t seed, double special_rate = 0.05);

// A hash of f's graph that does not depend on the order in which its nodes
// were created: each node's op, type, attributes (constants' data included),
// body and operands, the results in order, and the nodes no result reads.
// Two builds of the generator (two compilers) must give each seed the same
// hash: a draw whose order C++ leaves unspecified would not.
uint64_t structure_hash(const Function& f);

}  // namespace nabla::test
