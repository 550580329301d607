#pragma once
// Algebraic simplification: small local rewrite rules (simplify_rules.cpp).
#include <memory>

#include "nabla/ir/function.h"

namespace nabla {

// By default only rewrites that give bit-for-bit the same result for every
// input (NaN, infinities and the sign of zero included) are applied. The
// options allow rewrites that are wrong for some inputs:
struct SimplifyOptions {
  // Assume no NaN or infinity reaches a float op: enables x - x -> 0
  // (inf - inf and NaN - NaN are NaN, not 0).
  bool finite_math = false;
  // Treat -0 and +0 as the same value: enables x + 0 -> x and x - (-0) -> x
  // for every x (-0 + 0 is +0), and with finite_math x * 0 -> 0 (-3 * 0 is -0).
  bool no_signed_zeros = false;
};

// Applies the rules until none fires. Nodes made dead by a rewrite are left to
// dce, except the rewritten node itself. Returns true when a rule fired.
bool simplify(Function& f, const SimplifyOptions& options = {});

// Pass options: `finite-math`, `no-signed-zeros`, and `unsafe-math` (both),
// each taking an optional `=true`/`=false`.

}  // namespace nabla
