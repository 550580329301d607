#include "tools/gradbench/evals.h"

namespace nabla::gradbench {

const std::vector<EvalFunction>& eval_functions() {
  static const std::vector<EvalFunction> all = [] {
    std::vector<EvalFunction> v;
    for (auto module : {hello_functions, lse_functions, llsq_functions, gmm_functions, kmeans_functions,
                        ode_functions, det_functions, lstm_functions, ba_functions, ht_functions,
                        particle_functions, saddle_functions})
      for (const EvalFunction& f : module()) v.push_back(f);
    return v;
  }();
  return all;
}

}  // namespace nabla::gradbench
