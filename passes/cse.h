#pragma once
// Common subexpression elimination by value numbering.
#include <memory>

#include "nabla/ir/function.h"

namespace nabla {

// Merges body nodes that compute the same value: equal op, operands (in either
// order for commutative ops), attributes (constants compared bitwise) and type.
// The later node's uses go to the earlier one and the later node is erased.
// Never merged: inputs (distinct by definition) and `barrier` nodes, the CSE
// barrier that keeps a deliberate recomputation (rematerialization) apart.
// Idempotent: a second run changes nothing. Returns true when it merged a node.
bool cse(Function& f);

}  // namespace nabla
