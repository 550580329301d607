#include "tools/common/sparse_option.h"

#include <chrono>

#include <fmt/format.h>

#include "nabla/ir/printer_names.h"
#include "nabla/passes/sparse_derivatives.h"
#include "nabla/runtime/error.h"

namespace nabla::cli {

std::string make_sparse_derivative(Function& f, const std::string& kind) {
  if (f.inputs().empty() || f.results().empty())
    throw Error("--" + kind + ": @" + f.name() + " needs an input and a result");
  bool hessian = kind == "hessian";
  ValueNames names(f);
  Value y = f.results()[0], x = f.inputs()[0];
  std::string what = fmt::format("sparse {} of {} in {}", hessian ? "Hessian" : "Jacobian", names.ref(y), names.ref(x));
  auto t0 = std::chrono::steady_clock::now();
  SparseDerivative d = hessian ? sparse_hessian(y, x) : sparse_jacobian(y, x);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const SparsityPattern& p = d.pattern;
  d.values->set_name(f.unique_name(kind));
  f.clear_results();
  f.output(d.values);
  return fmt::format("{}: {} x {}, {} nonzeros{}, {} colors ({}); pattern, coloring and sweeps built in {:.1f} ms", what,
                     p.rows, p.cols, p.nnz(), hessian ? " (lower triangle)" : "", d.coloring.count,
                     hessian ? "star" : d.by_rows ? "rows: reverse sweeps" : "columns: forward products", ms);
}

}  // namespace nabla::cli
