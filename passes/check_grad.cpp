#include "nabla/passes/check_grad.h"

#include <algorithm>
#include <functional>
#include <cmath>
#include <ostream>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "nabla/ir/interpreter.h"
#include "nabla/ir/printer_names.h"
#include "nabla/ir/random_inputs.h"
#include "nabla/ir/fused.h"
#include "nabla/ir/loop.h"
#include "nabla/passes/build_grad.h"
#include "nabla/ir/limits.h"
#include "nabla/runtime/error.h"

namespace nabla {

Tensor to_f64(const Tensor& t) {
  if (t.dtype() != DType::f32) return t;
  Tensor out(DType::f64, t.shape());
  for (int64_t i = 0; i < t.numel(); ++i) out.set(i, t.get(i));
  return out;
}

namespace {

// f's nodes and results copied into c (whose inputs `map` already holds) with
// every f32 value made f64, loop bodies included.
void copy_nodes_as_f64(const Function& f, Function& c, std::unordered_map<const Node*, Node*>& map);

std::shared_ptr<const Function> body_as_f64(const Function* body) {
  if (!body) return nullptr;
  thread_local int depth = 0;  // the body's loops copy their bodies
  DepthGuard level(depth, [](const std::string& m) { throw Error("check_grad: " + m); });
  auto c = std::make_shared<Function>(body->name());
  std::unordered_map<const Node*, Node*> map;
  for (Node* in : body->inputs()) {
    TensorType t = in->type();
    if (t.dtype == DType::f32) t.dtype = DType::f64;
    map[in] = c->input(in->name(), t);
  }
  copy_nodes_as_f64(*body, *c, map);
  return c;
}

void copy_nodes_as_f64(const Function& f, Function& c, std::unordered_map<const Node*, Node*>& map) {
  for (Node* n : f) {
    if (map.count(n)) continue;  // a later node of a loop already copied
    std::vector<Node*> operands;
    for (Node* o : n->operands()) operands.push_back(map.at(o));
    Attrs a = n->attrs();
    if (n->op() == Op::Constant) a.value = to_f64(a.value);
    if ((n->op() == Op::Cast || n->op() == Op::OneHot) && a.dtype == DType::f32) a.dtype = DType::f64;
    if (is_loop(n->op())) {
      std::vector<Node*> group = fused_group(n);
      std::vector<Node*> copies = make_loop(c, n->op(), std::move(operands), a, body_as_f64(n->body()),
                                            body_as_f64(n->cond()));
      for (size_t i = 0; i < group.size(); ++i) map[group[i]] = copies[static_cast<size_t>(group[i]->body_result())];
      continue;
    }
    Node* copy = c.make(n->op(), std::move(operands), std::move(a));
    if (!n->name().empty()) copy->set_name(n->name());
    map[n] = copy;
  }
  for (Node* r : f.results()) c.output(map.at(r));
}

}  // namespace

Function& copy_as_f64(const Function& f, Module& m, std::unordered_map<const Node*, Node*>& map) {
  Function& c = m.add_function(f.name());
  for (Node* in : f.inputs()) {
    TensorType t = in->type();
    if (t.dtype == DType::f32) t.dtype = DType::f64;
    map[in] = c.input(in->name(), t);
  }
  copy_nodes_as_f64(f, c, map);
  return c;
}

namespace {

// Evaluates a function node by node, and re-evaluates z with one value replaced.
class Evaluator {
 public:
  Evaluator(const Function& f, std::span<const Tensor> inputs) : f_(f) {
    for (size_t i = 0; i < inputs.size(); ++i) base_[f.inputs()[i]] = inputs[i];
    for (Node* n : f) base_[n] = evaluate(*n, operand_values(n, base_));
  }
  const Tensor& value(const Node* n) const { return base_.at(n); }

  // z's value when w's value is `w_value` (the nodes between them recomputed).
  double z_with(const Node* z, const Node* w, const Tensor& w_value) const {
    if (z == w) return w_value.get(0);
    std::unordered_map<const Node*, Tensor> changed{{w, w_value}};
    for (Node* n : f_) {
      // stop_gradient holds its value: the gradient is that of z with every
      // stop_gradient a constant, and so is the finite difference.
      if (n == w || n->op() == Op::StopGradient) continue;
      bool depends = false;
      for (Node* o : n->operands()) depends = depends || changed.count(o);
      if (depends) changed[n] = evaluate(*n, operand_values(n, changed));
      if (n == z) break;
    }
    auto it = changed.find(z);
    return (it != changed.end() ? it->second : base_.at(z)).get(0);
  }

 private:
  std::vector<Tensor> operand_values(const Node* n,
                                     const std::unordered_map<const Node*, Tensor>& over) const {
    std::vector<Tensor> vals;
    for (Node* o : n->operands()) {
      auto it = over.find(o);
      vals.push_back(it != over.end() ? it->second : base_.at(o));
    }
    return vals;
  }

  const Function& f_;
  std::unordered_map<const Node*, Tensor> base_;
};

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// A random direction of unit length.
std::vector<double> random_direction(int64_t n, uint64_t& state) {
  std::vector<double> d(n);
  double norm = 0;
  for (double& x : d) {
    x = static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53 * 2 - 1;
    norm += x * x;
  }
  norm = std::sqrt(norm);
  for (double& x : d) x = norm > 0 ? x / norm : 0;
  return d;
}

double error_of(double analytic, double numeric) {
  if (std::isnan(analytic) != std::isnan(numeric)) return INFINITY;
  if (std::isnan(analytic)) return 0;
  return std::fabs(analytic - numeric) / std::max({1.0, std::fabs(analytic), std::fabs(numeric)});
}

// Compares one expanded gradient with central differences of z in w. A
// comparison that fails where z is not differentiable (the one-sided
// differences disagree, as at a kink of relu or a tie of maximum, or z leaves
// its domain on one side) is skipped: no gradient is right or wrong there.
GradCheck check_one(const Evaluator& ev, const Node* z, const Node* w, const Node* g,
                    const CheckGradOptions& o, uint64_t& state) {
  GradCheck r;
  double z0 = ev.value(z).get(0);
  r.z_finite = std::isfinite(z0);
  if (!r.z_finite) return r;
  const Tensor& wv = ev.value(w);
  const Tensor& gv = ev.value(g);
  int64_t n = wv.numel();
  double scale = 1;
  for (int64_t j = 0; j < n; ++j) scale = std::max(scale, std::fabs(wv.get(j)));
  auto z_at = [&](const std::vector<double>& d, double h) {
    Tensor moved = wv.clone();
    for (int64_t j = 0; j < n; ++j) moved.set(j, wv.get(j) + h * d[j]);
    return ev.z_with(z, w, moved);
  };
  auto compare = [&](double analytic, const std::vector<double>& d, double h) {
    double plus = z_at(d, h), minus = z_at(d, -h);
    double central = (plus - minus) / (2 * h);
    double err = error_of(analytic, central);
    if (err > o.tolerance) {
      double forward = (plus - z0) / h, backward = (z0 - minus) / h;
      constexpr double kKinkGap = 1e-2;
      if (!std::isfinite(plus) || !std::isfinite(minus) || error_of(forward, backward) > kKinkGap) {
        ++r.skipped;
        return;
      }
      // Steep but smooth (rsqrt near 0): Richardson's extrapolation from h and
      // h/2 cancels the h^2 term of the central difference's error.
      double half = (z_at(d, h / 2) - z_at(d, -h / 2)) / h;
      err = std::min(err, error_of(analytic, (4 * half - central) / 3));
    }
    r.worst_error = std::max(r.worst_error, err);
    ++r.checks;
  };
  if (n == 0) return r;
  for (int k = 0; k < o.directions; ++k) {
    std::vector<double> d = random_direction(n, state);
    double analytic = 0;
    for (int64_t j = 0; j < n; ++j) analytic += gv.get(j) * d[j];
    compare(analytic, d, o.step * scale);
  }
  if (n <= o.max_elementwise) {
    for (int64_t j = 0; j < n; ++j) {
      std::vector<double> e(n, 0.0);
      e[j] = 1;
      compare(gv.get(j), e, o.step * std::max(1.0, std::fabs(wv.get(j))));
    }
  }
  return r;
}

}  // namespace

bool CheckGradReport::ok() const {
  for (const GradCheck& g : grads)
    if (!g.z_finite || !(g.worst_error <= tolerance)) return false;
  return true;
}

CheckGradReport check_grad(const Function& f, std::span<const Tensor> inputs,
                           CheckGradOptions options) {
  if (inputs.size() != f.inputs().size())
    throw Error(fmt::format("check_grad: @{} takes {} inputs, got {}", f.name(), f.inputs().size(),
                            inputs.size()));
  std::vector<Tensor> inputs64;
  for (size_t i = 0; i < inputs.size(); ++i) {
    check_input(f, i, inputs[i]);
    inputs64.push_back(to_f64(inputs[i]));
  }
  // The copy keeps, as extra results, each grad node with its z and target, so
  // that they can be found again after the expansion replaced them.
  Module m;
  std::unordered_map<const Node*, Node*> map;
  Function& c = copy_as_f64(f, m, map);
  ValueNames names(f);
  CheckGradReport report{"@" + f.name(), options.tolerance, {}};
  size_t first = c.results().size();
  for (Node* n : f) {
    if (n->op() != Op::Grad) continue;
    for (Node* v : {n, n->operand(0), n->operand(1)}) c.output(map.at(v));
    report.grads.push_back({names.ref(n->operand(0)), names.ref(n->operand(1)), 0, 0});
  }
  if (report.grads.empty()) throw Error("check_grad: @" + f.name() + " has no grad node");
  if (options.expand) options.expand(c);
  else build_grad(c, options.grad);
  Evaluator ev(c, inputs64);
  uint64_t state = options.seed ^ 0x6a09e667f3bcc909ull;
  for (size_t k = 0; k < report.grads.size(); ++k) {
    const Node* g = c.results()[first + 3 * k];
    const Node* z = c.results()[first + 3 * k + 1];
    const Node* w = c.results()[first + 3 * k + 2];
    GradCheck r = check_one(ev, z, w, g, options, state);
    report.grads[k].worst_error = r.worst_error;
    report.grads[k].checks = r.checks;
    report.grads[k].z_finite = r.z_finite;
    report.grads[k].skipped = r.skipped;
  }
  return report;
}

CheckGradReport check_grad(const Function& f, CheckGradOptions options) {
  std::vector<Tensor> inputs = random_inputs(f, options.seed);
  return check_grad(f, inputs, options);
}

void print_report(std::ostream& os, const CheckGradReport& report) {
  for (const GradCheck& g : report.grads) {
    if (!g.z_finite) {
      os << fmt::format("{}: grad {} wrt {}: {} is not finite at these inputs: FAILED\n",
                        report.function, g.z, g.target, g.z);
      continue;
    }
    bool ok = g.worst_error <= report.tolerance;
    std::string skipped =
        g.skipped ? fmt::format(" ({} skipped: not differentiable there)", g.skipped) : "";
    os << fmt::format("{}: grad {} wrt {}: worst error {:.2g} in {} checks{}: {}\n", report.function,
                      g.z, g.target, g.worst_error, g.checks, skipped,
                      ok ? "ok" : fmt::format("FAILED (tolerance {:.2g})", report.tolerance));
  }
}

}  // namespace nabla
