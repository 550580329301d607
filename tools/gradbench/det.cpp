// det: the determinant of A [l,l] by expansion by minors along the first row
// (upstream evals/det/README.md, cpp/gradbench/evals/det.hpp), and its
// gradient in A.
//
// The recursion takes the minor on the last m rows and a set S of m columns
// (c_0 < ... < c_{m-1}) to
//   det(S) = sum_j (-1)^j A[l-m, c_j] det(S \ {c_j})
// so the same minor is reached along many paths: l! products written out,
// but only 2^l distinct minors (one per column set). The graph computes each
// once, one tensor per level m: minors[m] holds det(S) for every S of m
// columns, and level m is
//   sum(sign * gather(A, a_idx) * gather(minors[m-1], s_idx), axis 1)
// with constant indices a_idx, s_idx [C(l,m), m] (the element of A and the
// position of S \ {c_j} in level m-1) and sign [m]. So the graph has about
// 6 l nodes (and l 2^(l-1) products at run time) instead of l! nodes; the
// gradient is nabla::grad (gather's adjoint is scatter_add).
#include <bit>

#include "tools/gradbench/evals.h"
#include "nabla/ir/builder.h"
#include "nabla/passes/build_grad.h"

namespace nabla::gradbench {
namespace {

constexpr int64_t kMaxEll = 16;

Parsed read(const llvm::json::Object& input) {
  int64_t ell = integer_field(input, "ell", 1, kMaxEll);
  return {{Tensor::from_doubles(DType::f64, {ell * ell}, vector_field(input, "A", ell * ell))}, {ell}};
}

// The column sets of m columns of l, as bit masks in increasing order.
std::vector<uint32_t> column_sets(int64_t ell, int64_t m) {
  std::vector<uint32_t> sets;
  for (uint32_t s = 0; s < (uint32_t{1} << ell); ++s)
    if (std::popcount(s) == m) sets.push_back(s);
  return sets;
}

// det(S) for every set S of m columns (level m), from level m - 1.
Value next_level(Function& f, Value A, Value previous, int64_t ell, int64_t m,
                 const std::vector<int64_t>& position) {
  std::vector<uint32_t> sets = column_sets(ell, m);
  int64_t count = static_cast<int64_t>(sets.size()), row = ell - m;
  Tensor a_idx(DType::i64, {count, m}), s_idx(DType::i64, {count, m}), sign(DType::f64, {m});
  for (int64_t i = 0; i < count; ++i) {
    int64_t j = 0;
    for (int64_t c = 0; c < ell; ++c) {
      if (!(sets[i] >> c & 1)) continue;
      a_idx.set(i * m + j, static_cast<double>(row * ell + c));
      s_idx.set(i * m + j, static_cast<double>(position[sets[i] & ~(uint32_t{1} << c)]));
      ++j;
    }
  }
  for (int64_t j = 0; j < m; ++j) sign.set(j, j % 2 ? -1 : 1);
  Value terms = gather(A, constant(f, a_idx)) * gather(previous, constant(f, s_idx));
  return sum(terms * constant(f, sign), std::vector<int64_t>{1});
}

Value determinant(Function& f, Value A, int64_t ell) {
  std::vector<int64_t> position(size_t{1} << ell);  // a column set's place in its level
  Value level = slice(A, {(ell - 1) * ell}, {ell * ell});  // m = 1: the last row
  for (int64_t c = 0; c < ell; ++c) position[size_t{1} << c] = c;
  for (int64_t m = 2; m <= ell; ++m) {
    level = next_level(f, A, level, ell, m, position);
    std::vector<uint32_t> sets = column_sets(ell, m);
    for (size_t i = 0; i < sets.size(); ++i) position[sets[i]] = static_cast<int64_t>(i);
  }
  return sum(level);
}

void build_primal(Function& f, const std::vector<int64_t>& s) {
  f.output(determinant(f, f.input("A", f64({s[0] * s[0]})), s[0]));
}

void build_gradient(Function& f, const std::vector<int64_t>& s) {
  Value A = f.input("A", f64({s[0] * s[0]}));
  f.output(grad(determinant(f, A, s[0]), {A})[0]);
}

}  // namespace

std::vector<EvalFunction> det_functions() {
  return {{"det", "primal", read, build_primal, write_scalar},
          {"det", "gradient", read, build_gradient, write_array}};
}

}  // namespace nabla::gradbench
