#include "examples/common/optimizer.h"

#include <cmath>

#include "nabla/ir/builder.h"
#include "nabla/runtime/error.h"

namespace nabla::demo {
namespace {

Value state_input(Function& f, UpdateRule& r, Value param, const char* suffix) {
  std::string name = param->name() + suffix;
  Value v = f.input(name, param.type());
  r.state.push_back(v);
  r.state_names.push_back(name);
  return v;
}

void momentum(Function& f, const OptimizerOptions& o, const std::vector<Value>& params,
              const std::vector<Value>& grads, UpdateRule& r) {
  for (size_t i = 0; i < params.size(); ++i) {
    Value v = state_input(f, r, params[i], "_v");
    Value v2 = o.momentum * v + grads[i];
    r.new_params.push_back(params[i] - r.lr * v2);
    r.new_state.push_back(v2);
  }
}

// b^t as exp(t ln b): t is a run-time input.
Value power(Value t, double b) { return exp(t * std::log(b)); }

void adam(Function& f, const OptimizerOptions& o, const std::vector<Value>& params, const std::vector<Value>& grads,
          UpdateRule& r) {
  r.t = f.input("t", f32());
  std::vector<Value> ms, vs;
  for (Value p : params) ms.push_back(state_input(f, r, p, "_m"));
  for (Value p : params) vs.push_back(state_input(f, r, p, "_v"));
  Value c1 = 1.0 - power(r.t, o.beta1), c2 = 1.0 - power(r.t, o.beta2);
  std::vector<Value> new_v;
  for (size_t i = 0; i < params.size(); ++i) {
    Value m2 = o.beta1 * ms[i] + (1 - o.beta1) * grads[i];
    Value v2 = o.beta2 * vs[i] + (1 - o.beta2) * (grads[i] * grads[i]);
    r.new_params.push_back(params[i] - r.lr * (m2 / c1) / (sqrt(v2 / c2) + o.eps));
    r.new_state.push_back(m2);
    new_v.push_back(v2);
  }
  r.new_state.insert(r.new_state.end(), new_v.begin(), new_v.end());
}

}  // namespace

OptimizerKind optimizer_kind(std::string_view name) {
  if (name == "sgd") return OptimizerKind::sgd;
  if (name == "momentum") return OptimizerKind::momentum;
  if (name == "adam") return OptimizerKind::adam;
  throw Error("unknown optimizer '" + std::string(name) + "' (sgd, momentum or adam)");
}

const char* optimizer_name(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::sgd: return "sgd";
    case OptimizerKind::momentum: return "momentum";
    case OptimizerKind::adam: return "adam";
  }
  return "?";
}

UpdateRule build_update(Function& f, const OptimizerOptions& o, const std::vector<Value>& params,
                        const std::vector<Value>& grads) {
  UpdateRule r;
  r.lr = f.input("lr", f32());
  switch (o.kind) {
    case OptimizerKind::sgd:
      for (size_t i = 0; i < params.size(); ++i) r.new_params.push_back(params[i] - r.lr * grads[i]);
      break;
    case OptimizerKind::momentum: momentum(f, o, params, grads, r); break;
    case OptimizerKind::adam: adam(f, o, params, grads, r); break;
  }
  return r;
}

}  // namespace nabla::demo
