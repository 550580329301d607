// ba: bundle adjustment (upstream evals/ba/README.md). Observation i sees
// point obs_i = i % m from camera i % n (the eval's fixed pattern, so a
// constant of the graph per sizes); its reprojection error is
//   Xcam = rodrigues(r, X - C),  p = Xcam.xy / Xcam.z,
//   p = p (1 + k1 |p|^2 + k2 |p|^4) f + (u0, v0),   e_i = w_i (p - feat_i),
// and its weight error 1 - w_i^2. The Jacobian of (e [2P], w_err [P]) in
// (cams [11N], X [3M], w [P]) is nabla::sparse_jacobian's: the pattern seen
// through the gathers with constant indices, 15 column colors, one
// forward-mode product per color; its values are laid out in the eval's CSR
// (15 entries per reprojection row, 1 per weight row, the structural zeros
// of the format included: d e_x / d v0 and d e_y / d u0).
#include "nabla/ir/builder.h"
#include "nabla/passes/sparse_derivatives.h"
#include "tools/gradbench/evals.h"

namespace nabla::gradbench {
namespace {

constexpr int64_t kCam = 11, kMax = int64_t{1} << 26;

Parsed read(const llvm::json::Object& input) {
  int64_t n = integer_field(input, "n", 1, kMax), m = integer_field(input, "m", 1, kMax);
  int64_t p = integer_field(input, "p", 1, kMax);
  std::vector<double> cam = vector_field(input, "cam", kCam), x = vector_field(input, "x", 3);
  std::vector<double> feat = vector_field(input, "feat", 2);
  double w = number_field(input, "w");
  Tensor params(DType::f64, {kCam * n + 3 * m + p}), feats(DType::f64, {p, 2});
  for (int64_t i = 0; i < kCam * n; ++i) params.set(i, cam[i % kCam]);
  for (int64_t i = 0; i < 3 * m; ++i) params.set(kCam * n + i, x[i % 3]);
  for (int64_t i = 0; i < p; ++i) {
    params.set(kCam * n + 3 * m + i, w);
    feats.set(2 * i, feat[0]);
    feats.set(2 * i + 1, feat[1]);
  }
  return {{std::move(params), std::move(feats)}, {n, m, p}};
}

struct V3 {
  Value x, y, z;
};
V3 operator+(V3 a, V3 b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
V3 operator-(V3 a, V3 b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
V3 operator*(V3 a, Value s) { return {a.x * s, a.y * s, a.z * s}; }
V3 cross(V3 a, V3 b) { return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x}; }
Value dot(V3 a, V3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
V3 select(Value c, V3 a, V3 b) { return {nabla::select(c, a.x, b.x), nabla::select(c, a.y, b.y), nabla::select(c, a.z, b.z)}; }

// Column j of m [P,K], as a vector [P].
Value column(Value m, int64_t j) {
  int64_t p = m->type().shape[0];
  return reshape(slice(m, {0, j}, {p, j + 1}), {p});
}
V3 columns(Value m, int64_t j) { return {column(m, j), column(m, j + 1), column(m, j + 2)}; }

// Rotates pt by the angle-axis rot (Rodrigues); first order where |rot| = 0.
V3 rodrigues(V3 rot, V3 pt) {
  Value sq = dot(rot, rot);
  Value nonzero = not_equal(sq, 0.0);
  Value theta = sqrt(nabla::select(nonzero, sq, scalar_like(sq, 1.0)));  // no sqrt'(0) in the untaken branch
  Value c = cos(theta), s = sin(theta);
  V3 w = rot * (1.0 / theta);
  V3 rotated = pt * c + cross(w, pt) * s + w * (dot(w, pt) * (1.0 - c));
  return select(nonzero, rotated, pt + cross(rot, pt));
}

// The index i % size of every observation i < p, a constant.
Value observed(Function& f, int64_t p, int64_t size) {
  Tensor idx(DType::i64, {p});
  for (int64_t i = 0; i < p; ++i) idx.set(i, static_cast<double>(i % size));
  return constant(f, std::move(idx));
}

// (e [2P] interleaved x, y per observation, then w_err [P]) from all parameters.
Value residuals(Function& f, Value params, Value feats, int64_t n, int64_t m, int64_t p) {
  Value cams = reshape(slice(params, {0}, {kCam * n}), {n, kCam});
  Value points = reshape(slice(params, {kCam * n}, {kCam * n + 3 * m}), {m, 3});
  Value w = slice(params, {kCam * n + 3 * m}, {kCam * n + 3 * m + p});
  Value cam = gather(cams, observed(f, p, n), 0), point = gather(points, observed(f, p, m), 0);
  V3 xcam = rodrigues(columns(cam, 0), columns(point, 0) - columns(cam, 3));
  Value px = xcam.x / xcam.z, py = xcam.y / xcam.z;
  Value rsq = px * px + py * py;
  Value distortion = 1.0 + column(cam, 9) * rsq + column(cam, 10) * rsq * rsq;
  Value focal = column(cam, 6) * distortion;
  Value ex = w * (px * focal + column(cam, 7) - column(feats, 0));
  Value ey = w * (py * focal + column(cam, 8) - column(feats, 1));
  Value e = reshape(concat(std::vector<Value>{reshape(ex, {p, 1}), reshape(ey, {p, 1})}, 1), {2 * p});
  return concat(std::vector<Value>{e, 1.0 - w * w}, 0);
}

struct Graph {
  Value params, feats, y;
};
Graph residual_graph(Function& f, const std::vector<int64_t>& s) {
  Value params = f.input("params", f64({kCam * s[0] + 3 * s[1] + s[2]}));
  Value feats = f.input("feats", f64({s[2], 2}));
  return {params, feats, residuals(f, params, feats, s[0], s[1], s[2])};
}

void build_objective(Function& f, const std::vector<int64_t>& s) { f.output(residual_graph(f, s).y); }

// The columns of row r in the eval's CSR layout (ascending): camera, point
// and weight of observation r / 2 for a reprojection row, the weight alone for
// a weight row.
// (Appended to cols.)
void append_layout_row(IndexVector& cols, int64_t r, int64_t n, int64_t m, int64_t p) {
  if (r >= 2 * p) return cols.push_back(kCam * n + 3 * m + (r - 2 * p));
  int64_t i = r / 2, cam = i % n, pt = i % m;
  for (int64_t k = 0; k < kCam; ++k) cols.push_back(kCam * cam + k);
  for (int64_t k = 0; k < 3; ++k) cols.push_back(kCam * n + 3 * pt + k);
  cols.push_back(kCam * n + 3 * m + i);
}

SparsityPattern layout(int64_t n, int64_t m, int64_t p) {
  SparsityPattern l;
  l.rows = 3 * p;
  l.cols = kCam * n + 3 * m + p;
  l.col_idx.reserve(31 * p);
  l.row_ptr.reserve(l.rows + 1);
  for (int64_t r = 0; r < l.rows; ++r) {
    append_layout_row(l.col_idx, r, n, m, p);
    l.row_ptr.push_back(l.nnz());
  }
  return l;
}

void build_jacobian(Function& f, const std::vector<int64_t>& s) {
  Graph g = residual_graph(f, s);
  f.output(sparse_jacobian(g.y, g.params, {.layout = layout(s[0], s[1], s[2])}).values);
}

llvm::json::Value write_objective(const std::vector<Tensor>& r, const std::vector<int64_t>& s) {
  int64_t p = s[2];
  return llvm::json::Object{
      {"reproj_error", llvm::json::Object{{"elements", llvm::json::Array{r[0].get(0), r[0].get(1)}}, {"repeated", p}}},
      {"w_err", llvm::json::Object{{"element", r[0].get(2 * p)}, {"repeated", p}}}};
}

// The eval's abbreviation of the CSR matrix: the first 30 entries of rows,
// cols and vals, and the last.
llvm::json::Value write_jacobian(const std::vector<Tensor>& r, const std::vector<int64_t>& s) {
  int64_t n = s[0], m = s[1], p = s[2], nnz = r[0].numel();
  IndexVector cols;
  llvm::json::Array rows{0}, cs, vals;
  for (int64_t row = 0, at = 0; row < 3 * p && rows.size() < 30; ++row) {
    size_t before = cols.size();
    append_layout_row(cols, row, n, m, p);
    at += static_cast<int64_t>(cols.size() - before);
    rows.push_back(at);
  }
  for (size_t k = 0; k < 30 && k < cols.size(); ++k) cs.push_back(cols[k]), vals.push_back(r[0].get(static_cast<int64_t>(k)));
  rows.push_back(nnz);
  cs.push_back(kCam * n + 3 * m + p - 1);
  vals.push_back(r[0].get(nnz - 1));
  return llvm::json::Object{{"rows", std::move(rows)}, {"cols", std::move(cs)}, {"vals", std::move(vals)}};
}

}  // namespace

std::vector<EvalFunction> ba_functions() {
  return {{"ba", "objective", read, build_objective, write_objective},
          {"ba", "jacobian", read, build_jacobian, write_jacobian}};
}

}  // namespace nabla::gradbench
