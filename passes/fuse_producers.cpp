#include "nabla/passes/fuse_producers.h"

#include <algorithm>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "nabla/ir/fused.h"
#include "nabla/ir/fused_views.h"
#include "nabla/passes/fuse.h"

namespace nabla {
namespace {

// A fused node whose loop reads each operand at the loop's index: no views
// (cells), no scatter_add, no GEMM product.
bool plain_region(const Node* n) {
  return n->op() == Op::Fused && n->body() && !fused_matmul(*n) && plain_loop_body(*n->body());
}

bool libm(const Node* n) {
  return n->op() == Op::Fused ? calls_libm(*n->body()) : calls_libm(n->op());
}

size_t body_size(const Node* n) { return n->op() == Op::Fused ? n->body()->size() : 1; }

// One body built from several: inputs once per outer value (small constants
// copied in), and each node once (equal op, type, attributes and operands).
class BodyBuilder {
 public:
  Node* input(Node* outer) {
    auto [it, fresh] = input_of_.emplace(outer, nullptr);
    if (!fresh) return it->second;
    if (outer->op() == Op::Constant && outer->type().numel() <= kMaxInlinedConstant) {
      it->second = body->create(Op::Constant, {}, outer->attrs(), outer->type());
      it->second->set_name(outer->name());
      inlined.push_back(outer);
    } else {
      it->second = body->input("x" + std::to_string(operands.size()), outer->type());
      operands.push_back(outer);
    }
    return it->second;
  }

  Node* make(const Node* n, std::vector<Node*> args) {
    for (Node* e : made_)
      if (e->op() == n->op() && e->type() == n->type() &&
          std::equal(args.begin(), args.end(), e->operands().begin(), e->operands().end()) &&
          e->attrs().equal(n->attrs(), op_attr_mask(n->op())))
        return e;
    Node* c = body->create(n->op(), std::move(args), n->attrs(), n->type());
    c->set_name(n->name());
    c->set_loc(n->loc());
    made_.push_back(c);
    return c;
  }

  // Copies the body of `region` (a group's first node): its inputs read the
  // values already in `value_of` or new inputs. Returns its results' copies.
  std::vector<Node*> copy(const Node* region, const std::unordered_map<const Node*, Node*>& value_of) {
    const Function& b = *region->body();
    std::unordered_map<const Node*, Node*> copies;
    for (size_t i = 0; i < b.inputs().size(); ++i) {
      Node* o = region->operand(i);
      auto it = value_of.find(o);
      copies[b.inputs()[i]] = it != value_of.end() ? it->second : input(o);
    }
    for (const Node* n : b) {
      std::vector<Node*> args;
      for (const Node* o : n->operands()) args.push_back(copies.at(o));
      copies[n] = make(n, std::move(args));
    }
    std::vector<Node*> out;
    for (const Node* r : b.results()) out.push_back(copies.at(r));
    return out;
  }

  std::shared_ptr<Function> body = std::make_shared<Function>("fused");
  std::vector<Node*> operands;
  std::vector<Node*> inlined;  // outer constants copied in

 private:
  std::unordered_map<const Node*, Node*> input_of_;
  std::vector<Node*> made_;
};

class ProducerFuser {
 public:
  explicit ProducerFuser(Function& f) : f_(f), results_(f.results().begin(), f.results().end()) {}

  bool run() {
    bool changed = false;
    std::vector<Node*> order = f_.nodes();
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      if (gone_.count(*it) || !plain_region(*it)) continue;
      std::vector<Node*> consumer = fused_group(*it);
      if (consumer.back() != *it) continue;  // a group is visited at its last node
      while (true) {
        std::vector<Node*> producer = producer_of(consumer);
        if (producer.empty()) break;
        consumer = merge(consumer, producer);
        changed = true;
      }
    }
    return changed;
  }

 private:
  // An operand of the consumer group that can move into it, with its group.
  std::vector<Node*> producer_of(const std::vector<Node*>& consumer) const {
    std::unordered_set<const Node*> members(consumer.begin(), consumer.end());
    const Node* head = consumer.front();
    for (Node* o : head->operands()) {
      if (members.count(o)) continue;
      std::vector<Node*> group = o->op() == Op::Fused ? fused_group(o) : std::vector<Node*>{o};
      if (fits(head, members, group)) return group;
    }
    return {};
  }

  bool fits(const Node* head, const std::unordered_set<const Node*>& members, const std::vector<Node*>& p) const {
    const Node* first = p.front();
    if (first->op() == Op::Fused ? !plain_region(first) || body_reduces(*first->body()) : !is_loop_op(first->op())) return false;
    if (libm(first) != libm(head) || body_size(first) + head->body()->size() > kMaxMergedBodyNodes) return false;
    const Shape& loop = body_loop_shape(*head->body());
    for (const Node* q : p) {
      if (results_.count(q) || q->shape() != loop) return false;
      for (const Node* u : q->users())
        if (!members.count(u)) return false;
    }
    // The consumer reads each of them at its loop's index.
    const Function& body = *head->body();
    for (size_t i = 0; i < body.inputs().size(); ++i) {
      if (std::find(p.begin(), p.end(), head->operand(i)) == p.end()) continue;
      for (const Node* u : body.inputs()[i]->users())
        if (!is_loop_op(u->op()) && op_kind(u->op()) != OpKind::Reduce) return false;
    }
    return true;
  }

  // The consumer's body with the producer's computed in it; returns the new group.
  std::vector<Node*> merge(const std::vector<Node*>& consumer, const std::vector<Node*>& producer) {
    BodyBuilder b;
    std::unordered_map<const Node*, Node*> value_of;
    if (producer.front()->op() == Op::Fused) {
      std::vector<Node*> values = b.copy(producer.front(), {});
      for (size_t i = 0; i < producer.size(); ++i) value_of[producer[i]] = values[static_cast<size_t>(producer[i]->body_result())];
    } else {
      std::vector<Node*> args;
      for (Node* o : producer.front()->operands()) args.push_back(b.input(o));
      value_of[producer.front()] = b.make(producer.front(), std::move(args));
    }
    for (Node* r : b.copy(consumer.front(), value_of)) b.body->output(r);
    std::vector<Node*> group;
    {
      InsertionGuard guard(f_, consumer.front());
      if (consumer.size() == 1) group = {make_fused(f_, b.operands, b.body)};
      else group = make_fused_group(f_, b.operands, b.body);
    }
    for (size_t i = 0; i < consumer.size(); ++i) {
      group[i]->set_name(consumer[i]->name());
      group[i]->set_loc(consumer[i]->loc());
      consumer[i]->set_name("");
      f_.replace_all_uses(consumer[i], group[i]);
    }
    erase(consumer);
    erase(producer);
    for (Node* c : b.inlined)
      if (c->users().empty() && !results_.count(c)) erase({c});
    return group;
  }

  void erase(const std::vector<Node*>& nodes) {
    for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
      gone_.insert(*it);
      f_.erase(*it);
    }
  }

  Function& f_;
  std::unordered_set<const Node*> results_;
  std::unordered_set<const Node*> gone_;  // erased: `order` in run still holds them
};

}  // namespace

bool fuse_producers(Function& f) { return ProducerFuser(f).run(); }

}  // namespace nabla
