// nabla-gradbench's ba, ht, particle and saddle (tools/gradbench/,
// docs/gradbench.md): the primal against a plain C++ transcription of the
// eval's formula, the sparse Jacobians (every value of the layout) against
// f64 central differences of the primal graph run by the interpreter, and the
// nested optimisations, in all four modes, against a transcription of
// GradBench's gradient descent and the constants of the evals' run.py.
#include <gtest/gtest.h>

#include <cmath>

#include "gradbench_util.h"
#include "nabla/ir/interpreter.h"
#include "tools/gradbench/gradbench.h"

namespace nabla::gradbench {
namespace NABLA_UNITY_ID {

json::Array array(const std::vector<double>& v) { return json::Array(std::vector<json::Value>(v.begin(), v.end())); }

// Builds module.function for the input, with `perturb` applied to the parsed
// tensors (so that the replicated inputs of the eval differ).
struct Built {
  Module m;
  Function* f = nullptr;
  Parsed p;
};
void build(Built& b, std::string_view module, std::string_view function, const json::Object& input) {
  const EvalFunction* fn = find_function(module, function);
  ASSERT_NE(fn, nullptr);
  b.p = fn->read(input);
  b.f = &b.m.add_function(std::string(function));
  fn->build(*b.f, b.p.sizes);
}

// d primal[r] / d inputs[0][c] for every r and c, by f64 central differences
// of the primal graph in the interpreter: [rows][cols].
std::vector<std::vector<double>> central_jacobian(Built& primal) {
  Tensor& x = primal.p.inputs[0];
  std::vector<std::vector<double>> cols;
  for (int64_t c = 0; c < x.numel(); ++c) {
    double v = x.get(c), h = 1e-6 * std::max(1.0, std::abs(v));
    x.set(c, v + h);
    Tensor up = interpret(*primal.f, primal.p.inputs)[0];
    x.set(c, v - h);
    Tensor down = interpret(*primal.f, primal.p.inputs)[0];
    x.set(c, v);
    std::vector<double> col;
    for (int64_t r = 0; r < up.numel(); ++r) col.push_back((up.get(r) - down.get(r)) / (2 * h));
    cols.push_back(std::move(col));
  }
  std::vector<std::vector<double>> rows(cols[0].size(), std::vector<double>(cols.size()));
  for (size_t c = 0; c < cols.size(); ++c)
    for (size_t r = 0; r < cols[c].size(); ++r) rows[r][c] = cols[c][r];
  return rows;
}

// ---- ba ----

void rotate(const double* rot, const double* pt, double* out) {
  double sq = rot[0] * rot[0] + rot[1] * rot[1] + rot[2] * rot[2];
  double t = std::sqrt(sq), c = std::cos(t), s = std::sin(t), w[3] = {rot[0] / t, rot[1] / t, rot[2] / t};
  double cross[3] = {w[1] * pt[2] - w[2] * pt[1], w[2] * pt[0] - w[0] * pt[2], w[0] * pt[1] - w[1] * pt[0]};
  double dot = (w[0] * pt[0] + w[1] * pt[1] + w[2] * pt[2]) * (1 - c);
  for (int i = 0; i < 3; ++i) out[i] = pt[i] * c + cross[i] * s + w[i] * dot;
}

// The eval's residuals (2 per observation, then 1 per weight) at params.
std::vector<double> ba_residuals(const Tensor& params, const Tensor& feats, int n, int m, int p) {
  std::vector<double> out(3 * p);
  for (int i = 0; i < p; ++i) {
    double cam[11], X[3], xo[3], xc[3];
    for (int k = 0; k < 11; ++k) cam[k] = params.get(11 * (i % n) + k);
    for (int k = 0; k < 3; ++k) X[k] = params.get(11 * n + 3 * (i % m) + k), xo[k] = X[k] - cam[3 + k];
    rotate(cam, xo, xc);
    double px = xc[0] / xc[2], py = xc[1] / xc[2], r2 = px * px + py * py;
    double l = 1 + cam[9] * r2 + cam[10] * r2 * r2, w = params.get(11 * n + 3 * m + i);
    out[2 * i] = w * (px * l * cam[6] + cam[7] - feats.get(2 * i));
    out[2 * i + 1] = w * (py * l * cam[6] + cam[8] - feats.get(2 * i + 1));
    out[2 * p + i] = 1 - w * w;
  }
  return out;
}

json::Object ba_input(int n, int m, int p) {
  return json::Object{{"n", n}, {"m", m}, {"p", p},
          {"cam", array({0.3, -0.2, 0.1, 0.5, -0.4, -9.0, 420.0, 0.1, -0.2, 1e-3, -2e-5})},
          {"x", array({0.7, -0.3, 4.0})}, {"w", 0.8}, {"feat", array({-0.5, 0.25})}};
}

TEST(GradBenchNested, BaObjectiveAndSparseJacobian) {
  const int n = 2, m = 3, p = 5;
  Built primal, jac;
  build(primal, "ba", "objective", ba_input(n, m, p));
  build(jac, "ba", "jacobian", ba_input(n, m, p));
  for (int64_t k = 0; k < primal.p.inputs[0].numel(); ++k)  // every camera, point and weight its own
    primal.p.inputs[0].set(k, primal.p.inputs[0].get(k) * (1 + 0.05 * std::sin(1.3 * k)));
  jac.p.inputs = primal.p.inputs;
  std::vector<double> want = ba_residuals(primal.p.inputs[0], primal.p.inputs[1], n, m, p);
  Tensor got = interpret(*primal.f, primal.p.inputs)[0];
  ASSERT_EQ(got.numel(), 3 * p);
  for (int r = 0; r < 3 * p; ++r) EXPECT_NEAR(got.get(r), want[r], 1e-12 * std::max(1.0, std::abs(want[r]))) << r;
  // Every value of the eval's layout: 15 per reprojection row, 1 per weight row.
  std::vector<std::vector<double>> cd = central_jacobian(primal);
  Tensor values = interpret(*jac.f, jac.p.inputs)[0];
  ASSERT_EQ(values.numel(), 31 * p);
  for (int r = 0, k = 0; r < 3 * p; ++r) {
    int i = r < 2 * p ? r / 2 : r - 2 * p;
    std::vector<int> cols = {11 * n + 3 * m + i};
    if (r < 2 * p) {
      cols.clear();
      for (int c = 0; c < 11; ++c) cols.push_back(11 * (i % n) + c);
      for (int c = 0; c < 3; ++c) cols.push_back(11 * n + 3 * (i % m) + c);
      cols.push_back(11 * n + 3 * m + i);
    }
    for (int c : cols) EXPECT_NEAR(values.get(k++), cd[r][c], 1e-6 * std::max(1.0, std::abs(cd[r][c]))) << r << "," << c;
  }
  // The server's abbreviation: the first 30 entries and the last.
  Server server({});
  json::Object out = *evaluate(server, "ba", "jacobian", ba_input(n, m, p)).getAsObject();
  const json::Array& rows = *out.getArray("rows");
  ASSERT_EQ(rows.size(), 3u * p + 2);  // every row pointer of this small matrix, then the last
  EXPECT_EQ(rows[1].getAsInteger(), 15);
  EXPECT_EQ(rows.back().getAsInteger(), 31 * p);
  EXPECT_EQ((*out.getArray("cols"))[15].getAsInteger(), 0);
  EXPECT_EQ(out.getArray("cols")->back().getAsInteger(), 11 * n + 3 * m + p - 1);
  EXPECT_NEAR(*out.getArray("vals")->back().getAsNumber(), -2 * 0.8, 1e-12);
  json::Object obj = *evaluate(server, "ba", "objective", ba_input(n, m, p)).getAsObject();
  EXPECT_EQ(obj.getObject("w_err")->getInteger("repeated"), p);
  EXPECT_NEAR(*obj.getObject("w_err")->getNumber("element"), 1 - 0.64, 1e-15);
}

// ---- ht ----

struct Hand {
  int b = 22, v = 6;
  std::vector<int> parents, corr = {0, 2, 1, 2}, tri = {0, 1, 2, 3, 4, 5, 5, 0, 2};
  std::vector<double> rel, inv, pos, weights, points, theta, us;
  Hand() {
    for (int i = 0; i < b; ++i) {
      parents.push_back(i == 0 ? -1 : i % 4 == 1 ? 0 : i - 1);
      for (int r = 0; r < 4; ++r)
        for (int c = 0; c < 4; ++c) {
          rel.push_back((r == c) + (r < 3 ? 0.1 * std::sin(i + 3 * r + 7 * c) : 0.0));
          inv.push_back((r == c) + (r < 3 ? 0.1 * std::cos(2 * i + r - c) : 0.0));
        }
    }
    for (int k = 0; k < v; ++k) {
      pos.insert(pos.end(), {std::sin(k + 1.0), std::cos(2.0 * k), 0.5 + 0.1 * k, 1.0});
      for (int i = 0; i < b; ++i) weights.push_back(((k + i) % 5 == 0) ? 0.4 + 0.01 * i : 0.02);
    }
    for (int i = 0; i < 12; ++i) points.push_back(std::sin(0.7 * i));
    for (int i = 0; i < 26; ++i) theta.push_back(0.1 * std::sin(1.9 * i + 0.4));
    us = {0.2, 0.3, 0.5, 0.1, 0.25, 0.25, 0.6, 0.3};
  }
  json::Object input(bool complicated) const {
    auto rows = [](const std::vector<double>& x, int cols) {
      json::Array a;
      for (size_t i = 0; i < x.size(); i += cols) a.push_back(array(std::vector<double>(x.begin() + i, x.begin() + i + cols)));
      return a;
    };
    json::Array rels, invs, tris;
    for (int i = 0; i < b; ++i) {
      rels.push_back(rows(std::vector<double>(rel.begin() + 16 * i, rel.begin() + 16 * i + 16), 4));
      invs.push_back(rows(std::vector<double>(inv.begin() + 16 * i, inv.begin() + 16 * i + 16), 4));
    }
    for (size_t i = 0; i < tri.size(); i += 3) tris.push_back(json::Array{tri[i], tri[i + 1], tri[i + 2]});
    json::Object model{{"bone_count", b}, {"parents", json::Array(std::vector<json::Value>(parents.begin(), parents.end()))},
                       {"base_relatives", std::move(rels)}, {"inverse_base_absolutes", std::move(invs)},
                       {"base_positions", rows(pos, 4)}, {"weights", rows(weights, b)},
                       {"triangles", std::move(tris)}, {"is_mirrored", false}};
    json::Object data{{"model", std::move(model)}, {"correspondences", json::Array(std::vector<json::Value>(corr.begin(), corr.end()))},
                      {"points", rows(points, 3)}};
    return json::Object{{"theta", array(theta)}, {"data", std::move(data)}, {"us", complicated ? rows(us, 2) : json::Array{}}};
  }
};

void mul4(const double* a, const double* b, double* c) {
  for (int r = 0; r < 4; ++r)
    for (int k = 0; k < 4; ++k) {
      c[4 * r + k] = 0;
      for (int j = 0; j < 4; ++j) c[4 * r + k] += a[4 * r + j] * b[4 * j + k];
    }
}

// ht.hpp's objective, transcribed: pose, Euler rotations, the bone tree,
// skinning, the global angle-axis rotation and translation, the residuals.
std::vector<double> ht_objective(const Hand& h, bool complicated) {
  double pose[3][25] = {};
  const std::vector<double>& t = h.theta;
  for (int r = 0; r < 3; ++r) pose[r][0] = t[r], pose[r][1] = 1, pose[r][2] = t[3 + r];
  for (int f = 0, it = 6, col = 5; f < 5; ++f, ++col)
    for (int i = 2; i <= 4; ++i, ++col) {
      pose[0][col] = t[it++];
      if (i == 2) pose[1][col] = t[it++];
    }
  std::vector<double> abs(16 * h.b), T(16 * h.b);
  for (int i = 0; i < h.b; ++i) {
    double tx = pose[0][i + 3], tz = pose[1][i + 3], ty = pose[2][i + 3];
    double rx[16] = {1, 0, 0, 0, 0, std::cos(tx), -std::sin(tx), 0, 0, std::sin(tx), std::cos(tx), 0, 0, 0, 0, 1};
    double ry[16] = {std::cos(ty), 0, std::sin(ty), 0, 0, 1, 0, 0, -std::sin(ty), 0, std::cos(ty), 0, 0, 0, 0, 1};
    double rz[16] = {std::cos(tz), -std::sin(tz), 0, 0, std::sin(tz), std::cos(tz), 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    double zy[16], r[16], rel[16];
    mul4(rz, ry, zy);
    mul4(zy, rx, r);
    mul4(&h.rel[16 * i], r, rel);
    if (h.parents[i] < 0) std::copy(rel, rel + 16, &abs[16 * i]);
    else mul4(&abs[16 * h.parents[i]], rel, &abs[16 * i]);
    mul4(&abs[16 * i], &h.inv[16 * i], &T[16 * i]);
  }
  double a[3] = {t[0], t[1], t[2]}, norm = std::sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
  double x = a[0] / norm, y = a[1] / norm, z = a[2] / norm, s = std::sin(norm), c = std::cos(norm);
  double R[3][3] = {{x * x + (1 - x * x) * c, x * y * (1 - c) - z * s, x * z * (1 - c) + y * s},
                    {x * y * (1 - c) + z * s, y * y + (1 - y * y) * c, y * z * (1 - c) - x * s},
                    {x * z * (1 - c) - y * s, z * y * (1 - c) + x * s, z * z + (1 - z * z) * c}};
  std::vector<double> verts(3 * h.v);
  for (int k = 0; k < h.v; ++k) {
    double p[3] = {};
    for (int b = 0; b < h.b; ++b)
      for (int r = 0; r < 3; ++r)
        for (int j = 0; j < 4; ++j) p[r] += h.weights[h.b * k + b] * T[16 * b + 4 * r + j] * h.pos[4 * k + j];
    for (int r = 0; r < 3; ++r) verts[3 * k + r] = R[r][0] * p[0] + R[r][1] * p[1] + R[r][2] * p[2] + t[3 + r];
  }
  std::vector<double> err;
  for (size_t i = 0; i < h.corr.size(); ++i)
    for (int r = 0; r < 3; ++r) {
      double hand = verts[3 * h.corr[i] + r];
      if (complicated) {
        const int* tv = &h.tri[3 * h.corr[i]];
        double u0 = h.us[2 * i], u1 = h.us[2 * i + 1];
        hand = u0 * verts[3 * tv[0] + r] + u1 * verts[3 * tv[1] + r] + (1 - u0 - u1) * verts[3 * tv[2] + r];
      }
      err.push_back(h.points[3 * i + r] - hand);
    }
  return err;
}

void check_ht(bool complicated) {
  Hand h;
  if (!complicated) h.corr = {5, 0, 3, 1};
  Server server({});
  std::vector<double> want = ht_objective(h, complicated);
  json::Value got = evaluate(server, "ht", "objective", h.input(complicated));
  ASSERT_EQ(got.getAsArray()->size(), want.size());
  for (size_t r = 0; r < want.size(); ++r) EXPECT_NEAR(*(*got.getAsArray())[r].getAsNumber(), want[r], 1e-12) << r;
  Built primal;
  build(primal, "ht", "objective", h.input(complicated));
  std::vector<std::vector<double>> cd = central_jacobian(primal);  // columns: us, then theta
  json::Value jac = evaluate(server, "ht", "jacobian", h.input(complicated));
  const json::Array& rows = *jac.getAsArray();
  ASSERT_EQ(rows.size(), want.size());
  size_t nu = complicated ? 8 : 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    const json::Array& row = *rows[r].getAsArray();
    ASSERT_EQ(row.size(), 26 + (complicated ? 2u : 0u));
    for (size_t c = 0; c < row.size(); ++c) {
      double w = complicated && c < 2 ? cd[r][2 * (r / 3) + c] : cd[r][nu + c - (complicated ? 2 : 0)];
      EXPECT_NEAR(*row[c].getAsNumber(), w, 1e-6 * std::max(1.0, std::abs(w))) << r << "," << c;
    }
  }
}

TEST(GradBenchNested, HtWithUs) { check_ht(true); }
TEST(GradBenchNested, HtWithoutUs) { check_ht(false); }

// ---- particle and saddle ----

// GradBench's gd.hpp (multivariate_argmin), transcribed.
template <class F, class G>
std::vector<double> descend(F f, G g, std::vector<double> x) {
  double fx = f(x), eta = 1e-5;
  std::vector<double> gx = g(x), next(x.size());
  for (int i = 0;;) {
    double norm = 0, dist = 0;
    for (double v : gx) norm += v * v;
    if (std::sqrt(norm) <= 1e-5) return x;
    if (i == 10) {
      eta *= 2, i = 0;
      continue;
    }
    for (size_t j = 0; j < x.size(); ++j) next[j] = x[j] - eta * gx[j], dist += (x[j] - next[j]) * (x[j] - next[j]);
    if (std::sqrt(dist) <= 1e-5) return x;
    double fn = f(next);
    if (fn < fx) x = next, fx = fn, gx = g(x), ++i;
    else eta /= 2, i = 0;
  }
}

template <class F>
std::vector<double> central_gradient(F f, std::vector<double> x) {
  std::vector<double> g;
  for (size_t j = 0; j < x.size(); ++j) {
    double v = x[j], h = 1e-6;
    x[j] = v + h;
    double up = f(x);
    x[j] = v - h;
    double down = f(x);
    x[j] = v;
    g.push_back((up - down) / (2 * h));
  }
  return g;
}

// x(t_f)^2 of the particle for control w (the Euler loop of particle's README).
double particle_miss(double w) {
  double x[2] = {0, 8}, v[2] = {0.75, 0}, c[2][2] = {{10, 10 - w}, {10, 0}};
  for (;;) {
    double acc[2] = {0, 0};
    for (auto& q : c) {
      double dx = x[0] - q[0], dy = x[1] - q[1], d = std::sqrt(dx * dx + dy * dy);
      acc[0] += dx / (d * d * d), acc[1] += dy / (d * d * d);  // -grad of 1/d
    }
    x[0] += 0.1 * v[0], x[1] += 0.1 * v[1];
    if (x[1] <= 0) {
      double hit = x[0] - x[1] / v[1] * v[0];
      return hit * hit;
    }
    v[0] += 0.1 * acc[0], v[1] += 0.1 * acc[1];
  }
}

const char* kModes[] = {"rr", "ff", "fr", "rf"};

TEST(GradBenchNested, Particle) {
  Server server({});
  auto f = [](const std::vector<double>& w) { return particle_miss(w[0]); };
  for (double w0 : {0.0, 0.3}) {
    double want = descend(f, [&](const std::vector<double>& w) { return central_gradient(f, w); }, {w0})[0];
    for (const char* mode : kModes) {
      double got = *evaluate(server, "particle", mode, json::Object{{"w", w0}}).getAsNumber();
      EXPECT_NEAR(got, want, 1e-6) << mode << " from " << w0;
      if (w0 == 0) {
        EXPECT_NEAR(got, 0.2071918746486116, 1e-12) << mode;  // evals/particle/run.py
      }
    }
  }
}

TEST(GradBenchNested, Saddle) {
  Server server({});
  auto f = [](const std::vector<double>& x, const std::vector<double>& y) {
    return x[0] * x[0] + x[1] * x[1] - y[0] * y[0] - y[1] * y[1];
  };
  for (std::vector<double> start : {std::vector<double>{1, 1}, std::vector<double>{0.5, -0.8}}) {
    auto argmax = [&](const std::vector<double>& x) {
      return descend([&](const std::vector<double>& y) { return -f(x, y); },
                     [](const std::vector<double>& y) { return std::vector<double>{2 * y[0], 2 * y[1]}; }, start);
    };
    auto max_over_y = [&](const std::vector<double>& x) { return f(x, argmax(x)); };
    std::vector<double> x = descend(max_over_y, [&](const std::vector<double>& p) { return central_gradient(max_over_y, p); }, start);
    std::vector<double> want = x, y = argmax(x);
    want.insert(want.end(), y.begin(), y.end());
    for (const char* mode : kModes) {
      json::Value got = evaluate(server, "saddle", mode, json::Object{{"start", array(start)}});
      ASSERT_EQ(got.getAsArray()->size(), 4u);
      for (size_t k = 0; k < 4; ++k) {
        EXPECT_NEAR(*(*got.getAsArray())[k].getAsNumber(), want[k], 1e-9) << mode << " " << k;
        if (start[0] == 1) {
          EXPECT_NEAR(*(*got.getAsArray())[k].getAsNumber(), 8.246324826140356e-06, 1e-15);  // run.py
        }
      }
    }
  }
}

}  // namespace
}  // namespace nabla::gradbench
