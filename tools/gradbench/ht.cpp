// ht: hand tracking (upstream evals/ht/README.md, cpp/gradbench/evals/ht.hpp).
// theta (26) is placed into the pose parameters [3, B+3] (global rotation,
// scale 1, translation, then 2 or 1 angles per finger joint); each bone's
// Euler angles give R = Rz Ry Rx, relative_b = base_relative_b [R 0; 0 1],
// absolute_b = absolute_parent(b) relative_b (the bone tree is structure: the
// parents are part of the cache key; one batched matmul per depth), transform_b = absolute_b
// inverse_base_absolute_b; the skinned vertex v is sum_b weight_vb
// transform_b base_position_v (one matmul weights [V,B] by the transforms'
// top rows [B,12]), mirrored, then rotated by the global angle-axis and
// translated. err = points - the corresponding vertex, or (with us) the point
// u0 a + u1 b + (1 - u0 - u1) c of the corresponding triangle (a, b, c).
// The Jacobian in (us, theta) is nabla::sparse_jacobian's (each row depends on
// its own u only: 2 + 24 column colors), laid out as the eval's dense rows
// (du0, du1, then theta; the zeros of the translation columns included).
#include <cmath>

#include "nabla/ir/builder.h"
#include "nabla/passes/sparse_derivatives.h"
#include "tools/gradbench/evals.h"

namespace nabla::gradbench {
namespace {

namespace json = llvm::json;
constexpr int64_t kTheta = 26;

const json::Object& object_field(const json::Object& o, std::string_view name) {
  if (const json::Object* v = o.getObject(name)) return *v;
  throw Error("field \"" + std::string(name) + "\": expected an object");
}

// An array of `count` integers in [lo, hi).
std::vector<double> integers_field(const json::Object& o, std::string_view name, int64_t count, int64_t lo,
                                   int64_t hi) {
  std::vector<double> v = vector_field(o, name, count);
  for (double x : v)
    if (x != std::floor(x) || x < static_cast<double>(lo) || x >= static_cast<double>(hi))
      throw Error("field \"" + std::string(name) + "\": expected integers in [" + std::to_string(lo) + ", " +
                  std::to_string(hi) + ")");
  return v;
}

// `count` 4 by 4 matrices, row-major one after the other.
std::vector<double> matrices_field(const json::Object& o, std::string_view name, int64_t count) {
  const json::Array* a = o.getArray(name);
  if (!a || static_cast<int64_t>(a->size()) != count)
    throw Error("field \"" + std::string(name) + "\": expected an array of " + std::to_string(count) + " arrays");
  std::vector<double> out;
  for (size_t i = 0; i < a->size(); ++i) {
    std::string item = std::string(name) + "[" + std::to_string(i) + "]";
    std::vector<double> m = matrix_field(json::Object{{item, (*a)[i]}}, item, 4, 4);
    out.insert(out.end(), m.begin(), m.end());
  }
  return out;
}

// An array of arrays of `cols` numbers, of any length, row-major.
std::vector<double> flatten_rows(const json::Object& o, std::string_view name, int64_t cols) {
  const json::Array* a = o.getArray(name);
  if (!a) throw Error("field \"" + std::string(name) + "\": expected an array of arrays");
  return matrix_field(o, name, static_cast<int64_t>(a->size()), cols);
}

// sizes: B, V, C, T (0 without us), mirrored, then the B parents.
Parsed read(const json::Object& input) {
  const json::Object& data = object_field(input, "data");
  const json::Object& model = object_field(data, "model");
  std::vector<double> parents = vector_field(model, "parents");
  int64_t b = static_cast<int64_t>(parents.size());
  if (b < 22) throw Error("field \"parents\": expected at least 22 bones (the pose parameters of 5 fingers)");
  std::vector<double> positions = flatten_rows(model, "base_positions", 4);
  int64_t v = static_cast<int64_t>(positions.size()) / 4;
  std::vector<double> points = flatten_rows(data, "points", 3), us = flatten_rows(input, "us", 2);
  int64_t c = static_cast<int64_t>(points.size()) / 3;
  bool complicated = !us.empty();
  if (complicated && static_cast<int64_t>(us.size()) != 2 * c)
    throw Error("field \"us\": expected an array of " + std::to_string(c) + " arrays");
  std::vector<double> triangles = complicated ? flatten_rows(model, "triangles", 3) : std::vector<double>{};
  int64_t t = static_cast<int64_t>(triangles.size()) / 3;
  auto mirrored = model.getBoolean("is_mirrored");
  if (!mirrored) throw Error("field \"is_mirrored\": expected a boolean");
  std::vector<int64_t> sizes{b, v, c, t, *mirrored ? 1 : 0};
  for (int64_t i = 0; i < b; ++i) {
    if (parents[i] != std::floor(parents[i]) || parents[i] < -1 || parents[i] >= static_cast<double>(i))
      throw Error("field \"parents\": expected each parent in [-1, its own index)");
    sizes.push_back(static_cast<int64_t>(parents[i]));
  }
  std::vector<double> vars = us, theta = vector_field(input, "theta", kTheta);
  vars.insert(vars.end(), theta.begin(), theta.end());
  auto f = [](Shape s, const std::vector<double>& x) { return Tensor::from_doubles(DType::f64, s, x); };
  std::vector<Tensor> in{f({static_cast<int64_t>(vars.size())}, vars),
                         f({b, 4, 4}, matrices_field(model, "base_relatives", b)),
                         f({b, 4, 4}, matrices_field(model, "inverse_base_absolutes", b)),
                         f({v, 4}, positions), f({v, b}, matrix_field(model, "weights", v, b)), f({c, 3}, points),
                         Tensor::from_doubles(DType::i64, {c}, integers_field(data, "correspondences", c, 0, complicated ? t : v))};
  if (complicated) {
    for (double x : triangles)
      if (x != std::floor(x) || x < 0 || x >= static_cast<double>(v))
        throw Error("field \"triangles\": expected vertex indices in [0, " + std::to_string(v) + ")");
    in.push_back(Tensor::from_doubles(DType::i64, {t, 3}, triangles));
  }
  return {std::move(in), std::move(sizes)};
}

Value stack(const std::vector<Value>& parts, Shape shape) {
  std::vector<Value> cols;
  int64_t n = parts[0]->type().numel();
  for (Value p : parts) cols.push_back(reshape(p, {n, 1}));
  return reshape(concat(cols, 1), std::move(shape));
}

// The pose parameters [3, B+3] (row-major) from theta: a gather of
// (theta, 0, 1) with a constant index.
Value pose_params(Function& f, Value theta, int64_t b) {
  int64_t cols = b + 3, zero = kTheta, one = kTheta + 1;
  Tensor idx(DType::i64, {3 * cols});
  for (int64_t i = 0; i < 3 * cols; ++i) idx.set(i, static_cast<double>(zero));
  for (int64_t r = 0; r < 3; ++r) {
    idx.set(r * cols, static_cast<double>(r));
    idx.set(r * cols + 1, static_cast<double>(one));
    idx.set(r * cols + 2, static_cast<double>(3 + r));
  }
  for (int64_t finger = 0, at = 6, col = 5; finger < 5; ++finger, ++col)
    for (int64_t j = 2; j <= 4; ++j, ++col) {
      idx.set(col, static_cast<double>(at++));
      if (j == 2) idx.set(cols + col, static_cast<double>(at++));
    }
  Tensor pad = Tensor::from_doubles(DType::f64, {2}, std::vector<double>{0.0, 1.0});
  return reshape(gather(concat(std::vector<Value>{theta, constant(f, pad)}, 0), constant(f, idx), 0), {3, cols});
}

Value row(Value m, int64_t r) {
  int64_t cols = m->type().shape[1];
  return reshape(slice(m, {r, 0}, {r + 1, cols}), {cols});
}

// [B,4,4]: [R 0; 0 1] with R = Rz Ry Rx from the angles (x, z, y) of each bone.
Value joint_rotations(Value angles) {
  Value cx = cos(row(angles, 0)), sx = sin(row(angles, 0)), cz = cos(row(angles, 1)), sz = sin(row(angles, 1));
  Value cy = cos(row(angles, 2)), sy = sin(row(angles, 2));
  int64_t b = angles->type().shape[1];
  Value zero = constant(*angles->function(), Tensor(DType::f64, {b})), one = zero + 1.0;
  return stack({cz * cy, cz * sy * sx - sz * cx, sz * sx + cz * sy * cx, zero,  //
                sz * cy, cz * cx + sz * sy * sx, sz * sy * cx - cz * sx, zero,  //
                -sy, cy * sx, cy * cx, zero,                                    //
                zero, zero, zero, one},
               {b, 4, 4});
}

// The global rotation [3,3] of angle-axis a (identity below norm 1e-4).
Value angle_axis_rotation(Value a) {
  Value x0 = slice(a, {0}, {1}), y0 = slice(a, {1}, {2}), z0 = slice(a, {2}, {3});
  Value norm = sqrt(x0 * x0 + y0 * y0 + z0 * z0);
  Value small = less(norm, 1e-4);
  Value safe = select(small, scalar_like(norm, 1.0), norm);
  Value x = x0 / safe, y = y0 / safe, z = z0 / safe, s = sin(safe), c = cos(safe);
  Value r = stack({x * x + (1.0 - x * x) * c, x * y * (1.0 - c) - z * s, x * z * (1.0 - c) + y * s,
                   x * y * (1.0 - c) + z * s, y * y + (1.0 - y * y) * c, y * z * (1.0 - c) - x * s,
                   x * z * (1.0 - c) - y * s, z * y * (1.0 - c) + x * s, z * z + (1.0 - z * z) * c},
                  {3, 3});
  Tensor eye(DType::f64, {3, 3});
  for (int64_t i = 0; i < 3; ++i) eye.set(4 * i, 1.0);
  return select(small, constant(*a->function(), eye), r);
}

struct Inputs {
  Value vars, relatives, inverse_absolutes, positions, weights, points, correspondences, triangles;
};

Value index(Function& f, const std::vector<int64_t>& v) {
  Tensor t(DType::i64, {static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.set(static_cast<int64_t>(i), static_cast<double>(v[i]));
  return constant(f, std::move(t));
}

// absolute_b = absolute_parent(b) relative_b [B,4,4], one batched matmul per
// depth of the bone tree (bones of equal depth at once, their parents'
// absolutes gathered from the levels above).
Value absolutes(Function& f, Value relatives, const std::vector<int64_t>& s) {
  int64_t b = s[0];
  std::vector<int64_t> depth(b), at(b);
  std::vector<std::vector<int64_t>> levels;
  for (int64_t i = 0; i < b; ++i) {
    depth[i] = s[5 + i] < 0 ? 0 : depth[s[5 + i]] + 1;
    if (depth[i] >= static_cast<int64_t>(levels.size())) levels.resize(depth[i] + 1);
    levels[depth[i]].push_back(i);
  }
  Value done;  // the absolutes so far, level after level
  int64_t count = 0;
  for (const std::vector<int64_t>& level : levels) {
    Value rel = gather(relatives, index(f, level), 0);
    std::vector<int64_t> parents;
    for (int64_t i : level) parents.push_back(done.node ? at[s[5 + i]] : 0);
    Value abs = done.node ? matmul(gather(done, index(f, parents), 0), rel) : rel;
    done = done.node ? concat(std::vector<Value>{done, abs}, 0) : abs;
    for (int64_t i : level) at[i] = count++;
  }
  return gather(done, index(f, at), 0);
}

// The skinned, posed vertices [V,3].
Value vertices(Function& f, const Inputs& in, Value theta, const std::vector<int64_t>& s) {
  int64_t b = s[0], v = s[1];
  Value pose = pose_params(f, theta, b);
  Value relatives = matmul(in.relatives, joint_rotations(slice(pose, {0, 3}, {3, b + 3})));
  Value transforms = matmul(absolutes(f, relatives, s), in.inverse_absolutes);
  Value top = reshape(slice(transforms, {0, 0, 0}, {b, 3, 4}), {b, 12});
  Value blended = reshape(matmul(in.weights, top), {v, 3, 4});
  Value skinned = sum(blended * reshape(in.positions, {v, 1, 4}), std::vector<int64_t>{2});
  if (s[4]) skinned = skinned * constant(f, Tensor::from_doubles(DType::f64, {1, 3}, std::vector<double>{-1.0, 1.0, 1.0}));
  Value rotation = angle_axis_rotation(slice(theta, {0}, {3}));
  return matmul(skinned, rotation, false, true) + reshape(slice(theta, {3}, {6}), {1, 3});
}

Value column(Value m, int64_t j) {
  int64_t rows = m->type().shape[0];
  return slice(m, {0, j}, {rows, j + 1});
}

struct Graph {
  Value vars, err;
};

Graph objective(Function& f, const std::vector<int64_t>& s) {
  int64_t b = s[0], v = s[1], c = s[2], t = s[3], nu = t > 0 ? 2 * c : 0;
  Inputs in{f.input("vars", f64({nu + kTheta})), f.input("base_relatives", f64({b, 4, 4})),
            f.input("inverse_base_absolutes", f64({b, 4, 4})), f.input("base_positions", f64({v, 4})),
            f.input("weights", f64({v, b})), f.input("points", f64({c, 3})),
            f.input("correspondences", TensorType{DType::i64, {c}}), Value{}};
  Value verts = vertices(f, in, slice(in.vars, {nu}, {nu + kTheta}), s);
  Value hand;
  if (t == 0) {
    hand = gather(verts, in.correspondences, 0);
  } else {
    in.triangles = f.input("triangles", TensorType{DType::i64, {t, 3}});
    Value corners = gather(verts, gather(in.triangles, in.correspondences, 0), 0);  // [C,3,3]
    auto corner = [&](int64_t k) { return reshape(slice(corners, {0, k, 0}, {c, k + 1, 3}), {c, 3}); };
    Value us = reshape(slice(in.vars, {0}, {nu}), {c, 2});
    Value u0 = column(us, 0), u1 = column(us, 1);
    hand = u0 * corner(0) + u1 * corner(1) + (1.0 - u0 - u1) * corner(2);
  }
  return {in.vars, reshape(in.points - hand, {3 * c})};
}

void build_objective(Function& f, const std::vector<int64_t>& s) { f.output(objective(f, s).err); }

// Every row: its two u columns (with us), then the 26 theta columns.
void build_jacobian(Function& f, const std::vector<int64_t>& s) {
  Graph g = objective(f, s);
  int64_t c = s[2], nu = s[3] > 0 ? 2 * c : 0;
  SparsityPattern layout;
  layout.rows = 3 * c;
  layout.cols = nu + kTheta;
  for (int64_t r = 0; r < 3 * c; ++r) {
    if (nu) layout.col_idx.insert(layout.col_idx.end(), {2 * (r / 3), 2 * (r / 3) + 1});
    for (int64_t j = 0; j < kTheta; ++j) layout.col_idx.push_back(nu + j);
    layout.row_ptr.push_back(layout.nnz());
  }
  f.output(sparse_jacobian(g.err, g.vars, {.layout = std::move(layout)}).values);
}

json::Value write_jacobian(const std::vector<Tensor>& r, const std::vector<int64_t>& s) {
  int64_t cols = kTheta + (s[3] > 0 ? 2 : 0);
  return to_json_matrix(r[0], 3 * s[2], cols);
}

}  // namespace

std::vector<EvalFunction> ht_functions() {
  return {{"ht", "objective", read, build_objective, write_array},
          {"ht", "jacobian", read, build_jacobian, write_jacobian}};
}

}  // namespace nabla::gradbench
