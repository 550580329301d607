#include "nabla/passes/fuse.h"
#include "nabla/passes/pass.h"

#include <algorithm>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "nabla/ir/fused.h"
#include "nabla/ir/fused_views.h"
#include "nabla/runtime/error.h"
#include "nabla/passes/fuse_producers.h"
#include "nabla/passes/fuse_siblings.h"

namespace nabla {
namespace {

constexpr size_t kMaxCopied = 64;  // producers copied into one group

bool loop_op(const Node* n) { return is_loop_op(n->op()); }

// A gather joins a group as an indexed read of its table (ir/fused.h): its
// operands stay outside, read where they are.
bool gather(const Node* n) { return n->op() == Op::Gather; }

// Ops cheap enough to compute twice rather than store and reload (a gather
// is a load through an index).
bool cheap(const Node* n) { return (loop_op(n) && !is_costly(n->op())) || gather(n); }

struct Group {
  Node* root;
  int64_t numel;                           // elements of the group's loop
  std::vector<Node*> members;              // moved in or copied in
  std::unordered_set<const Node*> copied;  // members that stay for other users
  std::unordered_set<const Node*> in_place;  // read by its gathers or scatter_add: not members
  bool indexed = false;  // holds a gather or ends in a scatter_add
  bool views = false;    // reads a slice or concat in place
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
    if (groups_.empty()) return false;
    for (Group& g : groups_) build(g);
    // Producers that every user copied are dead now (users come later).
    std::vector<Node*> dead(dead_.begin(), dead_.end());
    std::sort(dead.begin(), dead.end(), [&](Node* a, Node* b) { return position_.at(a) > position_.at(b); });
    for (Node* n : dead)
      if (n->users().empty()) f_.erase(n);
    // A constant now used only inside bodies goes.
    for (Node* c : inlined_)
      if (c->users().empty() && !results_.count(c)) f_.erase(c);
    return true;
  }

 private:
  // Whether every use of n goes away when the groups are built, with n
  // itself computed inside each group that needs it: every user is a
  // moved-in member of a group that copies n too, or a dead node all of whose
  // copies sit in groups that copy n too.
  bool fully_copied(const Node* n) const {
    if (results_.count(n) || pinned_.count(n) || n->users().empty()) return false;
    auto copies_n = [&](int id) { return groups_[id].copied.count(n) > 0; };
    for (const Node* u : n->users()) {
      if (auto it = group_of_.find(u); it != group_of_.end()) {
        if (!copies_n(it->second)) return false;
      } else if (dead_.count(const_cast<Node*>(u))) {
        for (int id : copied_into_.at(u))
          if (!copies_n(id)) return false;
      } else {
        return false;
      }
    }
    return true;
  }

  // Starts a group at n (when n can root one) and pulls in its producers,
  // users before producers (the latest first), so that a producer is judged
  // once every member that uses it is known.
  void grow(Node* n) {
    if (group_of_.count(n)) return;
    if (fully_copied(n)) {
      dead_.insert(n);
      return;
    }
    bool reduce = op_kind(n->op()) == OpKind::Reduce;
    bool scatter = n->op() == Op::ScatterAdd;  // its updates are computed in its loop
    if (!loop_op(n) && !reduce && !scatter) return;
    int id = static_cast<int>(groups_.size());
    int64_t numel = reduce ? n->operand(0)->type().numel() : scatter ? n->operand(2)->type().numel() : n->type().numel();
    groups_.push_back({n, numel, {n}, {}, {}});
    group_of_[n] = id;
    Group& g = groups_.back();
    g.indexed = scatter;
    auto later = [&](const Node* a, const Node* b) { return position(a) < position(b); };
    std::priority_queue<Node*, std::vector<Node*>, decltype(later)> work(later);
    std::unordered_set<const Node*> seen;
    auto push_operands = [&](Node* m) {
      if (gather(m) || m->op() == Op::ScatterAdd) {  // the table (base) and index stay outside
        g.in_place.insert(m->operand(0));
        g.in_place.insert(m->operand(1));
        if (gather(m)) return;
        if (seen.insert(m->operand(2)).second) work.push(m->operand(2));
        take_filled_base(g, id, m->operand(0));
        return;
      }
      for (Node* o : m->operands())
        if (seen.insert(o).second) work.push(o);
    };
    push_operands(n);
    while (!work.empty()) {
      Node* o = work.top();
      work.pop();
      if (group_of_.count(o) || g.in_place.count(o)) continue;
      // A slice or concat (not under a reduction) is read in place
      // (ir/fused_views.h); what it reads joins only as such a view. Views
      // and indexed reads (gather, scatter_add) are not mixed in one group.
      bool view = !reduce && !g.indexed && is_view_op(o->op());
      if (gather(o) && (g.views || o->type().numel() != g.numel)) continue;
      if (!view && !gather(o) && (!loop_op(o) || o->type().numel() != g.numel || feeds_view(o, g, id))) continue;
      if (moves_in(o, id)) {
        group_of_[o] = id;
      } else if ((view || cheap(o)) && g.copied.size() < kMaxCopied) {
        g.copied.insert(o);
        copied_into_[o].push_back(id);
      } else {
        continue;
      }
      g.members.push_back(o);
      g.indexed = g.indexed || gather(o);
      g.views = g.views || view;
      push_operands(o);
    }
    if (!reduce && cell_count(group_cuts(g, id)) > kMaxViewCells) drop_views(g, id);
    if (g.members.size() < 2) {  // nothing to fuse (and nothing was copied)
      group_of_.erase(n);
      groups_.pop_back();
      return;
    }
    // The group will read the operands of its copied members that it does not
    // compute itself: those must stay as they are (their users do not show it).
    std::unordered_set<const Node*> in_group(g.members.begin(), g.members.end());
    for (const Node* c : g.copied)
      for (const Node* o : c->operands())
        if (!in_group.count(o)) pinned_.insert(o);
  }

  bool member(const Node* n, const Group& g, int id) const {
    auto it = group_of_.find(n);
    return (it != group_of_.end() && it->second == id) || g.copied.count(n);
  }

  // Whether a user of n in the group reads it as a view (n must stay a
  // source: a view reads memory, not a value computed in the loop).
  bool feeds_view(const Node* n, const Group& g, int id) const {
    for (const Node* u : n->users())
      if (is_view_op(u->op()) && member(u, g, id)) return true;
    return false;
  }

  // The cuts of the group's loop: those of its views that an op of the
  // group reads (the others are read through them).
  ViewCuts group_cuts(const Group& g, int id) const {
    std::vector<const Node*> top;
    for (const Node* m : g.members) {
      if (!is_view_op(m->op())) continue;
      for (const Node* u : m->users())
        if (!is_view_op(u->op()) && member(u, g, id)) {
          top.push_back(m);
          break;
        }
    }
    auto inside = [&](const Node& v) { return member(&v, g, id); };
    return iteration_cuts(g.root->shape(), top, inside);
  }

  // Too many cells: the views stay copies (nothing else joined through them).
  void drop_views(Group& g, int id) {
    std::erase_if(g.members, [&](Node* m) {
      if (!is_view_op(m->op())) return false;
      if (g.copied.erase(m)) std::erase(copied_into_[m], id);
      else group_of_.erase(m);
      return true;
    });
  }

  // A scatter_add's base that is a scalar constant broadcast (a gradient's
  // zeros) joins its group: the kernel fills the result instead of
  // reading a stored base.
  void take_filled_base(Group& g, int id, Node* base) {
    if (base->op() != Op::BroadcastTo || base->operand(0)->op() != Op::Constant ||
        base->operand(0)->type().numel() != 1)
      return;
    if (moves_in(base, id)) {
      group_of_[base] = id;
    } else if (g.copied.size() < kMaxCopied) {
      g.copied.insert(base);
      copied_into_[base].push_back(static_cast<int>(id));
    } else {
      return;
    }
    g.members.push_back(base);
  }

  // Body position; inputs come first.
  int position(const Node* n) const {
    auto it = position_.find(n);
    return it == position_.end() ? -1 : it->second;
  }

  // o moves into group `id` when all its users are moved-in members of it.
  bool moves_in(const Node* o, int id) const {
    if (results_.count(o) || pinned_.count(o)) return false;
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
    // Moved-in members go; copied ones stay for their other users.
    for (auto it = g.members.rbegin(); it != g.members.rend(); ++it)
      if (!g.copied.count(*it)) f_.erase(*it);
    inlined_.insert(inlined.begin(), inlined.end());
  }

  Function& f_;
  std::unordered_set<const Node*> results_;
  std::unordered_map<const Node*, int> position_;
  std::unordered_map<const Node*, int> group_of_;  // moved-in members
  std::vector<Group> groups_;
  std::unordered_set<Node*> dead_;
  std::unordered_set<const Node*> pinned_;
  std::unordered_set<Node*> inlined_;  // constants copied into bodies
  std::unordered_map<const Node*, std::vector<int>> copied_into_;  // groups copying a node
};

}  // namespace

bool fuse(Function& f, bool siblings) {
  bool changed = Fuser(f).run();
  if (siblings) changed |= merge_fused_siblings(f);
  if (siblings) changed |= fuse_producers(f);
  changed |= pair_sin_cos(f);
  return changed;
}

std::unique_ptr<Pass> create_fuse_pass() {
  auto pass = make_pass<bool>(fuse, true);
  pass->flag_option("siblings", &pass->options());
  return pass;
}

}  // namespace nabla
