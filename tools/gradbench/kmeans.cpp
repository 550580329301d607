// kmeans: the k-means cost f(P, C) = sum_i min_j |C_j - P_i|^2 (upstream
// evals/kmeans/README.md), and one Newton direction J H^-1, H the Hessian in
// C, which is diagonal.
// The nearest centroid of every point is the argmin over j of
// |C_j|^2 - 2 P_i . C_j (the distance less |P_i|^2, one matmul P C^T
// [N,K]); the cost is then sum |P_i - C_nearest(i)|^2 with the nearest rows
// gathered, the same value and (but at ties) the same derivatives as the min,
// and derivatives that stay [N,D]: the adjoint of the gather is a
// scatter_add, where min's would be a mask of the [N,K] distances.
// J is nabla::grad. H is diagonal (each |P_i - C_j|^2 couples an element of
// C only with itself; GradBenchEvals.KmeansHessianIsDiagonal checks the
// dense Hessian), so its diagonal is the one Hessian-vector product H 1
// (nabla::hvp), which is what nabla::sparse_hessian computes for a diagonal
// pattern (one color). The sparse driver itself is not used: with the index
// known only at run time, its pattern analysis takes the gather as reading
// every row of C, and on the min form it keeps an index set per element of
// the [N,K] distances (too slow at N K = 10^7).
#include "tools/gradbench/evals.h"
#include "nabla/ir/builder.h"
#include "nabla/passes/build_grad.h"
#include "nabla/passes/derivatives.h"

namespace nabla::gradbench {
namespace {

constexpr int64_t kMax = int64_t{1} << 24;

// The rows of a field of equally long arrays of numbers, row-major; `cols`
// (when not negative) is their length, else the first row's.
std::vector<double> rows_field(const llvm::json::Object& input, std::string_view name, int64_t& rows,
                               int64_t& cols) {
  const llvm::json::Array* a = input.getArray(name);
  if (!a || a->empty() || !(*a)[0].getAsArray() || (*a)[0].getAsArray()->empty())
    throw Error("field \"" + std::string(name) + "\": expected a non-empty array of non-empty arrays");
  rows = static_cast<int64_t>(a->size());
  if (rows > kMax) throw Error("field \"" + std::string(name) + "\": too many rows");
  if (cols < 0) cols = static_cast<int64_t>((*a)[0].getAsArray()->size());
  return matrix_field(input, name, rows, cols);
}

Parsed read(const llvm::json::Object& input) {
  int64_t n = 0, k = 0, d = -1;
  std::vector<double> points = rows_field(input, "points", n, d);
  std::vector<double> centroids = rows_field(input, "centroids", k, d);
  return {{Tensor::from_doubles(DType::f64, {n, d}, points), Tensor::from_doubles(DType::f64, {k, d}, centroids)},
          {n, k, d}};
}

struct Inputs {
  Value points, centroids;
};

Inputs add_inputs(Function& f, const std::vector<int64_t>& s) {
  return {f.input("points", f64({s[0], s[2]})), f.input("centroids", f64({s[1], s[2]}))};
}

// sum_i min_j |C_j - P_i|^2.
Value cost(Value P, Value C) {
  int64_t k = C->shape()[0];
  Value cc = reshape(sum(C * C, std::vector<int64_t>{1}), {1, k});  // [1,K]
  Value score = cc - 2.0 * matmul(P, C, false, true);                // [N,K]
  Value diff = P - gather(C, argmin(score, 1), 0);                   // [N,D]
  return sum(diff * diff);
}

void build_cost(Function& f, const std::vector<int64_t>& s) {
  Inputs in = add_inputs(f, s);
  f.output(cost(in.points, in.centroids));
}

// J / diag(H), both [K,D].
void build_dir(Function& f, const std::vector<int64_t>& s) {
  Inputs in = add_inputs(f, s);
  Value z = cost(in.points, in.centroids);
  Value J = grad(z, {in.centroids})[0];
  Tensor ones(DType::f64, {s[1], s[2]});
  for (int64_t i = 0; i < ones.numel(); ++i) ones.set(i, 1);
  f.output(J / hvp(z, in.centroids, constant(f, ones)));
}

llvm::json::Value write_dir(const std::vector<Tensor>& results, const std::vector<int64_t>& s) {
  return to_json_matrix(results[0], s[1], s[2]);
}

}  // namespace

std::vector<EvalFunction> kmeans_functions() {
  return {{"kmeans", "cost", read, build_cost, write_scalar}, {"kmeans", "dir", read, build_dir, write_dir}};
}

}  // namespace nabla::gradbench
