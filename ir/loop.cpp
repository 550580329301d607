// Loops: checking bodies, making the nodes, and the C++ builders.
#include "nabla/ir/loop.h"

#include <fmt/format.h>

#include "nabla/ir/clone.h"
#include "nabla/ir/fused.h"
#include "nabla/ir/limits.h"
#include "nabla/ir/verifier.h"
#include "nabla/runtime/error.h"

namespace nabla {
namespace {

[[noreturn]] void fail(Op op, const std::string& m) { throw Error(fmt::format("{}: {}", op_name(op), m)); }

std::string types_str(std::span<const TensorType> ts) {
  std::string s;
  for (size_t i = 0; i < ts.size(); ++i) s += (i ? ", " : "") + ts[i].str();
  return "(" + s + ")";
}

void check_body(Op op, const char* which, const Function& body, std::span<const TensorType> expected) {
  std::vector<TensorType> got = input_types(body);
  if (got != std::vector<TensorType>(expected.begin(), expected.end()))
    fail(op, fmt::format("the {} takes {}, but the loop gives it {}", which, types_str(got), types_str(expected)));
  if (body.results().empty()) fail(op, fmt::format("the {} has no result", which));
  try {
    verify(body);
  } catch (const Error& e) {
    fail(op, fmt::format("invalid {}: {}", which, e.what()));
  }
}

std::vector<TensorType> check_scan(std::span<const TensorType> ops, const Attrs& a, const Function& body) {
  const Op op = Op::Scan;
  size_t k = static_cast<size_t>(a.num_carry), m = static_cast<size_t>(a.num_xs);
  if (a.num_carry < 0 || a.num_xs < 0 || k + m > ops.size())
    fail(op, fmt::format("num_carry = {} and num_xs = {} do not fit {} operands", a.num_carry, a.num_xs, ops.size()));
  if (a.length < 0) fail(op, fmt::format("length = {} is negative", a.length));
  if (a.checkpoint < -kMaxCheckpointLevels)
    fail(op, fmt::format("checkpoint = {} is neither -1 (sqrt) to -{} (levels), 0 (all) nor a step count", a.checkpoint,
                         kMaxCheckpointLevels));
  if (a.dynamic_length != 0) {
    size_t invariants = ops.size() - k - m;
    if (a.dynamic_length < 0 || static_cast<size_t>(a.dynamic_length) > invariants)
      fail(op, fmt::format("dynamic_length = {} names no invariant (there are {})", a.dynamic_length, invariants));
    const TensorType& count = ops[k + m + static_cast<size_t>(a.dynamic_length) - 1];
    if (count != TensorType{DType::i64, {}})
      fail(op, fmt::format("the trip count (invariant {}) must be i64[], got {}", a.dynamic_length, count.str()));
  }
  // What iteration i sees: the carries, slice i of each xs, the invariants.
  std::vector<TensorType> seen(ops.begin(), ops.end());
  for (size_t j = k; j < k + m; ++j) {
    if (ops[j].rank() == 0 || ops[j].shape[0] != a.length)
      fail(op, fmt::format("xs operand {} is {}, but its leading axis must be length = {}", j - k, ops[j].str(),
                           a.length));
    seen[j].shape.erase(seen[j].shape.begin());
  }
  check_body(op, "body", body, seen);
  const auto& r = body.results();
  if (r.size() < k) fail(op, fmt::format("the body returns {} values for {} carried values", r.size(), k));
  std::vector<TensorType> out;
  for (size_t i = 0; i < k; ++i) {
    if (r[i]->type() != ops[i])
      fail(op, fmt::format("body result {} is {}, but carried value {} is {}", i, r[i]->type().str(), i,
                           ops[i].str()));
    out.push_back(ops[i]);
  }
  for (size_t i = k; i < r.size(); ++i) {
    TensorType y = r[i]->type();
    int64_t total = 0;
    if (__builtin_mul_overflow(y.numel(), a.length, &total) || total > kMaxTypeElements)
      fail(op, fmt::format("body result {} ({}) stacked {} times has more than 2^62 elements", i, y.str(), a.length));
    y.shape.insert(y.shape.begin(), a.length);
    out.push_back(y);
  }
  return out;
}

std::vector<TensorType> check_while(std::span<const TensorType> ops, const Attrs& a, const Function& body,
                                    const Function* cond) {
  const Op op = Op::While;
  if (!cond) fail(op, "no condition body");
  if (a.max_trip_count < -1) fail(op, fmt::format("max_trip_count = {} is negative", a.max_trip_count));
  check_body(op, "condition", *cond, ops);
  check_body(op, "body", body, ops);
  std::vector<TensorType> ct;
  for (const Node* n : cond->results()) ct.push_back(n->type());
  if (ct != std::vector<TensorType>{TensorType{DType::bool_, {}}})
    fail(op, fmt::format("the condition must return one bool[], got {}", types_str(ct)));
  const auto& r = body.results();
  if (r.size() > ops.size())
    fail(op, fmt::format("the body returns {} values for {} operands", r.size(), ops.size()));
  std::vector<TensorType> out;
  for (size_t i = 0; i < r.size(); ++i) {
    if (r[i]->type() != ops[i])
      fail(op, fmt::format("body result {} is {}, but carried value {} is {}", i, r[i]->type().str(), i,
                           ops[i].str()));
    out.push_back(ops[i]);
  }
  return out;
}

}  // namespace

std::vector<TensorType> input_types(const Function& f) {
  std::vector<TensorType> t;
  for (const Node* in : f.inputs()) t.push_back(in->type());
  return t;
}

std::vector<Node*> add_inputs(Function& f, std::span<const TensorType> types) {
  std::vector<Node*> in;
  for (const TensorType& t : types) in.push_back(f.input("a" + std::to_string(f.inputs().size()), t));
  return in;
}

LoopLayout loop_layout(const Node& n) {
  LoopLayout l;
  const size_t results = n.body()->results().size();
  if (n.op() == Op::Scan) {
    l.carry = static_cast<size_t>(n.attrs().num_carry);
    l.xs = static_cast<size_t>(n.attrs().num_xs);
    l.ys = results - l.carry;
    l.length = n.attrs().length;
    if (n.attrs().dynamic_length > 0)
      l.count = static_cast<int64_t>(l.carry + l.xs) + n.attrs().dynamic_length - 1;
  } else {
    l.carry = results;
  }
  l.invariant = n.num_operands() - l.carry - l.xs;
  return l;
}

std::vector<TensorType> check_loop(Op op, std::span<const TensorType> operands, const Attrs& attrs,
                                   const Function& body, const Function* cond) {
  if (op == Op::Scan) {
    if (cond) fail(op, "a scan has no condition body");
    return check_scan(operands, attrs, body);
  }
  if (op == Op::While) return check_while(operands, attrs, body, cond);
  throw Error(fmt::format("{}: not a loop", op_name(op)));
}

std::vector<Node*> make_loop(Function& f, Op op, std::vector<Node*> operands, Attrs attrs,
                             std::shared_ptr<const Function> body, std::shared_ptr<const Function> cond) {
  if (!body) fail(op, "no body");
  std::vector<TensorType> types;
  for (const Node* o : operands) {
    if (!o || o->function() != &f) fail(op, "an operand is not a value of @" + f.name());
    types.push_back(o->type());
  }
  Attrs clean;
  if (op == Op::Scan) {
    clean.length = attrs.length;
    clean.num_carry = attrs.num_carry;
    clean.num_xs = attrs.num_xs;
    clean.reverse = attrs.reverse;
    clean.checkpoint = attrs.checkpoint;
    clean.dynamic_length = attrs.dynamic_length;
  } else {
    clean.max_trip_count = attrs.max_trip_count;
  }
  std::vector<TensorType> results = check_loop(op, types, clean, *body, cond.get());
  std::vector<Node*> nodes;
  for (size_t i = 0; i < results.size(); ++i) {
    Node* n = f.create(op, operands, clean, results[i]);
    n->set_body(body, static_cast<int>(i));
    n->set_cond(cond);
    nodes.push_back(n);
  }
  return nodes;
}

namespace {

thread_local int rewrite_depth = 0;

// A body is one level deeper than the function holding its loop: f's own
// bodies are level 1 (ir/limits.h).
std::shared_ptr<const Function> rewritten(const Function& body, const std::function<bool(Function&)>& fn) {
  DepthGuard level(rewrite_depth, [](const std::string& m) { throw Error("loop: " + m); });
  auto copy = std::make_shared<Function>(body.name());
  clone_into(body, *copy);
  bool changed = rewrite_bodies(*copy, fn);
  changed |= fn(*copy);
  return changed ? copy : nullptr;
}

}  // namespace

bool rewrite_bodies(Function& f, const std::function<bool(Function&)>& fn) {
  bool changed = false;
  for (Node* n : f) {
    if (!is_loop(n->op()) || n->body_result() != 0) continue;
    std::vector<Node*> group = fused_group(n);
    if (auto body = rewritten(*n->body(), fn)) {
      for (Node* m : group) m->set_body(body, m->body_result());
      changed = true;
    }
    if (n->cond())
      if (auto cond = rewritten(*n->cond(), fn)) {
        for (Node* m : group) m->set_cond(cond);
        changed = true;
      }
  }
  return changed;
}

// ---- Builders ----

namespace {

std::vector<Value> add_inputs(Function& body, const char* prefix, std::span<const TensorType> types) {
  std::vector<Value> v;
  for (size_t i = 0; i < types.size(); ++i) v.push_back(body.input(fmt::format("{}{}", prefix, i), types[i]));
  return v;
}

std::vector<TensorType> types_of(std::span<const Value> vs) {
  std::vector<TensorType> t;
  for (Value v : vs) {
    if (!v.node) throw Error("loop: a null value");
    t.push_back(v.type());
  }
  return t;
}

void output_all(Op op, Function& body, std::span<const Value> vs) {
  for (Value v : vs) {
    if (!v.node || v->function() != &body)
      fail(op, "a body result is not a value of the body (values of the enclosing function enter as invariants)");
    body.output(v);
  }
}

Function& enclosing(Op op, std::span<const Value> a, std::span<const Value> b) {
  if (!a.empty() && a[0].node) return *a[0]->function();
  if (!b.empty() && b[0].node) return *b[0]->function();
  fail(op, "a loop needs at least one operand");
}

}  // namespace

ScanResult scan(const ScanBody& body_fn, std::vector<Value> init, std::vector<Value> xs,
                std::vector<Value> invariants, ScanOptions options) {
  Function& f = enclosing(Op::Scan, init, xs.empty() ? invariants : xs);
  std::vector<TensorType> slices = types_of(xs);
  int64_t length = options.length;
  for (TensorType& t : slices) {
    if (t.rank() == 0) fail(Op::Scan, fmt::format("xs value {} has no leading axis to slice", t.str()));
    if (length < 0) length = t.shape[0];
    t.shape.erase(t.shape.begin());
  }
  if (length < 0) fail(Op::Scan, "without xs, the length must be given");
  auto body = std::make_shared<Function>("scan.body");
  std::vector<Value> c = add_inputs(*body, "c", types_of(init));
  std::vector<Value> x = add_inputs(*body, "x", slices);
  std::vector<Value> w = add_inputs(*body, "w", types_of(invariants));
  ScanBodyResult r = body_fn(c, x, w);
  output_all(Op::Scan, *body, r.carry);
  output_all(Op::Scan, *body, r.ys);
  std::vector<Node*> operands(init.begin(), init.end());
  operands.insert(operands.end(), xs.begin(), xs.end());
  operands.insert(operands.end(), invariants.begin(), invariants.end());
  Attrs a;
  if (options.steps.node) {
    operands.push_back(options.steps);
    body->input("steps", options.steps->type());
    a.dynamic_length = static_cast<int64_t>(invariants.size()) + 1;
  }
  a.length = length;
  a.num_carry = static_cast<int64_t>(init.size());
  a.num_xs = static_cast<int64_t>(xs.size());
  a.reverse = options.reverse;
  a.checkpoint = options.checkpoint;
  std::vector<Node*> nodes = make_loop(f, Op::Scan, std::move(operands), a, std::move(body));
  ScanResult out;
  out.carry.assign(nodes.begin(), nodes.begin() + static_cast<std::ptrdiff_t>(init.size()));
  out.ys.assign(nodes.begin() + static_cast<std::ptrdiff_t>(init.size()), nodes.end());
  return out;
}

std::vector<Value> while_loop(const WhileCond& cond_fn, const WhileStep& step_fn, std::vector<Value> init,
                              std::vector<Value> invariants, int64_t max_trip_count) {
  Function& f = enclosing(Op::While, init, invariants);
  std::vector<TensorType> ct = types_of(init), wt = types_of(invariants);
  auto cond = std::make_shared<Function>("while.cond");
  auto step = std::make_shared<Function>("while.body");
  {
    std::vector<Value> c = add_inputs(*cond, "c", ct), w = add_inputs(*cond, "w", wt);
    Value p = cond_fn(c, w);
    output_all(Op::While, *cond, std::span<const Value>(&p, 1));
  }
  {
    std::vector<Value> c = add_inputs(*step, "c", ct), w = add_inputs(*step, "w", wt);
    output_all(Op::While, *step, step_fn(c, w));
  }
  std::vector<Node*> operands(init.begin(), init.end());
  operands.insert(operands.end(), invariants.begin(), invariants.end());
  Attrs a;
  a.max_trip_count = max_trip_count;
  std::vector<Node*> nodes = make_loop(f, Op::While, std::move(operands), a, std::move(step), std::move(cond));
  return {nodes.begin(), nodes.end()};
}

}  // namespace nabla
