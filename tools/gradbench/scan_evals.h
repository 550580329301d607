#pragma once
// The evals that loop over time (ode, lstm), built either as one nabla::scan
// (what nabla-gradbench runs) or unrolled, one copy of the step per
// iteration: the tests check that both agree, and docs/gradbench.md compares
// their compile times.
#include <cstdint>

#include "nabla/ir/function.h"

namespace nabla::gradbench {

// Whether ode and lstm build their steps unrolled instead of as a scan
// (nabla-gradbench --unrolled; false by default).
void set_unrolled_loops(bool unrolled);
bool unrolled_loops();

// y(2) of the ode eval for x [n] after `steps` RK4 steps.
Value ode_solution(Function& f, Value x, int64_t steps, bool unrolled);

// The lstm eval's loss for main_params [2l,4b], extra_params [3,b], state
// [2l,b] and sequence [c,b] (c >= 2).
Value lstm_loss(Value main, Value extra, Value state, Value sequence, bool unrolled);

}  // namespace nabla::gradbench
