#include "nabla/ir/clone.h"

#include "nabla/runtime/error.h"

namespace nabla {

void clone_into(const Function& src, Function& dst, std::unordered_map<const Node*, Node*>* map) {
  std::unordered_map<const Node*, Node*> local;
  std::unordered_map<const Node*, Node*>& copies = map ? *map : local;
  for (const Node* in : src.inputs()) {
    Node* c = dst.input(in->name(), in->type());
    c->set_loc(in->loc());
    copies[in] = c;
  }
  for (const Node* n : src) {
    std::vector<Node*> operands;
    for (const Node* o : n->operands()) operands.push_back(copies.at(o));
    Node* c = dst.create(n->op(), std::move(operands), n->attrs(), n->type());
    c->set_name(n->name());
    c->set_loc(n->loc());
    c->set_body(n->shared_body(), n->body_result());  // bodies are immutable: shared
    copies[n] = c;
  }
  for (const Node* r : src.results()) dst.output(copies.at(r));
}

Function& clone_function(const Function& src, Module& dst, std::string_view name) {
  Function& f = dst.add_function(name.empty() ? std::string_view(src.name()) : name);
  clone_into(src, f);
  return f;
}

}  // namespace nabla
