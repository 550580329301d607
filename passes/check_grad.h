#pragma once
// Gradient checking: every grad node of a function against central finite
// differences, both sides computed in f64 by the reference interpreter.
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "nabla/ir/function.h"
#include "nabla/passes/build_grad.h"
#include "nabla/runtime/tensor.h"

namespace nabla {

struct CheckGradOptions {
  uint64_t seed = 0;          // random inputs (when none are given) and directions
  int directions = 4;         // random unit directions per grad node
  int64_t max_elementwise = 64;  // also check each element when the target has at most this many
  double step = 1e-5;         // h, scaled by max(1, |w|) of the perturbed values
  double tolerance = 1e-6;    // largest accepted error
  GradOptions grad;           // for expanding the grad nodes
  // The expansion checked: null means build_grad(f, grad). (Tests use it to
  // check that a broken derivative is caught.)
  std::function<void(Function&)> expand;
};

// One grad node: d z / d w.
struct GradCheck {
  std::string z, target;  // printed names, e.g. "%loss", "%w1"
  double worst_error = 0;  // max over the checks of |a - n| / max(1, |a|, |n|)
  int64_t checks = 0;      // directions plus elements compared
  int64_t skipped = 0;     // comparisons where z is not differentiable (below)
  bool z_finite = true;    // false: z is inf or NaN at the inputs, nothing compared
};

struct CheckGradReport {
  std::string function;  // "@f"
  double tolerance = 0;
  std::vector<GradCheck> grads;  // in body order of the grad nodes
  // Every grad within the tolerance (a grad whose z is not finite fails).
  bool ok() const;
};

// Checks every grad node of f. f is copied, the copy converted to f64 (inputs,
// constants, casts to f32) and its grad nodes expanded; the analytic gradient
// a is the expansion's value, projected on each random direction d (and read
// per element for small targets), and n the central difference
// (z(w + h d) - z(w - h d)) / 2h, with w's value replaced in an evaluation
// of z (so a target may be an intermediate value too; stop_gradient values
// stay fixed, as build-grad treats them). A comparison that fails where z is
// not differentiable along d (its one-sided differences disagree by more than
// 1%, or z is not finite on one side: a kink, a tie, a domain boundary) is
// skipped and counted, not failed. `inputs` are f's inputs in f's own dtypes;
// without them, random_inputs(f, seed).
// Throws nabla::Error when f has no grad node or cannot be evaluated.
CheckGradReport check_grad(const Function& f, std::span<const Tensor> inputs,
                           CheckGradOptions options = {});
CheckGradReport check_grad(const Function& f, CheckGradOptions options = {});

// A copy of f, added to m under f's name, with every f32 value made f64
// (inputs, constants, casts, one_hot's dtype, loop bodies); `map` takes f's
// nodes to the copy's. What check_grad differentiates; tests use it too.
Function& copy_as_f64(const Function& f, Module& m, std::unordered_map<const Node*, Node*>& map);
// t converted to f64 when it is f32; any other tensor unchanged.
Tensor to_f64(const Tensor& t);

// One line per grad node, e.g.
//   @f: grad %loss wrt %w: worst error 3.2e-11 in 8 checks: ok
//   @f: grad %z wrt %x: worst error 0 in 5 checks (1 skipped: not differentiable there): ok
//   @f: grad %loss wrt %w: %loss is not finite at these inputs: FAILED
void print_report(std::ostream& os, const CheckGradReport& report);

}  // namespace nabla
