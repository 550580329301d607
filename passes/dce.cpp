#include "passes/dce.h"

#include <unordered_set>

namespace nabla {
namespace {

class DcePass : public Pass {
 public:
  std::string_view name() const override { return "dce"; }
  bool run(Function& f) override { return dce(f); }
};

}  // namespace

bool dce(Function& f) {
  std::unordered_set<const Node*> results(f.results().begin(), f.results().end());
  bool changed = false;
  // Walking backwards visits users before operands, so erasing a node lets its
  // operands be judged dead in the same sweep.
  for (Node* n = f.back(); n;) {
    Node* prev = n->prev();
    if (n->users().empty() && !results.count(n)) {
      f.erase(n);
      changed = true;
    }
    n = prev;
  }
  return changed;
}

std::unique_ptr<Pass> create_dce_pass() { return std::make_unique<DcePass>(); }

}  // namespace nabla
