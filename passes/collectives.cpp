#include "nabla/passes/collectives.h"
#include "nabla/passes/pass.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <map>
#include <unordered_map>

#include "nabla/ir/builder.h"
#include "nabla/ir/fused.h"
#include "nabla/passes/rewrite.h"
#include "nabla/runtime/error.h"

namespace nabla {
namespace {

int64_t bytes_of(const Node* n) { return n->type().numel() * static_cast<int64_t>(dtype_size(n->dtype())); }

// Body positions, for "defined before" and "first user".
std::unordered_map<const Node*, size_t> positions(const Function& f) {
  std::unordered_map<const Node*, size_t> pos;
  size_t i = 0;
  for (const Node* n : f) pos[n] = ++i;  // inputs are at 0
  return pos;
}

size_t position(const std::unordered_map<const Node*, size_t>& pos, const Node* n) {
  auto it = pos.find(n);
  return it == pos.end() ? 0 : it->second;
}

// Replaces the all_reduces of `bucket` by one of their concatenation.
void make_bucket(Function& f, const std::vector<Node*>& bucket, const std::unordered_map<const Node*, size_t>& pos) {
  Node* last = bucket[0]->operand(0);
  for (Node* r : bucket)
    if (position(pos, r->operand(0)) > position(pos, last)) last = r->operand(0);
  std::vector<Value> flat;
  Value joined;
  {
    InsertionGuard at(f, position(pos, last) == 0 ? f.front() : last->next());
    for (Node* r : bucket) {
      Value x = r->operand(0);
      flat.push_back(x->shape().size() == 1 ? x : reshape(x, {r->type().numel()}));
    }
    joined = all_reduce(concat(flat, 0), bucket[0]->attrs().op);
  }
  int64_t offset = 0;
  for (Node* r : bucket) {
    Node* first_user = nullptr;
    for (Node* u : r->users())
      if (!first_user || position(pos, u) < position(pos, first_user)) first_user = u;
    InsertionGuard at(f, first_user ? first_user : nullptr);
    int64_t n = r->type().numel();
    Value part = slice(joined, {offset}, {offset + n});
    if (r->shape().size() != 1) part = reshape(part, r->shape());
    offset += n;
    replace_node(f, r, part.node, true);
  }
}

}  // namespace

bool has_collectives(const Function& f) {
  for (const Node* n : f)
    if (is_collective(n->op())) return true;
  return false;
}

bool bucket_collectives(Function& f, int64_t max_bytes) {
  if (max_bytes <= 0) return false;
  std::unordered_map<const Node*, size_t> pos = positions(f);
  // The all_reduces in the order their operands are defined (when they start).
  std::multimap<size_t, Node*> by_start;
  for (Node* n : f)
    if (n->op() == Op::AllReduce) by_start.emplace(position(pos, n->operand(0)), n);
  // A bucket starts after its last operand and each of its results is needed
  // at its first user, so every first user must come after every operand
  // (which also keeps out a member that depends on another's result).
  auto first_use = [&](const Node* n) {
    size_t first = SIZE_MAX;
    for (const Node* u : n->users()) first = std::min(first, position(pos, u));
    return first;
  };
  std::vector<std::vector<Node*>> buckets(1);
  int64_t held = 0;
  size_t last_operand = 0, first_user = SIZE_MAX;
  for (auto& [at, n] : by_start) {
    std::vector<Node*>& open = buckets.back();
    bool small = bytes_of(n) < max_bytes && n->type().numel() > 0;
    bool fits = !open.empty() && held + bytes_of(n) <= max_bytes && open[0]->dtype() == n->dtype() &&
                open[0]->attrs().op == n->attrs().op &&
                std::max(last_operand, at) < std::min(first_user, first_use(n));
    if (!open.empty() && (!small || !fits)) {
      buckets.emplace_back();
      held = 0;
      last_operand = 0;
      first_user = SIZE_MAX;
    }
    if (!small) continue;
    buckets.back().push_back(n);
    held += bytes_of(n);
    last_operand = std::max(last_operand, at);
    first_user = std::min(first_user, first_use(n));
  }
  bool changed = false;
  for (const std::vector<Node*>& b : buckets)
    if (b.size() > 1) {
      make_bucket(f, b, pos);
      pos = positions(f);
      changed = true;
    }
  return changed;
}

bool schedule_collectives(Function& f) {
  bool changed = false;
  for (Node* n : f.nodes()) {
    if (!is_collective(n->op())) continue;
    Node* def = n->operand(0);
    // After the whole group when the operand is a fused group's (its nodes stay together).
    Node* to = def->op() == Op::Input ? f.front() : fused_group(def).back()->next();
    if (to == n) continue;
    f.move_before(n, to);
    changed = true;
  }
  return changed;
}

std::unique_ptr<Pass> create_bucket_collectives_pass() {
  auto pass = make_pass<int64_t>(bucket_collectives, kDefaultBucketBytes);
  pass->count_option("bytes", &pass->options());
  return pass;
}
std::unique_ptr<Pass> create_schedule_collectives_pass() { return make_pass(schedule_collectives); }

}  // namespace nabla
