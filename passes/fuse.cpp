#include "passes/fuse.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "ir/fused.h"

namespace nabla {
namespace {

constexpr int64_t kMaxInlinedConstant = 16;  // elements

bool loop_op(const Node* n) { return is_elementwise(n->op()) || n->op() == Op::BroadcastTo; }

struct Group {
  Node* root;
  int64_t numel;                // elements of the group's loop
  std::vector<Node*> members;   // root first
};

class Fuser {
 public:
  explicit Fuser(Function& f) : f_(f), results_(f.results().begin(), f.results().end()) {
    int i = 0;
    for (Node* n : f) position_[n] = i++;
  }

  bool run() {
    std::vector<Node*> order = f_.nodes();
    for (auto it = order.rbegin(); it != order.rend(); ++it) grow(*it);
    bool changed = false;
    for (Group& g : groups_)
      if (g.members.size() >= 2) {
        build(g);
        changed = true;
      }
    return changed;
  }

 private:
  // Starts a group at n (when n can root one) and pulls in its producers.
  void grow(Node* n) {
    if (group_of_.count(n)) return;
    bool reduce = op_kind(n->op()) == OpKind::Reduce;
    if (!loop_op(n) && !reduce) return;
    int id = static_cast<int>(groups_.size());
    groups_.push_back({n, reduce ? n->operand(0)->type().numel() : n->type().numel(), {n}});
    group_of_[n] = id;
    std::vector<Node*> work(n->operands().begin(), n->operands().end());
    while (!work.empty()) {
      Node* o = work.back();
      work.pop_back();
      if (!joins(o, id)) continue;
      group_of_[o] = id;
      groups_[id].members.push_back(o);
      work.insert(work.end(), o->operands().begin(), o->operands().end());
    }
    if (groups_[id].members.size() < 2) {  // nothing to fuse
      group_of_.erase(n);
      groups_.pop_back();
    }
  }

  bool joins(const Node* o, int id) const {
    if (group_of_.count(o) || !loop_op(o) || results_.count(o)) return false;
    if (o->type().numel() != groups_[id].numel) return false;
    for (const Node* u : o->users()) {
      auto it = group_of_.find(u);
      if (it == group_of_.end() || it->second != id) return false;
    }
    return true;
  }

  void build(Group& g) {
    std::sort(g.members.begin(), g.members.end(),
              [&](Node* a, Node* b) { return position_.at(a) < position_.at(b); });
    std::unordered_set<const Node*> in_group(g.members.begin(), g.members.end());
    auto body = std::make_shared<Function>("fused");
    std::unordered_map<const Node*, Node*> copies;
    std::vector<Node*> operands;
    std::vector<Node*> inlined;  // constants copied into the body
    for (Node* m : g.members) {
      std::vector<Node*> args;
      for (Node* o : m->operands()) {
        if (!in_group.count(o) && !copies.count(o)) {
          if (o->op() == Op::Constant && o->type().numel() <= kMaxInlinedConstant) {
            copies[o] = body->create(Op::Constant, {}, o->attrs(), o->type());
            copies[o]->set_name(o->name());
            inlined.push_back(o);
          } else {
            copies[o] = body->input("x" + std::to_string(operands.size()), o->type());
            operands.push_back(o);
          }
        }
        args.push_back(copies.at(o));
      }
      Node* c = body->create(m->op(), std::move(args), m->attrs(), m->type());
      c->set_name(m->name());
      c->set_loc(m->loc());
      copies[m] = c;
    }
    body->output(copies.at(g.root));
    InsertionGuard guard(f_, g.root);
    Node* fused = make_fused(f_, std::move(operands), std::move(body));
    fused->set_name(g.root->name());
    fused->set_loc(g.root->loc());
    g.root->set_name("");
    f_.replace_all_uses(g.root, fused);
    for (auto it = g.members.rbegin(); it != g.members.rend(); ++it) f_.erase(*it);
    // A constant now used only inside bodies goes.
    for (Node* c : inlined)
      if (c->users().empty() && !results_.count(c)) f_.erase(c);
  }

  Function& f_;
  std::unordered_set<const Node*> results_;
  std::unordered_map<const Node*, int> position_;
  std::unordered_map<const Node*, int> group_of_;
  std::vector<Group> groups_;
};

class FusePass : public Pass {
 public:
  std::string_view name() const override { return "fuse"; }
  bool run(Function& f) override { return fuse(f); }
};

}  // namespace

bool fuse(Function& f) { return Fuser(f).run(); }

std::unique_ptr<Pass> create_fuse_pass() { return std::make_unique<FusePass>(); }

}  // namespace nabla
