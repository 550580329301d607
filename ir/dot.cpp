#include "nabla/ir/dot.h"

#include <algorithm>

#include <fmt/format.h>

#include "nabla/ir/printer_names.h"

namespace nabla {
namespace {

constexpr const char* kInputColour = "#d9e8f5";
constexpr const char* kForwardColour = "#ffffff";
constexpr const char* kGradientColour = "#f9c98b";

// A double-quoted Graphviz string; `\n` in `s` stays a label line break.
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string id(const Node* n) { return fmt::format("n{}", n->serial()); }

}  // namespace

std::string to_dot(const Function& f, const DotOptions& options) {
  ValueNames names(f);
  std::string out = fmt::format("digraph {} {{\n", quoted("@" + f.name()));
  out += "  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=11];\n";
  out += "  edge [color=\"#555555\", arrowsize=0.7];\n";
  auto is_result = [&](const Node* n) {
    return std::find(f.results().begin(), f.results().end(), n) != f.results().end();
  };
  bool any_highlight = false;
  for (const Node* n : f.inputs())
    out += fmt::format("  {} [shape=ellipse, style=filled, fillcolor={}, label={}];\n", id(n),
                       quoted(kInputColour),
                       quoted(names.ref(n) + "\\n" + n->type().str()));
  for (const Node* n : f) {
    bool grad = options.highlight && options.highlight(*n);
    any_highlight |= grad;
    std::string label = fmt::format("{} = {}\\n{}", names.ref(n), op_name(n->op()), n->type().str());
    out += fmt::format("  {} [shape=box, style=\"rounded,filled\", fillcolor={}{}, label={}];\n",
                       id(n), quoted(grad ? kGradientColour : kForwardColour),
                       is_result(n) ? ", peripheries=2" : "", quoted(label));
  }
  for (const Node* n : f)
    for (size_t i = 0; i < n->num_operands(); ++i) {
      std::string attrs = n->num_operands() > 1 ? fmt::format(" [headlabel=\"{}\", labelfontsize=8]", i) : "";
      out += fmt::format("  {} -> {}{};\n", id(n->operand(i)), id(n), attrs);
    }
  if (any_highlight) {
    out += "  subgraph cluster_legend {\n    label=\"legend\"; fontsize=10; color=\"#bbbbbb\";\n";
    out += fmt::format("    legend_fwd [shape=box, style=\"rounded,filled\", fillcolor={}, label=\"forward\"];\n",
                       quoted(kForwardColour));
    out += fmt::format("    legend_grad [shape=box, style=\"rounded,filled\", fillcolor={}, label={}];\n",
                       quoted(kGradientColour), quoted(options.highlight_label));
    out += "  }\n";
  }
  return out + "}\n";
}

}  // namespace nabla
