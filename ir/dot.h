#pragma once
// Graphviz pictures of functions, in the style of the lecture's figures of a
// graph G and its back-propagation graph: inputs as ellipses, ops as boxes,
// results with a double border, and "highlighted" nodes (for nablac: the ones
// build-grad and later passes appended) in a second colour.
#include <functional>
#include <string>

#include "nabla/ir/function.h"

namespace nabla {

struct DotOptions {
  // Nodes drawn in the gradient colour; none when empty.
  std::function<bool(const Node&)> highlight;
  std::string highlight_label = "gradient";
};

// One `digraph` for the function.
std::string to_dot(const Function& f, const DotOptions& options = {});

}  // namespace nabla
