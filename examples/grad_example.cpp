// A gradient and a Hessian-vector product with the C++ API (docs/autodiff.md).
// Builds logistic regression, J(w, b) = mean of the binary cross-entropy of
// sigmoid(X w + b) against y, adds dJ/dw, dJ/db and (d^2 J/dw^2) v with
// nabla::grad and nabla::hvp, prints the graph, evaluates it, and checks the
// same derivatives as grad nodes against finite differences. Exits 1 when a
// derivative is off.
#include <iostream>

#include "nabla/ir/builder.h"
#include "nabla/ir/interpreter.h"
#include "nabla/ir/printer.h"
#include "nabla/ir/random_inputs.h"
#include "nabla/passes/build_grad.h"
#include "nabla/passes/check_grad.h"
#include "nabla/passes/derivatives.h"
#include "nabla/passes/pass_manager.h"

using namespace nabla;

// J(w, b) for inputs X [8,3], y [8,1] (0 or 1), w [3,1], b [].
Value logistic_cost(Value X, Value y, Value w, Value b) {
  Value p = sigmoid(matmul(X, w) + b);
  Value log_likelihood = y * log(p) + (1.0 - y) * log(1.0 - p);
  return -mean(log_likelihood);
}

int main() {
  Module m;
  Function& f = m.add_function("logreg");
  Value X = f.input("X", f32({8, 3})), y = f.input("y", f32({8, 1}));
  Value w = f.input("w", f32({3, 1})), b = f.input("b", f32()), v = f.input("v", f32({3, 1}));
  Value J = logistic_cost(X, y, w, b);
  J->set_name("J");
  std::vector<Value> g = grad(J, {w, b});  // nodes appended now
  Value hv = hvp(J, w, v);
  for (Value out : {J, g[0], g[1], hv}) f.output(out);
  run_default_pipeline(m);  // clean up what the sweeps left
  std::cout << print(f) << "\n";

  std::vector<Tensor> inputs = random_inputs(f, 1);
  for (int64_t i = 0; i < 8; ++i) inputs[1].set(i, i % 2);  // labels 0/1
  std::vector<Tensor> results = interpret(f, inputs);
  const char* names[] = {"J", "dJ/dw", "dJ/db", "H v"};
  for (size_t k = 0; k < results.size(); ++k) {
    std::cout << names[k] << ":";
    for (int64_t i = 0; i < results[k].numel(); ++i) std::cout << " " << results[k].get(i);
    std::cout << "\n";
  }

  // The same derivatives as grad nodes, checked against central differences.
  Module checked;
  Function& c = checked.add_function("logreg");
  Value cX = c.input("X", f32({8, 3})), cy = c.input("y", f32({8, 1}));
  Value cw = c.input("w", f32({3, 1})), cb = c.input("b", f32()), cv = c.input("v", f32({3, 1}));
  Value cJ = logistic_cost(cX, cy, cw, cb);
  Value gw = grad_op(cJ, cw);
  c.output(gw);
  c.output(grad_op(cJ, cb));
  c.output(grad_op(sum(gw * cv), cw));
  CheckGradReport report = check_grad(c, inputs);
  print_report(std::cout, report);
  return report.ok() ? 0 : 1;
}
