// build-grad: backpropagation as a graph transformation.
//
// The code follows the lecture's general back-propagation (Sargur N. Srihari's
// lecture notes "Back Propagation and Other Differentiation Algorithms" on
// Goodfellow, Bengio and Courville, Deep Learning, section 6.5; the book's
// section 6.5.6):
//   Algorithm 5, the outer skeleton: prune the graph G to G' (the ancestors of
//     z that descend from a target), set grad_table[z] = 1, call build_grad for
//     every target, return the table restricted to the targets;
//   Algorithm 6, build_grad(V): return grad_table[V] if present; otherwise,
//     for each consumer C of V in G', D = build_grad(C), G(i) = bprop of C's
//     operation for input V given D; grad_table[V] = sum of the G(i).
// Each edge of G' gets one bprop call and each node one sum, so the nodes added
// are linear in the edges of G' (docs/autodiff.md states the constant).
// One exception: a long elementwise region behind a target is differentiated
// forward, with the same rules applied to tangents (passes/tangents.h).
#include "nabla/passes/build_grad.h"
#include "nabla/passes/pass.h"

#include <algorithm>
#include <deque>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "nabla/ir/diagnostic.h"
#include "nabla/ir/printer.h"
#include "nabla/ir/printer_names.h"
#include "nabla/ir/reach.h"
#include "nabla/ir/fused.h"
#include "nabla/ir/loop.h"
#include "nabla/passes/bprop.h"
#include "nabla/passes/loop_grad.h"
#include "nabla/passes/rewrite.h"
#include "nabla/passes/tangents.h"
#include "nabla/runtime/error.h"

namespace nabla {
namespace {

using autodiff::GradBuilder;
// Names for messages. The pass hands over the names its function printed with
// before any grad was expanded, so that messages match the input file; nodes
// made since then are named as the function prints now.
class Names {
 public:
  Names(const Function& f, const ValueNames* before) : f_(f), before_(before) {}
  std::string ref(const Node* n) const {
    if (before_) {
      std::string s = before_->ref(n);
      if (s != "%?") return s;
    }
    return now().ref(n);
  }
  std::string line(const Node& n) const {
    bool known = before_ && before_->ref(&n) != "%?";
    for (const Node* o : n.operands()) known = known && before_->ref(o) != "%?";
    return known ? print_node(n, *before_) : print_node(n);
  }

 private:
  const ValueNames& now() const {
    if (!now_) now_ = std::make_unique<ValueNames>(f_);
    return *now_;
  }
  const Function& f_;
  const ValueNames* before_;
  mutable std::unique_ptr<ValueNames> now_;
};

std::string undefined(const Names& names, const Node* z, const Node* w) {
  return "grad: the derivative of " + names.ref(z) + " with respect to " + names.ref(w) +
         " is undefined: ";
}

// The nodes of G' from which a gradient reaches z: z, then (walking back)
// every operand that carries a gradient into one of them. One walk serves
// all targets.
NodeSet reaching_z(Node* z, const NodeSet& pruned) {
  NodeSet reach{z};
  std::vector<Node*> stack{z};
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (size_t i = 0; i < n->num_operands(); ++i) {
      Node* o = n->operand(i);
      if (pruned.count(o) && autodiff::carries_gradient(*n, i) && reach.insert(o).second)
        stack.push_back(o);
    }
  }
  return reach;
}

// For a target in G' that no gradient path joins to z: the blocking node
// nearest to w, an integer or bool value of G' that a gradient path from w
// runs into.
const Node* blocking_node(const Node* w, const NodeSet& pruned) {
  NodeSet seen{w};
  std::deque<const Node*> queue{w};
  while (!queue.empty()) {
    const Node* n = queue.front();
    queue.pop_front();
    for (Node* u : n->users()) {
      if (!pruned.count(u) || seen.count(u)) continue;
      bool flows = false;
      for (size_t i = 0; i < u->num_operands(); ++i)
        if (u->operand(i) == n && autodiff::carries_gradient(*u, i)) flows = true;
      if (!flows) return u;
      seen.insert(u);
      queue.push_back(u);
    }
  }
  return w;
}

// The errors of the API contract, checked before any node is created.
void check_request(Value z, std::span<const Value> wrt, const NodeSet& above_z,
                   const NodeSet& pruned, const GradOptions& options, const Names& names) {
  for (Value w : wrt) {
    if (!w.node) throw Error("grad: null target");
    if (w->function() != z->function())
      throw Error("grad: target " + ValueNames(*w->function()).ref(w) + " belongs to function @" +
                  w->function()->name() + ", not @" + z->function()->name());
    if (!is_float(w->dtype()))
      throw Error(undefined(names, z, w) + names.ref(w) + " is " + w->type().str() + ", and " +
                  (w->dtype() == DType::bool_ ? "bool" : "integer") +
                  " values carry no gradient");
  }
  for (const Node* n : above_z)
    if (n->op() == Op::Grad)
      throw Error("grad: " + names.ref(z) + " depends on `" + names.line(*n) +
                  "`, which is not expanded yet (run build-grad on it first)");
  NodeSet reach = reaching_z(z, pruned);
  for (Value w : wrt) {
    if (options.allow_disconnected || reach.count(w.node)) continue;
    if (!pruned.count(w.node))
      throw Error("grad: " + names.ref(w) + " does not influence " + names.ref(z));
    const Node* b = blocking_node(w, pruned);
    throw Error(undefined(names, z, w) + "every path from " + names.ref(w) + " to " + names.ref(z) +
                  " passes through an integer or bool value, such as `" + names.line(*b) + "`");
  }
}

// One reverse sweep: the grad_table over G' and Algorithm 6.
class Sweep {
 public:
  Sweep(Node* z, NodeSet pruned, const GradOptions& options)
      : z_(z), pruned_(std::move(pruned)), options_(options), b_(*z->function()) {}

  // Algorithm 6: the gradient of z with respect to V (null means zero). A
  // target with a tangent region (passes/tangents.h) also gets, for each exit
  // e of the region, the gradient e receives from outside times de/dV.
  Value build_grad(Node* V) {
    if (auto it = grad_table_.find(V); it != grad_table_.end()) return it->second;
    std::vector<Value> contributions = from_consumers(V);  // the G(i)
    if (auto it = regions_.find(V); it != regions_.end()) {
      auto tangents = autodiff::region_tangents(b_, it->second);
      for (Node* e : it->second.nodes) {
        Value outside = autodiff::sum_of(from_consumers(e));
        if (auto t = tangents.find(e); outside.node && t != tangents.end())
          contributions.push_back(mul(outside, t->second));
      }
    }
    Value G = autodiff::sum_of(contributions);
    grad_table_[V] = G;
    return G;
  }

  // Algorithm 5: grad_table[z] = 1, then build_grad for each target. Visiting
  // G' users first means every consumer's entry is in the table when
  // build_grad(V) needs it, so the recursion stays one level deep however
  // long the graph is. Nodes of tangent regions get no entry: no gradient
  // flows through them backwards.
  std::vector<Value> run(std::span<const Value> wrt) {
    grad_table_[z_] = b_.scalar(z_->dtype(), 1.0);
    if (options_.forward_elementwise) plan_tangent_regions(wrt);
    for (Node* n : users_first())
      if (is_float(n->dtype()) && !in_region_.count(n)) build_grad(n);
    std::vector<Value> out;
    for (Value w : wrt) {
      Value g = pruned_.count(w.node) ? build_grad(w.node) : Value();
      out.push_back(g.node ? g : b_.zeros(w->type()));
    }
    return out;
  }

 private:
  // The nodes of G' with every node after all of its users in G' (a reversed
  // post-order of an operand walk from z): linear in G', whatever else the
  // function holds.
  std::vector<Node*> users_first() const {
    std::vector<Node*> order;
    std::unordered_set<const Node*> done;
    std::vector<std::pair<Node*, size_t>> stack{{z_, 0}};
    done.insert(z_);
    while (!stack.empty()) {
      auto& [n, next] = stack.back();
      if (next < n->num_operands()) {
        // Last operand first, so that the order follows the body backwards.
        Node* o = n->operand(n->num_operands() - 1 - next++);
        if (pruned_.count(o) && done.insert(o).second) stack.emplace_back(o, 0);
        continue;
      }
      order.push_back(n);
      stack.pop_back();
    }
    std::reverse(order.begin(), order.end());
    return order;
  }

  // bprop of each consumer C of V outside the tangent regions, given C's
  // gradient.
  std::vector<Value> from_consumers(Node* V) {
    std::vector<Value> out;
    for (Node* C : consumers(V)) {
      if (in_region_.count(C)) continue;
      if (is_loop(C->op())) {
        loop_contributions(C, V, out);
        continue;
      }
      Value D = build_grad(C);
      if (!D.node) continue;
      for (size_t i = 0; i < C->num_operands(); ++i)
        if (C->operand(i) == V && autodiff::carries_gradient(*C, i))
          if (Value Gi = autodiff::bprop(b_, C, i, D); Gi.node) out.push_back(Gi);
    }
    return out;
  }

  // A loop's results share one backward loop (passes/loop_grad.h), built
  // when the first of its operands asks; each operand slot takes its
  // gradient once, however many of the loop's results are consumers of V.
  void loop_contributions(Node* C, Node* V, std::vector<Value>& out) {
    std::vector<Node*> group = fused_group(C);
    auto [it, fresh] = loop_grads_.try_emplace(group[0]);
    if (fresh) {
      std::vector<Value> g;
      for (Node* m : group) g.push_back(pruned_.count(m) && is_float(m->dtype()) ? build_grad(m) : Value());
      it->second = autodiff::loop_vjp(b_, group, g);
    }
    for (size_t i = 0; i < C->num_operands(); ++i)
      if (C->operand(i) == V && it->second[i].node && loop_slots_taken_.insert({group[0], i}).second)
        out.push_back(it->second[i]);
  }

  // The tangent regions of the targets, when each holds at least
  // kMinTangentRegion nodes, none holds a target and no two share a node
  // (then one reverse sweep serves the targets better than one tangent
  // per target); otherwise none.
  void plan_tangent_regions(std::span<const Value> wrt) {
    NodeSet targets, seen;
    std::vector<autodiff::TangentRegion> found;
    for (Value w : wrt) targets.insert(w.node);
    for (Value w : wrt) {
      if (!pruned_.count(w.node) || !seen.insert(w.node).second) continue;
      autodiff::TangentRegion r = autodiff::find_tangent_region(w.node, z_, pruned_);
      if (r.nodes.size() >= autodiff::kMinTangentRegion) found.push_back(std::move(r));
    }
    seen.clear();
    for (const auto& r : found)
      for (const Node* n : r.nodes)
        if (targets.count(n) || !seen.insert(n).second) return;
    for (auto& r : found) {
      in_region_.insert(r.members.begin(), r.members.end());
      Node* target = r.target;
      regions_.emplace(target, std::move(r));
    }
  }

  // get_consumers(V, G'): each user of V in G' once, float-valued ones only.
  std::vector<Node*> consumers(Node* V) const {
    std::vector<Node*> out;
    for (Node* u : V->users())
      if (pruned_.count(u) && is_float(u->dtype()) && std::find(out.begin(), out.end(), u) == out.end())
        out.push_back(u);
    return out;
  }

  Node* z_;
  NodeSet pruned_;
  GradOptions options_;
  GradBuilder b_;
  std::unordered_map<const Node*, Value> grad_table_;
  std::unordered_map<const Node*, autodiff::TangentRegion> regions_;  // by target
  NodeSet in_region_;
  std::unordered_map<const Node*, std::vector<Value>> loop_grads_;  // by the loop's first node
  std::set<std::pair<const Node*, size_t>> loop_slots_taken_;
};

// nabla::grad, with the names for its messages.
std::vector<Value> expand(Value z, std::span<const Value> wrt, const GradOptions& options,
                          const ValueNames* before) {
  if (!z.node) throw Error("grad: null value to differentiate");
  Names names(*z->function(), before);
  if (!is_float(z->dtype()) || !z->type().is_scalar())
    throw Error("grad: the differentiated value " + names.ref(z) + " must be a float scalar, got " +
                z->type().str());
  // Algorithm 5, step 1: G' = the ancestors of z that descend from a target.
  NodeSet above_z = ancestors(std::span<const Value>(&z, 1));
  NodeSet pruned = descendants_within(above_z, wrt);
  check_request(z, wrt, above_z, pruned, options, names);
  return Sweep(z, std::move(pruned), options).run(wrt);
}

// The grad nodes that differentiate z, in use order, each once.
std::vector<Node*> grad_group(Node* z) {
  std::vector<Node*> group;
  for (Node* u : z->users())
    if (u->op() == Op::Grad && u->operand(0) == z && std::find(group.begin(), group.end(), u) == group.end())
      group.push_back(u);
  return group;
}

// Expands the grad nodes of one z (`first` is the earliest of them) and
// returns the node after them to continue from.
Node* expand_group(Function& f, Node* first, const GradOptions& options,
                   const ValueNames& before) {
  std::vector<Node*> group = grad_group(first->operand(0));
  std::vector<Value> targets;
  for (Node* g : group) targets.push_back(g->operand(1));
  std::vector<Value> grads;
  try {
    InsertionGuard guard(f, first);
    grads = expand(first->operand(0), targets, options, &before);
  } catch (const Error& e) {
    if (!first->loc().valid()) throw;
    std::string file = f.parent() ? f.parent()->source_name() : std::string();
    throw Error(diagnostic_header(file, first->loc(), e.what()));
  }
  Node* resume = first->next();
  while (resume && std::find(group.begin(), group.end(), resume) != group.end()) resume = resume->next();
  for (size_t k = 0; k < group.size(); ++k)
    replace_node(f, group[k], grads[k], grads[k]->op() != Op::Input);
  return resume;
}

}  // namespace

std::vector<Value> grad(Value z, std::span<const Value> wrt, GradOptions options) {
  return expand(z, wrt, options, nullptr);
}

std::vector<Value> grad(Value z, std::initializer_list<Value> wrt, GradOptions options) {
  return grad(z, std::span<const Value>(wrt.begin(), wrt.size()), options);
}

namespace {

// The grad nodes of f itself, not of its loop bodies.
bool expand_grads(Function& f, const GradOptions& options) {
  bool changed = false;
  std::unique_ptr<ValueNames> before;
  for (Node* n = f.front(); n;) {
    if (n->op() != Op::Grad) {
      n = n->next();
      continue;
    }
    if (!before) before = std::make_unique<ValueNames>(f);
    n = expand_group(f, n, options, *before);
    changed = true;
  }
  return changed;
}

}  // namespace

bool build_grad(Function& f, GradOptions options) {
  // Grads inside loop bodies first, every level of them (ir/loop.h).
  bool changed = rewrite_bodies(f, [&](Function& body) { return expand_grads(body, options); });
  return expand_grads(f, options) || changed;
}

// The pass manager runs a pass on every loop body already (ir/loop.h): the
// pass expands only f's own grad nodes.
std::unique_ptr<Pass> create_build_grad_pass() {
  auto pass = make_pass<GradOptions>(expand_grads);
  pass->flag_option("allow-disconnected", &pass->options().allow_disconnected);
  pass->flag_option("forward-elementwise", &pass->options().forward_elementwise);
  return pass;
}

}  // namespace nabla
