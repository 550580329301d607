#include "passes/fuse_siblings.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "ir/fused.h"

namespace nabla {
namespace {

constexpr size_t kMaxResults = 8;      // results of one merged body
constexpr size_t kMaxBodyNodes = 512;  // nodes of one merged body

// Ops computed through libm: a loop holding one stays scalar in the backend,
// so such regions only merge with each other.
bool calls_libm(const Function& body) {
  for (const Node* n : body) {
    switch (n->op()) {
      case Op::Exp: case Op::Log: case Op::Log1p: case Op::Tanh: case Op::Sin: case Op::Cos:
      case Op::Pow: case Op::Sigmoid:
        return true;
      default: break;
    }
  }
  return false;
}

// A fused node that may join a sibling group: elementwise, one result.
bool candidate(const Node* n) {
  if (n->op() != Op::Fused || !n->body() || n->body()->results().size() != 1) return false;
  return op_kind(n->body()->results()[0]->op()) != OpKind::Reduce;
}

struct Cluster {
  std::vector<Node*> members;  // in body order
  std::unordered_set<const Node*> operands;
  size_t body_nodes = 0;
  bool libm = false;
};

class SiblingMerger {
 public:
  explicit SiblingMerger(Function& f) : f_(f) {
    int i = 0;
    for (Node* n : f) position_[n] = i++;
  }

  bool run() {
    for (Node* n : f_.nodes()) {
      if (!candidate(n)) continue;
      // Only the clusters that read one of n's operands can take it.
      std::vector<size_t> near;
      for (const Node* o : n->operands())
        if (auto it = readers_.find(o); it != readers_.end()) near.insert(near.end(), it->second.begin(), it->second.end());
      std::sort(near.begin(), near.end());
      near.erase(std::unique(near.begin(), near.end()), near.end());
      size_t id = clusters_.size();
      for (size_t c : near)
        if (try_join(clusters_[c], n)) {
          id = c;
          break;
        }
      if (id == clusters_.size()) {
        Cluster c;
        c.members = {n};
        c.body_nodes = n->body()->size();
        c.libm = calls_libm(*n->body());
        clusters_.push_back(std::move(c));
      }
      for (const Node* o : n->operands())
        if (clusters_[id].operands.insert(o).second) readers_[o].push_back(id);
    }
    bool changed = false;
    for (Cluster& c : clusters_)
      if (c.members.size() > 1) changed |= build(c);
    return changed;
  }

 private:
  // Body order; inputs come first. Merged groups get positions between their
  // neighbours', so that the checks of later clusters see the current order.
  double position(const Node* n) const {
    auto it = position_.find(n);
    return it == position_.end() ? -1 : it->second;
  }

  // Where the merged group can stand: before the last member when every use
  // of every member comes after it, else before the first member when every
  // operand comes before that. Null when neither holds (one member depends on
  // another, or a use of an early member sits before a late member's operand).
  Node* placement(const std::vector<Node*>& members) const {
    double first = position(members.front()), last = position(members.back());
    bool uses_after_last = true, operands_before_first = true;
    for (const Node* m : members) {
      for (const Node* u : m->users())
        if (position(u) <= last) uses_after_last = false;
      for (const Node* o : m->operands())
        if (position(o) >= first) operands_before_first = false;
    }
    if (uses_after_last) return members.back();
    if (operands_before_first) return members.front();
    return nullptr;
  }

  bool try_join(Cluster& c, Node* n) {
    const Node* head = c.members.front();
    if (head->shape() != n->shape() || c.members.size() >= kMaxResults) return false;
    if (c.body_nodes + n->body()->size() > kMaxBodyNodes || c.libm != calls_libm(*n->body())) return false;
    bool shares = std::any_of(n->operands().begin(), n->operands().end(),
                              [&](const Node* o) { return c.operands.count(o) > 0; });
    if (!shares) return false;
    std::vector<Node*> members = c.members;
    members.push_back(n);
    if (!placement(members)) return false;
    c.members = std::move(members);
    c.body_nodes += n->body()->size();
    return true;
  }

  // One body for all members: inputs for the union of their operands, and
  // each body node once (equal ops on equal values are computed once).
  bool build(Cluster& c) {
    // Earlier merges may have moved operands or users: check again.
    Node* before = placement(c.members);
    if (!before) return false;
    auto body = std::make_shared<Function>("fused");
    std::vector<Node*> operands;
    std::unordered_map<const Node*, Node*> input_of;  // outer operand -> body input
    std::vector<Node*> made;
    std::vector<Node*> outputs;
    for (Node* m : c.members) {
      const Function& mb = *m->body();
      std::unordered_map<const Node*, Node*> copies;
      for (size_t i = 0; i < mb.inputs().size(); ++i) {
        Node* o = m->operand(i);
        auto [it, fresh] = input_of.emplace(o, nullptr);
        if (fresh) {
          it->second = body->input("x" + std::to_string(operands.size()), o->type());
          operands.push_back(o);
        }
        copies[mb.inputs()[i]] = it->second;
      }
      for (const Node* n : mb) {
        std::vector<Node*> args;
        for (const Node* o : n->operands()) args.push_back(copies.at(o));
        Node* same = nullptr;
        for (Node* e : made)
          if (e->op() == n->op() && e->type() == n->type() &&
              std::equal(args.begin(), args.end(), e->operands().begin(), e->operands().end()) &&
              e->attrs().equal(n->attrs(), op_attr_mask(n->op()))) {
            same = e;
            break;
          }
        if (!same) {
          same = body->create(n->op(), std::move(args), n->attrs(), n->type());
          same->set_name(n->name());
          same->set_loc(n->loc());
          made.push_back(same);
        }
        copies[n] = same;
      }
      outputs.push_back(copies.at(mb.results()[0]));
    }
    for (Node* o : outputs) body->output(o);
    std::vector<Node*> group;
    {
      InsertionGuard guard(f_, before);
      group = make_fused_group(f_, std::move(operands), std::move(body));
    }
    double at = position(before);
    for (size_t i = 0; i < group.size(); ++i) {
      position_[group[i]] = at - 1 + static_cast<double>(i + 1) / static_cast<double>(group.size() + 1);
      Node* old = c.members[i];
      group[i]->set_name(old->name());
      group[i]->set_loc(old->loc());
      old->set_name("");
      f_.replace_all_uses(old, group[i]);
      position_.erase(old);
      f_.erase(old);
    }
    return true;
  }

  Function& f_;
  std::unordered_map<const Node*, double> position_;
  std::vector<Cluster> clusters_;
  std::unordered_map<const Node*, std::vector<size_t>> readers_;  // operand -> clusters reading it
};

}  // namespace

bool merge_fused_siblings(Function& f) { return SiblingMerger(f).run(); }

}  // namespace nabla
