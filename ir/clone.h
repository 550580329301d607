#pragma once
// Copies of functions: the same inputs, nodes (ops, attributes, types, names,
// source positions) and results, in a function of another (or the same) module.
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "nabla/ir/function.h"

namespace nabla {

// Adds a copy of node n to dst at dst's insertion point, its operands looked
// up in `map` (which receives n with its copy), with n's name when `named`
// and its source position; bodies stay shared (they are immutable).
Node* clone_node(const Node& n, Function& dst, std::unordered_map<const Node*, Node*>& map, bool named);

// Adds a copy of `src` to `dst` under `name` (src's name when empty) and
// returns it. Throws nabla::Error when `dst` already has a function so named.
Function& clone_function(const Function& src, Module& dst, std::string_view name = {});

// Copies the inputs, body and results of `src` into the empty function `dst`;
// `map` receives each node of src with its copy.
void clone_into(const Function& src, Function& dst, std::unordered_map<const Node*, Node*>* map = nullptr);

// Copies the nodes of `src` into `dst` at dst's insertion point, src's input i
// replaced by args[i] (a value of dst of the same type), and returns the
// copies of src's results (bodies stay shared, as above).
std::vector<Node*> inline_function(const Function& src, Function& dst, std::span<Node* const> args);

}  // namespace nabla
