// Forward mode through loops (ir/loop.h). The tangent of a loop is one loop
// over the primal operands and their tangents, whose body is the original
// body followed by its own tangents (push_forward inside the body): a scan
// carries (c, dc), slices (x, dx), reads (w, dw) and stacks (y, dy); a while
// carries (c, dc) under the original condition, so it runs the same steps
// however many there are: no max_trip_count and no tape, unlike reverse mode.
// The tangent loop computes the primal values again beside the tangents; the
// original loop stays for the primal's users until loop-opt replaces it by
// the tangent loop (passes/loop_opt.h).
#include <algorithm>

#include "nabla/ir/clone.h"
#include "nabla/ir/loop.h"
#include "nabla/passes/build_grad.h"
#include "nabla/passes/forward.h"
#include "nabla/passes/loop_grad.h"

namespace nabla::autodiff {
namespace {

// The parts that move, by index within their part: float operands with a
// tangent, the carries whose step makes them depend on a moving input (to a
// fixed point), and the stacked outputs that depend on one.
struct Moving {
  std::vector<size_t> c, x, w, y;
};

Moving moving_parts(const Node& n, const LoopLayout& l, std::span<const Value> t) {
  std::vector<bool> in(n.num_operands());
  for (size_t i = 0; i < in.size(); ++i) in[i] = t[i].node && is_float(n.operand(i)->dtype());
  std::vector<bool> out = results_reached(*n.body(), in);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t j = 0; j < l.carry; ++j)
      if (out[j] && !in[j]) in[j] = changed = true;
    if (changed) out = results_reached(*n.body(), in);
  }
  Moving m;
  for (size_t j = 0; j < l.carry; ++j)
    if (in[j]) m.c.push_back(j);
  for (size_t j = 0; j < l.xs; ++j)
    if (in[l.carry + j]) m.x.push_back(j);
  for (size_t j = 0; j < l.invariant; ++j)
    if (in[l.carry + l.xs + j]) m.w.push_back(j);
  for (size_t j = 0; j < l.ys; ++j)
    if (out[l.carry + j]) m.y.push_back(j);
  return m;
}

// Operand positions of the tangent loop: (c, dc, x, dx, w, dw) in the
// original's terms, as (part start, indices) pairs.
struct Part {
  size_t from;
  std::vector<size_t> idx;
};

std::vector<Part> operand_parts(const LoopLayout& l, const Moving& m) {
  auto all = [](size_t count) {
    std::vector<size_t> v(count);
    for (size_t j = 0; j < count; ++j) v[j] = j;
    return v;
  };
  size_t w0 = l.carry + l.xs;
  return {{0, all(l.carry)}, {0, m.c}, {l.carry, all(l.xs)}, {l.carry, m.x}, {w0, all(l.invariant)}, {w0, m.w}};
}

// Adds the tangent body's inputs: per part of operand_parts, inputs of the
// original body's types at those positions.
std::vector<std::vector<Node*>> add_part_inputs(Function& body, const Function& src, const std::vector<Part>& parts) {
  std::vector<TensorType> types = input_types(src);
  std::vector<std::vector<Node*>> in;
  for (const Part& p : parts) {
    std::vector<TensorType> ts;
    for (size_t j : p.idx) ts.push_back(types[p.from + j]);
    in.push_back(add_inputs(body, ts));
  }
  return in;
}

// The step body (c, dc, x, dx, w, dw) -> (c', dc', y, dy).
std::shared_ptr<Function> tangent_body(const Node& n, const LoopLayout& l, const Moving& m,
                                       const std::vector<Part>& parts) {
  const Function& src = *n.body();
  auto body = std::make_shared<Function>(std::string(op_name(n.op())) + ".jvp");
  std::vector<std::vector<Node*>> in = add_part_inputs(*body, src, parts);
  std::vector<Node*> args;
  for (size_t p : {0, 2, 4}) args.insert(args.end(), in[p].begin(), in[p].end());
  for (Node* r : inline_function(src, *body, args)) body->output(r);
  build_grad(*body);  // a grad inside the body, expanded before its tangent
  std::vector<Value> seeds, seed_t;
  for (size_t p : {1, 3, 5})
    for (size_t i = 0; i < parts[p].idx.size(); ++i) {
      seeds.push_back(args[parts[p].from + parts[p].idx[i]]);
      seed_t.push_back(in[p][i]);
    }
  std::vector<Value> primal(body->results().begin(), body->results().end());
  std::vector<Value> d = push_forward(*body, seeds, seed_t, primal);
  GradBuilder b(*body);
  auto tangent = [&](size_t r) { return d[r].node ? d[r] : b.zeros(primal[r]->type()); };
  body->clear_results();
  for (size_t j = 0; j < l.carry; ++j) body->output(primal[j]);
  for (size_t j : m.c) body->output(tangent(j));
  for (size_t j = 0; j < l.ys; ++j) body->output(primal[l.carry + j]);
  for (size_t j : m.y) body->output(tangent(l.carry + j));
  return body;
}

// A while's condition on the tangent loop's inputs (c, dc, w, dw): the original on (c, w).
std::shared_ptr<Function> tangent_cond(const Node& n, const std::vector<Part>& parts) {
  auto cond = std::make_shared<Function>("while.jvp.cond");
  std::vector<std::vector<Node*>> in = add_part_inputs(*cond, *n.body(), parts);
  std::vector<Node*> args = in[0];
  args.insert(args.end(), in[4].begin(), in[4].end());
  cond->output(inline_function(*n.cond(), *cond, args)[0]);
  return cond;
}

}  // namespace

std::vector<Value> loop_jvp(GradBuilder& b, const std::vector<Node*>& group, std::span<const Value> t) {
  const Node& n = *group[0];
  LoopLayout l = loop_layout(n);
  Moving m = moving_parts(n, l, t);
  std::vector<Value> result(group.size());
  if (m.c.empty() && m.y.empty()) return result;
  std::vector<Part> parts = operand_parts(l, m);
  std::vector<Node*> operands;
  for (size_t p = 0; p < parts.size(); ++p)
    for (size_t j : parts[p].idx) {
      size_t i = parts[p].from + j;
      operands.push_back(p % 2 == 0 ? n.operand(i) : t[i].node ? t[i].node : b.zeros(n.operand(i)->type()).node);
    }
  Attrs a = n.attrs();
  if (n.op() == Op::Scan) {
    a.num_carry = static_cast<int64_t>(l.carry + m.c.size());
    a.num_xs = static_cast<int64_t>(l.xs + m.x.size());
  }
  std::shared_ptr<Function> cond = n.op() == Op::While ? tangent_cond(n, parts) : nullptr;
  std::vector<Node*> loop =
      make_loop(b.function(), n.op(), std::move(operands), a, tangent_body(n, l, m, parts), std::move(cond));
  for (size_t k = 0; k < group.size(); ++k) {
    size_t r = static_cast<size_t>(group[k]->body_result());
    const std::vector<size_t>& moving = r < l.carry ? m.c : m.y;
    size_t j = r < l.carry ? r : r - l.carry, base = r < l.carry ? l.carry : l.carry + m.c.size() + l.ys;
    auto it = std::find(moving.begin(), moving.end(), j);
    if (it != moving.end()) result[k] = loop[base + static_cast<size_t>(it - moving.begin())];
  }
  return result;
}

}  // namespace nabla::autodiff
