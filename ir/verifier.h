#pragma once
// The IR verifier: checks the invariants every pass may rely on (docs/ir.md,
// "Invariants"). Throws nabla::Error naming the function and the node, with
// `FILE:LINE:COL: error:` in front when the node has a source position.
#include "nabla/ir/function.h"

namespace nabla {

void verify(const Function& f);
void verify(const Module& m);

}  // namespace nabla
