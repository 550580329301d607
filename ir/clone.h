#pragma once
// Copies of functions: the same inputs, nodes (ops, attributes, types, names,
// source positions) and results, in a function of another (or the same) module.
#include <string_view>
#include <unordered_map>

#include "nabla/ir/function.h"

namespace nabla {

// Adds a copy of `src` to `dst` under `name` (src's name when empty) and
// returns it. Throws nabla::Error when `dst` already has a function so named.
Function& clone_function(const Function& src, Module& dst, std::string_view name = {});

// Copies the inputs, body and results of `src` into the empty function `dst`;
// `map` receives each node of src with its copy.
void clone_into(const Function& src, Function& dst, std::unordered_map<const Node*, Node*>* map = nullptr);

}  // namespace nabla
