#pragma once
// The .nabla text printer (format and grammar: docs/ir.md). Its output parses
// back (ir/parser.h) to a module that prints to the identical text.
#include <string>

#include "nabla/ir/function.h"

namespace nabla {

class ValueNames;

std::string print(const Module& m);
std::string print(const Function& f);
// One node as one line without indentation or newline, e.g.
// `%3 = cast %labels {dtype = f32} : f32[4]`, for error messages. Value names
// are the ones print(function) would use.
std::string print_node(const Node& n);
// The same with the value names of a snapshot taken earlier (for messages that
// name values as the function printed before a pass changed it).
std::string print_node(const Node& n, const ValueNames& names);

// A float as the text format writes it: shortest round trip, always with a '.'
// or an exponent, or one of inf, -inf, nan.
std::string format_float(double v);
std::string format_float(float v);
// A constant's literal: one scalar for a splat, nested lists otherwise.
std::string format_literal(const Tensor& t);

}  // namespace nabla
