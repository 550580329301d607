#include "nabla/ir/clone.h"

#include "nabla/runtime/error.h"

namespace nabla {

namespace {

// Copies src's body nodes into dst, given the copies of src's inputs.
void copy_nodes(const Function& src, Function& dst, std::unordered_map<const Node*, Node*>& copies, bool names) {
  for (const Node* n : src) clone_node(*n, dst, copies, names);
}

}  // namespace

Node* clone_node(const Node& n, Function& dst, std::unordered_map<const Node*, Node*>& map, bool named) {
  std::vector<Node*> operands;
  for (const Node* o : n.operands()) operands.push_back(map.at(o));
  Node* c = dst.create(n.op(), std::move(operands), n.attrs(), n.type());
  if (named) c->set_name(n.name());
  c->set_loc(n.loc());
  c->set_body(n.shared_body(), n.body_result());
  c->set_cond(n.shared_cond());
  return map[&n] = c;
}

void clone_into(const Function& src, Function& dst, std::unordered_map<const Node*, Node*>* map) {
  std::unordered_map<const Node*, Node*> local;
  std::unordered_map<const Node*, Node*>& copies = map ? *map : local;
  for (const Node* in : src.inputs()) {
    Node* c = dst.input(in->name(), in->type());
    c->set_loc(in->loc());
    copies[in] = c;
  }
  copy_nodes(src, dst, copies, true);
  for (const Node* r : src.results()) dst.output(copies.at(r));
}

std::vector<Node*> inline_function(const Function& src, Function& dst, std::span<Node* const> args) {
  if (args.size() != src.inputs().size())
    throw Error("inline: @" + src.name() + " takes " + std::to_string(src.inputs().size()) + " inputs, not " +
                std::to_string(args.size()));
  std::unordered_map<const Node*, Node*> copies;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i]->type() != src.inputs()[i]->type())
      throw Error("inline: input " + std::to_string(i) + " of @" + src.name() + " is " +
                  src.inputs()[i]->type().str() + ", not " + args[i]->type().str());
    copies[src.inputs()[i]] = args[i];
  }
  copy_nodes(src, dst, copies, false);  // dst's names may collide
  std::vector<Node*> results;
  for (const Node* r : src.results()) results.push_back(copies.at(r));
  return results;
}

Function& clone_function(const Function& src, Module& dst, std::string_view name) {
  Function& f = dst.add_function(name.empty() ? std::string_view(src.name()) : name);
  clone_into(src, f);
  return f;
}

}  // namespace nabla
