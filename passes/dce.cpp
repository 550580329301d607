#include "nabla/passes/dce.h"
#include "nabla/passes/pass.h"

#include <algorithm>
#include <unordered_set>

#include "nabla/ir/fused.h"

namespace nabla {

bool dce(Function& f) {
  std::unordered_set<const Node*> results(f.results().begin(), f.results().end());
  bool changed = false;
  // Walking backwards visits users before operands, so erasing a node lets its
  // operands be judged dead in the same sweep.
  // The fused nodes of one body (ir/fused.h) go together, when none is used;
  // walking backwards meets the last of them first.
  auto dead = [&](const Node* n) { return n->users().empty() && !results.count(n); };
  for (Node* n = f.back(); n;) {
    std::vector<Node*> group = fused_group(n);
    Node* prev = group.front()->prev();
    if (std::all_of(group.begin(), group.end(), dead)) {
      for (auto it = group.rbegin(); it != group.rend(); ++it) f.erase(*it);
      changed = true;
    }
    n = prev;
  }
  return changed;
}

std::unique_ptr<Pass> create_dce_pass() { return make_pass(dce); }

}  // namespace nabla
