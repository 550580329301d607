#pragma once
// Dead code elimination.
#include <memory>

#include "nabla/ir/function.h"

namespace nabla {

// Erases every body node that reaches no result of the function (no users and
// not a result, transitively). Inputs stay, used or not: they are the
// function's signature. Returns true when it erased a node.
bool dce(Function& f);

}  // namespace nabla
