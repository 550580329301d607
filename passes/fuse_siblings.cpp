#include "nabla/passes/fuse_siblings.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "nabla/ir/fused.h"
#include "nabla/ir/fused_views.h"
#include "nabla/passes/fuse.h"

namespace nabla {
namespace {

constexpr size_t kMaxResults = 8;      // results of one merged body

// A fused node that may join a sibling group: one result, no GEMM product
// (fuse-matmul's regions, when fuse runs after it), no slice or concat read
// in place (whose cells would split the group's loop), no scatter_add (which
// must stay its body's only result).
bool candidate(const Node* n) {
  return n->op() == Op::Fused && n->body() && n->body()->results().size() == 1 && !fused_matmul(*n) &&
         plain_loop_body(*n->body());
}

bool reduces(const Node* n) { return body_reduces(*n->body()); }

struct Cluster {
  std::vector<Node*> members;  // in body order
  std::unordered_set<uint64_t> keys;  // of the members' body nodes (SiblingMerger::body_keys)
  bool has_reduction = false;
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

  // Elementwise regions first, in body order, each joining the cluster with
  // which it shares the most body nodes; then the reductions, the best
  // sharing first, each into a cluster that has none yet (or alone).
  bool run() {
    std::vector<Node*> reductions;
    for (Node* n : f_.nodes()) {
      if (!candidate(n)) continue;
      keys_[n] = body_keys(n);
      if (reduces(n)) {
        reductions.push_back(n);
        continue;
      }
      std::vector<size_t> order = ranked(n);
      size_t id = clusters_.size();
      for (size_t c : order)
        if (try_join(clusters_[c], n)) {
          id = c;
          break;
        }
      if (id == clusters_.size()) start_cluster(n);
      add_reader(id, n);
    }
    struct Choice {
      size_t shared;
      Node* n;
    };
    std::vector<Choice> choices;
    for (Node* n : reductions) {
      std::vector<size_t> order = ranked(n);
      choices.push_back({order.empty() ? 0 : score(clusters_[order[0]], n), n});
    }
    std::stable_sort(choices.begin(), choices.end(), [](const Choice& a, const Choice& b) { return a.shared > b.shared; });
    for (const Choice& ch : choices) {
      size_t id = clusters_.size();
      for (size_t c : ranked(ch.n))
        if (try_join(clusters_[c], ch.n)) {
          id = c;
          break;
        }
      if (id == clusters_.size()) start_cluster(ch.n);
      add_reader(id, ch.n);
    }
    bool changed = false;
    for (Cluster& c : clusters_)
      if (c.members.size() > 1) changed |= build(c);
    return changed;
  }

 private:
  // A key per body node: the op and attributes over the keys of its operands,
  // a body input standing for its outer operand. Equal keys (hash collisions
  // aside, which only change a choice) are equal values.
  std::unordered_set<uint64_t> body_keys(const Node* n) const {
    std::unordered_map<const Node*, uint64_t> key;
    const Function& body = *n->body();
    for (size_t i = 0; i < body.inputs().size(); ++i)
      key[body.inputs()[i]] = std::hash<const void*>()(n->operand(i)) * 0x9e3779b97f4a7c15ull;
    std::unordered_set<uint64_t> keys;
    for (const Node* m : body) {
      uint64_t h = static_cast<uint64_t>(m->op()) * 0x100000001b3ull ^ m->attrs().hash(op_attr_mask(m->op()));
      for (const Node* o : m->operands()) h = (h ^ key.at(o)) * 0x100000001b3ull + 0x9e37;
      key[m] = h;
      keys.insert(h);
    }
    return keys;
  }

  size_t score(const Cluster& c, const Node* n) const {
    size_t shared = 0;
    for (uint64_t k : keys_.at(n)) shared += c.keys.count(k);
    return shared;
  }

  // The clusters that read one of n's operands, the most shared body nodes first.
  std::vector<size_t> ranked(const Node* n) const {
    std::vector<size_t> near;
    for (const Node* o : n->operands())
      if (auto it = readers_.find(o); it != readers_.end()) near.insert(near.end(), it->second.begin(), it->second.end());
    std::sort(near.begin(), near.end());
    near.erase(std::unique(near.begin(), near.end()), near.end());
    std::vector<std::pair<size_t, size_t>> scored;
    for (size_t c : near) scored.emplace_back(score(clusters_[c], n), c);
    std::stable_sort(scored.begin(), scored.end(), [](auto& a, auto& b) { return a.first > b.first; });
    std::vector<size_t> order;
    for (auto& [s, c] : scored) order.push_back(c);
    return order;
  }

  void start_cluster(Node* n) {
    Cluster c;
    c.members = {n};
    c.body_nodes = n->body()->size();
    c.libm = calls_libm(*n->body());
    c.has_reduction = reduces(n);
    c.keys = keys_.at(n);
    clusters_.push_back(std::move(c));
  }

  void add_reader(size_t id, const Node* n) {
    for (const Node* o : n->operands())
      if (clusters_[id].operands.insert(o).second) readers_[o].push_back(id);
  }

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
    if (body_loop_shape(*head->body()) != body_loop_shape(*n->body()) || c.members.size() >= kMaxResults) return false;
    if (c.has_reduction && reduces(n)) return false;  // one reduction per body
    if (c.body_nodes + n->body()->size() > kMaxMergedBodyNodes || c.libm != calls_libm(*n->body())) return false;
    bool shares = std::any_of(n->operands().begin(), n->operands().end(),
                              [&](const Node* o) { return c.operands.count(o) > 0; });
    if (!shares) return false;
    std::vector<Node*> members = c.members;
    members.push_back(n);
    std::sort(members.begin(), members.end(), [&](Node* a, Node* b) { return position(a) < position(b); });
    if (!placement(members)) return false;
    c.members = std::move(members);
    c.body_nodes += n->body()->size();
    c.has_reduction |= reduces(n);
    c.keys.insert(keys_.at(n).begin(), keys_.at(n).end());
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
  std::unordered_map<const Node*, std::unordered_set<uint64_t>> keys_;  // per candidate
};

}  // namespace

bool merge_fused_siblings(Function& f) { return SiblingMerger(f).run(); }

bool pair_sin_cos(Function& f) {
  bool changed = false;
  std::unordered_map<const Node*, int> position;
  for (Node* n : f) position[n] = static_cast<int>(position.size());
  std::unordered_set<const Node*> erased;  // cos nodes of pairs made: the list below still holds them
  for (Node* n : f.nodes()) {
    if (erased.count(n) || n->op() != Op::Sin || !is_float(n->dtype())) continue;
    Node* x = n->operand(0);
    auto partner = std::find_if(x->users().begin(), x->users().end(),
                                [&](const Node* u) { return u->op() == Op::Cos && u->type() == n->type(); });
    if (partner == x->users().end()) continue;
    Node* cos_node = *partner;
    bool sin_first = position.at(n) < position.at(cos_node);
    auto body = std::make_shared<Function>("fused");
    Node* in = body->input("x0", x->type());
    Node* s = body->create(Op::Sin, {in}, {}, n->type());
    Node* c = body->create(Op::Cos, {in}, {}, n->type());
    body->output(sin_first ? s : c);
    body->output(sin_first ? c : s);
    std::vector<Node*> group;
    {
      InsertionGuard guard(f, sin_first ? n : cos_node);
      group = make_fused_group(f, {x}, std::move(body));
    }
    Node* olds[] = {sin_first ? n : cos_node, sin_first ? cos_node : n};
    for (size_t i = 0; i < 2; ++i) {
      group[i]->set_name(olds[i]->name());
      group[i]->set_loc(olds[i]->loc());
      olds[i]->set_name("");
      f.replace_all_uses(olds[i], group[i]);
      erased.insert(olds[i]);
      f.erase(olds[i]);
    }
    changed = true;
  }
  return changed;
}

}  // namespace nabla
