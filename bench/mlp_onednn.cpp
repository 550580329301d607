#include "bench/mlp_onednn.h"

#include <algorithm>

namespace nabla::bench {

using dnnl::algorithm;
using dnnl::matmul;
using dnnl::memory;

memory::desc OneDnnMlpStep::md(int64_t rows, int64_t cols, bool transposed) const {
  return memory::desc({rows, cols}, memory::data_type::f32, transposed ? tag::ba : tag::ab);
}

OneDnnMlpStep::OneDnnMlpStep(const MlpDims& d)
    : d_(d),
      h1_(d.batch * d.h1), h2_(d.batch * d.h2), z3_(d.batch * d.classes),
      g3_(d.batch * d.classes), g2_(d.batch * d.h2), g1_(d.batch * d.h1) {
  fc1_ = forward_layer(d.batch, d.in, d.h1, true);
  fc2_ = forward_layer(d.batch, d.h1, d.h2, true);
  fc3_ = forward_layer(d.batch, d.h2, d.classes, false);
  up3_ = weight_update(d.h2, d.batch, d.classes);
  up2_ = weight_update(d.h1, d.batch, d.h2);
  up1_ = weight_update(d.in, d.batch, d.h1);
  back3_ = input_gradient(d.batch, d.classes, d.h2);
  back2_ = input_gradient(d.batch, d.h2, d.h1);
}

// y = x w + b, relu'd when asked (post-op).
matmul OneDnnMlpStep::forward_layer(int64_t m, int64_t k, int64_t n, bool relu) {
  dnnl::primitive_attr attr;
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(ops);
  }
  matmul::desc desc(md(m, k), md(k, n), md(1, n), md(m, n));
  return matmul(matmul::primitive_desc(desc, attr, eng_));
}

// w' = c (-(lr / c) act^T g + w) = c w - lr act^T g.
matmul OneDnnMlpStep::weight_update(int64_t k_rows, int64_t batch, int64_t n) {
  float c = 1.f - 2.f * d_.lambda * d_.lr;
  dnnl::primitive_attr attr;
  attr.set_output_scales(0, {-d_.lr / c});
  dnnl::post_ops ops;
  ops.append_binary(algorithm::binary_add, md(k_rows, n));
  ops.append_eltwise(1.f, algorithm::eltwise_linear, c, 0.f);
  attr.set_post_ops(ops);
  matmul::desc desc(md(k_rows, batch, true), md(batch, n), md(k_rows, n));
  return matmul(matmul::primitive_desc(desc, attr, eng_));
}

// out = g w^T (w stored k x n).
matmul OneDnnMlpStep::input_gradient(int64_t batch, int64_t n, int64_t k) {
  matmul::desc desc(md(batch, n), md(n, k, true), md(batch, k));
  return matmul(matmul::primitive_desc(desc, eng_));
}

void OneDnnMlpStep::run_forward(matmul& prim, const float* x, int64_t m, int64_t k, float* w,
                                float* b, int64_t n, float* y) {
  memory xm(md(m, k), eng_, const_cast<float*>(x)), wm(md(k, n), eng_, w),
      bm(md(1, n), eng_, b), ym(md(m, n), eng_, y);
  prim.execute(strm_, {{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_BIAS, bm},
                       {DNNL_ARG_DST, ym}});
}

void OneDnnMlpStep::run_update(matmul& prim, const float* act, int64_t k, const float* g,
                               int64_t n, float* w, float* w_out) {
  memory am(md(k, d_.batch, true), eng_, const_cast<float*>(act)),
      gm(md(d_.batch, n), eng_, const_cast<float*>(g)), wm(md(k, n), eng_, w),
      om(md(k, n), eng_, w_out);
  prim.execute(strm_, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, gm}, {DNNL_ARG_DST, om},
                       {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, wm}});
}

void OneDnnMlpStep::run_input_gradient(matmul& prim, const float* g, int64_t n, float* w,
                                       int64_t k, float* out) {
  memory gm(md(d_.batch, n), eng_, const_cast<float*>(g)), wm(md(n, k, true), eng_, w),
      om(md(d_.batch, k), eng_, out);
  prim.execute(strm_, {{DNNL_ARG_SRC, gm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, om}});
}

namespace {

// g = g * (h > 0) in place; db = column sums of g; b' = b - lr db.
void relu_backward_and_bias(float* g, const float* h, int64_t rows, int64_t cols, const float* b,
                            float* b_out, float lr) {
#pragma omp parallel for schedule(static)
  for (int64_t j0 = 0; j0 < cols; j0 += 64) {
    int64_t j1 = std::min(cols, j0 + 64);
    float db[64] = {};
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = j0; j < j1; ++j) {
        float v = h[i * cols + j] > 0 ? g[i * cols + j] : 0.f;
        g[i * cols + j] = v;
        db[j - j0] += v;
      }
    for (int64_t j = j0; j < j1; ++j) b_out[j] = b[j] - lr * db[j - j0];
  }
}

double sum_squares(const std::vector<float>& w) {
  double total = 0;
  const int64_t n = static_cast<int64_t>(w.size());
#pragma omp parallel for reduction(+ : total) schedule(static)
  for (int64_t i0 = 0; i0 < n; i0 += 4096) {
    float s = 0;
    for (int64_t i = i0; i < std::min(n, i0 + 4096); ++i) s += w[i] * w[i];
    total += s;
  }
  return total;
}

}  // namespace

float OneDnnMlpStep::run(const float* x, const int32_t* labels, MlpParams& p, MlpParams& out) {
  const MlpDims& d = d_;
  run_forward(fc1_, x, d.batch, d.in, p.w1.data(), p.b1.data(), d.h1, h1_.data());
  run_forward(fc2_, h1_.data(), d.batch, d.h1, p.w2.data(), p.b2.data(), d.h2, h2_.data());
  run_forward(fc3_, h2_.data(), d.batch, d.h2, p.w3.data(), p.b3.data(), d.classes, z3_.data());
  strm_.wait();

  // Softmax cross-entropy (stable), its gradient (softmax - onehot) / batch,
  // the bias gradient of the last layer.
  double loss = 0;
  std::vector<float> db3(d.classes, 0.f);
  const float inv = 1.f / static_cast<float>(d.batch);
  for (int64_t i = 0; i < d.batch; ++i) {
    const float* z = &z3_[i * d.classes];
    float* g = &g3_[i * d.classes];
    float mx = z[0];
    for (int64_t j = 1; j < d.classes; ++j) mx = std::max(mx, z[j]);
    float s = 0;
    for (int64_t j = 0; j < d.classes; ++j) s += (g[j] = std::exp(z[j] - mx));
    loss += std::log(s) + mx - z[labels[i]];
    for (int64_t j = 0; j < d.classes; ++j) {
      g[j] = (g[j] / s - (j == labels[i] ? 1.f : 0.f)) * inv;
      db3[j] += g[j];
    }
  }
  for (int64_t j = 0; j < d.classes; ++j) out.b3[j] = p.b3[j] - d.lr * db3[j];
  double decay = sum_squares(p.w1) + sum_squares(p.w2) + sum_squares(p.w3);

  run_update(up3_, h2_.data(), d.h2, g3_.data(), d.classes, p.w3.data(), out.w3.data());
  run_input_gradient(back3_, g3_.data(), d.classes, p.w3.data(), d.h2, g2_.data());
  strm_.wait();
  relu_backward_and_bias(g2_.data(), h2_.data(), d.batch, d.h2, p.b2.data(), out.b2.data(), d.lr);
  run_update(up2_, h1_.data(), d.h1, g2_.data(), d.h2, p.w2.data(), out.w2.data());
  run_input_gradient(back2_, g2_.data(), d.h2, p.w2.data(), d.h1, g1_.data());
  strm_.wait();
  relu_backward_and_bias(g1_.data(), h1_.data(), d.batch, d.h1, p.b1.data(), out.b1.data(), d.lr);
  run_update(up1_, x, d.in, g1_.data(), d.h1, p.w1.data(), out.w1.data());
  strm_.wait();
  return static_cast<float>(loss / d.batch + d.lambda * decay);
}

float mlp_step_reference(const MlpDims& d, const float* x, const int32_t* labels,
                         const MlpParams& p, MlpParams& out) {
  auto dense = [](const std::vector<double>& in, int64_t m, int64_t k, const std::vector<float>& w,
                  const std::vector<float>& b, int64_t n, bool relu) {
    std::vector<double> y(m * n);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = b[j];
        for (int64_t t = 0; t < k; ++t) s += in[i * k + t] * w[t * n + j];
        y[i * n + j] = relu && !(s > 0) ? 0 : s;
      }
    return y;
  };
  std::vector<double> xd(x, x + d.batch * d.in);
  auto h1 = dense(xd, d.batch, d.in, p.w1, p.b1, d.h1, true);
  auto h2 = dense(h1, d.batch, d.h1, p.w2, p.b2, d.h2, true);
  auto z3 = dense(h2, d.batch, d.h2, p.w3, p.b3, d.classes, false);
  double loss = 0;
  std::vector<double> g3(d.batch * d.classes);
  for (int64_t i = 0; i < d.batch; ++i) {
    double mx = *std::max_element(&z3[i * d.classes], &z3[(i + 1) * d.classes]);
    double s = 0;
    for (int64_t j = 0; j < d.classes; ++j) s += std::exp(z3[i * d.classes + j] - mx);
    loss += std::log(s) + mx - z3[i * d.classes + labels[i]];
    for (int64_t j = 0; j < d.classes; ++j)
      g3[i * d.classes + j] =
          (std::exp(z3[i * d.classes + j] - mx) / s - (j == labels[i])) / d.batch;
  }
  double decay = 0;
  for (auto* w : {&p.w1, &p.w2, &p.w3})
    for (float v : *w) decay += static_cast<double>(v) * v;
  // Gradients of one layer: dW = act^T g + 2 lambda W, db = sum g, g_in = (g W^T) * (act > 0).
  auto layer = [&](const std::vector<double>& act, int64_t k, const std::vector<double>& g,
                   int64_t n, const std::vector<float>& w, const std::vector<float>& b,
                   std::vector<float>& w_out, std::vector<float>& b_out) {
    for (int64_t t = 0; t < k; ++t)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t i = 0; i < d.batch; ++i) s += act[i * k + t] * g[i * n + j];
        w_out[t * n + j] = static_cast<float>(w[t * n + j] - d.lr * (s + 2 * d.lambda * w[t * n + j]));
      }
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t i = 0; i < d.batch; ++i) s += g[i * n + j];
      b_out[j] = static_cast<float>(b[j] - d.lr * s);
    }
    std::vector<double> gin(d.batch * k);
    for (int64_t i = 0; i < d.batch; ++i)
      for (int64_t t = 0; t < k; ++t) {
        double s = 0;
        for (int64_t j = 0; j < n; ++j) s += g[i * n + j] * w[t * n + j];
        gin[i * k + t] = act[i * k + t] > 0 ? s : 0;
      }
    return gin;
  };
  auto g2 = layer(h2, d.h2, g3, d.classes, p.w3, p.b3, out.w3, out.b3);
  auto g1 = layer(h1, d.h1, g2, d.h2, p.w2, p.b2, out.w2, out.b2);
  layer(xd, d.in, g1, d.h1, p.w1, p.b1, out.w1, out.b1);
  return static_cast<float>(loss / d.batch + d.lambda * decay);
}

}  // namespace nabla::bench
