#pragma once
// Shared by the rewriting passes: replace a node by another and erase it.
#include <string>

#include "nabla/ir/function.h"

namespace nabla {

// Redirects every use of n (operands and results) to r and erases n. When r is
// a node the rewrite just built, it inherits n's name, so printed output keeps
// the user's names.
inline void replace_node(Function& f, Node* n, Node* r, bool r_is_new) {
  std::string name = r_is_new && r->name().empty() ? n->name() : std::string();
  f.replace_all_uses(n, r);
  f.erase(n);
  if (!name.empty()) r->set_name(std::move(name));
}

}  // namespace nabla
