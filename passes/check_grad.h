#pragma once
// Gradient checking: every grad node of a function against central finite
// differences, both sides computed in f64 by the reference interpreter.
#include <cstdint>
#include <iosfwd>
#include <span>
#include <string>
#include <vector>

#include "ir/function.h"
#include "passes/build_grad.h"
#include "runtime/tensor.h"

namespace nabla {

struct CheckGradOptions {
  uint64_t seed = 0;          // random inputs (when none are given) and directions
  int directions = 4;         // random unit directions per grad node
  int64_t max_elementwise = 64;  // also check each element when the target has at most this many
  double step = 1e-5;         // h, scaled by max(1, |w|) of the perturbed values
  double tolerance = 1e-6;    // largest accepted error
  GradOptions grad;           // for expanding the grad nodes
};

// One grad node: d z / d w.
struct GradCheck {
  std::string z, target;  // printed names, e.g. "%loss", "%w1"
  double worst_error = 0;  // max over the checks of |a - n| / max(1, |a|, |n|)
  int64_t checks = 0;      // directions plus elements compared
};

struct CheckGradReport {
  std::string function;  // "@f"
  double tolerance = 0;
  std::vector<GradCheck> grads;  // in body order of the grad nodes
  bool ok() const;
};

// Checks every grad node of f. f is copied, the copy converted to f64 (inputs,
// constants, casts to f32) and its grad nodes expanded; the analytic gradient
// a is the expansion's value, projected on each random direction d (and read
// per element for small targets), and n the central difference
// (z(w + h d) - z(w - h d)) / 2h, with w's value replaced in an evaluation
// of z (so a target may be an intermediate value too). `inputs` are f's
// inputs in f's own dtypes; without them, random_inputs(f, seed).
// Throws nabla::Error when f has no grad node or cannot be evaluated.
CheckGradReport check_grad(const Function& f, std::span<const Tensor> inputs,
                           CheckGradOptions options = {});
CheckGradReport check_grad(const Function& f, CheckGradOptions options = {});

// One line per grad node, e.g.
//   @f: grad %loss wrt %w: worst error 3.2e-11 in 8 checks: ok
void print_report(std::ostream& os, const CheckGradReport& report);

}  // namespace nabla
