#pragma once
// The functions of each module, one file per eval (tools/gradbench/NAME.cpp).
#include <vector>

#include "tools/gradbench/gradbench.h"

namespace nabla::gradbench {

std::vector<EvalFunction> hello_functions();
std::vector<EvalFunction> lse_functions();
std::vector<EvalFunction> llsq_functions();
std::vector<EvalFunction> gmm_functions();
std::vector<EvalFunction> kmeans_functions();
std::vector<EvalFunction> ode_functions();
std::vector<EvalFunction> det_functions();
std::vector<EvalFunction> lstm_functions();
std::vector<EvalFunction> ba_functions();
std::vector<EvalFunction> ht_functions();
std::vector<EvalFunction> particle_functions();
std::vector<EvalFunction> saddle_functions();

}  // namespace nabla::gradbench
