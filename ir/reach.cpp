#include "nabla/ir/reach.h"

#include <vector>

namespace nabla {

NodeSet ancestors(std::span<const Value> roots) {
  NodeSet seen;
  std::vector<Node*> stack;
  for (Value v : roots)
    if (seen.insert(v.node).second) stack.push_back(v.node);
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (Node* o : n->operands())
      if (seen.insert(o).second) stack.push_back(o);
  }
  return seen;
}

NodeSet descendants_within(const NodeSet& within, std::span<const Value> from) {
  NodeSet reached;
  std::vector<Node*> stack;
  for (Value v : from)
    if (within.count(v.node) && reached.insert(v.node).second) stack.push_back(v.node);
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (Node* u : n->users())
      if (within.count(u) && reached.insert(u).second) stack.push_back(u);
  }
  return reached;
}

}  // namespace nabla
