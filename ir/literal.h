#pragma once
// Constant literals of the .nabla format: a scalar (`1.5`, `-3`, `true`, `inf`)
// or nested lists (`[[1, 2], [3, 4]]`). Rules: docs/ir.md, "Constant literals".
#include <optional>
#include <vector>

#include "nabla/ir/limits.h"
#include "nabla/ir/token_stream.h"
#include "nabla/ir/type.h"

namespace nabla {

struct Literal {
  SourceLoc loc;
  bool is_list = false;         // false: one scalar element
  Shape shape;                  // from the nesting; {} for a scalar
  std::vector<Token> elements;  // in row-major order
};

Literal parse_literal(TokenStream& ts);

// The literal as a tensor. With a type annotation: elements are converted to
// its dtype and a scalar is splat to its shape; without: the shape comes from
// the nesting and the dtype from the elements (bool for true/false, f32 if
// any element is a float, i32 otherwise). Fails through `ts` at the literal.
Tensor literal_to_tensor(const Literal& lit, const std::optional<TensorType>& annotation,
                         const TokenStream& ts);

}  // namespace nabla
