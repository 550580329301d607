// The hand-written oneDNN LeNet-5 step (bench/lenet.h): oneDNN's convolution,
// pooling and inner-product primitives (forward, backward data, backward
// weights with the bias gradient), relu as the forward primitives' post-op,
// and plain loops for the softmax cross-entropy, the relu masks and the SGD
// update. Every tensor in the plain layouts (NCHW, OIHW, [out, in]), as
// nabla's step reads and writes them.
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "bench/lenet.h"

namespace nabla::bench {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;
using tag = memory::format_tag;

namespace {

memory::desc plain(memory::dims dims, tag t) { return memory::desc(dims, memory::data_type::f32, t); }

dnnl::primitive_attr relu_attr(bool relu) {
  dnnl::primitive_attr attr;
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(ops);
  }
  return attr;
}

// g *= (act > 0): relu's derivative, act being relu's output.
void relu_mask(std::vector<float>& g, const std::vector<float>& act) {
  const int64_t n = static_cast<int64_t>(g.size());
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) g[i] = act[i] > 0 ? g[i] : 0.f;
}

}  // namespace

LenetParams::LenetParams(const LenetDims& d) {
  for (const auto& s : shapes(d)) {
    int64_t n = 1;
    for (int64_t e : s) n *= e;
    t.emplace_back(n);
  }
}

std::vector<std::vector<int64_t>> LenetParams::shapes(const LenetDims& d) {
  return {{d.c1, 1, d.k, d.k}, {d.c1}, {d.c2, d.c1, d.k, d.k}, {d.c2}, {d.f1, d.flat()}, {d.f1},
          {d.f2, d.f1},        {d.f2}, {d.classes, d.f2},      {d.classes}};
}

void LenetParams::init(std::mt19937& rng, const LenetDims& d) {
  const int64_t fan_in[5] = {d.k * d.k, d.c1 * d.k * d.k, d.flat(), d.f1, d.f2};
  std::uniform_real_distribution<float> small(-0.01f, 0.01f);
  for (int l = 0; l < 5; ++l) {
    std::normal_distribution<float> n(0.f, std::sqrt(2.f / static_cast<float>(fan_in[l])));
    for (float& v : t[2 * l]) v = n(rng);
    for (float& v : t[2 * l + 1]) v = small(rng);
  }
}

double max_param_diff(const LenetParams& a, const LenetParams& b) {
  double worst = 0;
  for (size_t i = 0; i < a.t.size(); ++i)
    for (size_t j = 0; j < a.t[i].size(); ++j) {
      double x = a.t[i][j], y = b.t[i][j];
      worst = std::max(worst, std::abs(x - y) / (1 + std::abs(y)));
    }
  return worst;
}

OneDnnLenetStep::OneDnnLenetStep(const LenetDims& d) : d_(d) {
  const int64_t n = d.batch;
  conv_primitives(1, d.c1, d.side, d.pad1, 0);
  pool_primitives(d.c1, d.s1(), 0);
  conv_primitives(d.c1, d.c2, d.p1(), 0, 1);
  pool_primitives(d.c2, d.s2(), 1);
  dense_primitives(d.flat(), d.f1, true, 0);
  dense_primitives(d.f1, d.f2, true, 1);
  dense_primitives(d.f2, d.classes, false, 2);
  c1_.resize(n * d.c1 * d.s1() * d.s1()), gc1_.resize(c1_.size());
  p1_.resize(n * d.c1 * d.p1() * d.p1()), gp1_.resize(p1_.size());
  c2_.resize(n * d.c2 * d.s2() * d.s2()), gc2_.resize(c2_.size());
  p2_.resize(n * d.flat()), gp2_.resize(p2_.size());
  f1_.resize(n * d.f1), gf1_.resize(f1_.size());
  f2_.resize(n * d.f2), gf2_.resize(f2_.size());
  z_.resize(n * d.classes), gz_.resize(z_.size());
  ws1_.resize(pool_[0].ws.get_size()), ws2_.resize(pool_[1].ws.get_size());
  grads_ = LenetParams(d).t;
}

memory OneDnnLenetStep::mem(const md& desc, const float* data) const {
  return memory(desc, eng_, const_cast<float*>(data));
}

void OneDnnLenetStep::conv_primitives(int64_t in_c, int64_t out_c, int64_t side, int64_t pad, int layer) {
  Conv& c = conv_[layer];
  const int64_t out = side + 2 * pad - d_.k + 1;
  c.src = plain({d_.batch, in_c, side, side}, tag::nchw);
  c.w = plain({out_c, in_c, d_.k, d_.k}, tag::oihw);
  c.b = plain({out_c}, tag::x);
  c.dst = plain({d_.batch, out_c, out, out}, tag::nchw);
  const memory::dims strides = {1, 1}, padding = {pad, pad};
  dnnl::convolution_forward::primitive_desc fwd(
      {prop_kind::forward_training, algorithm::convolution_direct, c.src, c.w, c.b, c.dst, strides, padding, padding},
      relu_attr(true), eng_);
  c.fwd = dnnl::convolution_forward(fwd);
  c.bwd_data = dnnl::convolution_backward_data(dnnl::convolution_backward_data::primitive_desc(
      {algorithm::convolution_direct, c.src, c.w, c.dst, strides, padding, padding}, eng_, fwd));
  c.bwd_w = dnnl::convolution_backward_weights(dnnl::convolution_backward_weights::primitive_desc(
      {algorithm::convolution_direct, c.src, c.w, c.b, c.dst, strides, padding, padding}, eng_, fwd));
}

void OneDnnLenetStep::pool_primitives(int64_t c, int64_t side, int layer) {
  Pool& p = pool_[layer];
  p.src = plain({d_.batch, c, side, side}, tag::nchw);
  p.dst = plain({d_.batch, c, side / 2, side / 2}, tag::nchw);
  const memory::dims two = {2, 2}, zero = {0, 0};
  dnnl::pooling_forward::primitive_desc fwd(
      {prop_kind::forward_training, algorithm::pooling_max, p.src, p.dst, two, two, zero, zero}, eng_);
  p.ws = fwd.workspace_desc();
  p.fwd = dnnl::pooling_forward(fwd);
  p.bwd = dnnl::pooling_backward(
      dnnl::pooling_backward::primitive_desc({algorithm::pooling_max, p.src, p.dst, two, two, zero, zero}, eng_, fwd));
}

void OneDnnLenetStep::dense_primitives(int64_t in, int64_t out, bool relu, int layer) {
  Dense& l = dense_[layer];
  l.src = plain({d_.batch, in}, tag::nc);
  l.w = plain({out, in}, tag::oi);
  l.b = plain({out}, tag::x);
  l.dst = plain({d_.batch, out}, tag::nc);
  dnnl::inner_product_forward::primitive_desc fwd({prop_kind::forward_training, l.src, l.w, l.b, l.dst},
                                                  relu_attr(relu), eng_);
  l.fwd = dnnl::inner_product_forward(fwd);
  l.bwd_data = dnnl::inner_product_backward_data(
      dnnl::inner_product_backward_data::primitive_desc({l.src, l.w, l.dst}, eng_, fwd));
  l.bwd_w = dnnl::inner_product_backward_weights(
      dnnl::inner_product_backward_weights::primitive_desc({l.src, l.w, l.b, l.dst}, eng_, fwd));
}

void OneDnnLenetStep::forward(const float* x, const LenetParams& p) {
  const float* srcs[2] = {x, p1_.data()};
  float* dsts[2] = {c1_.data(), c2_.data()};
  float* pooled[2] = {p1_.data(), p2_.data()};
  uint8_t* ws[2] = {ws1_.data(), ws2_.data()};
  for (int l = 0; l < 2; ++l) {
    Conv& c = conv_[l];
    c.fwd.execute(strm_, {{DNNL_ARG_SRC, mem(c.src, srcs[l])}, {DNNL_ARG_WEIGHTS, mem(c.w, p.t[2 * l].data())},
                          {DNNL_ARG_BIAS, mem(c.b, p.t[2 * l + 1].data())}, {DNNL_ARG_DST, mem(c.dst, dsts[l])}});
    Pool& q = pool_[l];
    q.fwd.execute(strm_, {{DNNL_ARG_SRC, mem(q.src, dsts[l])}, {DNNL_ARG_DST, mem(q.dst, pooled[l])},
                          {DNNL_ARG_WORKSPACE, memory(q.ws, eng_, ws[l])}});
  }
  const float* in[3] = {p2_.data(), f1_.data(), f2_.data()};
  float* out[3] = {f1_.data(), f2_.data(), z_.data()};
  for (int l = 0; l < 3; ++l) {
    Dense& f = dense_[l];
    f.fwd.execute(strm_, {{DNNL_ARG_SRC, mem(f.src, in[l])}, {DNNL_ARG_WEIGHTS, mem(f.w, p.t[4 + 2 * l].data())},
                          {DNNL_ARG_BIAS, mem(f.b, p.t[5 + 2 * l].data())}, {DNNL_ARG_DST, mem(f.dst, out[l])}});
  }
  strm_.wait();
}

void OneDnnLenetStep::backward(const float* x, const LenetParams& p, LenetParams& out) {
  const float* in[3] = {p2_.data(), f1_.data(), f2_.data()};
  const float* act[3] = {f1_.data(), f2_.data(), nullptr};
  std::vector<float>* gin[3] = {&gp2_, &gf1_, &gf2_};
  std::vector<float>* gout[3] = {&gf1_, &gf2_, &gz_};
  for (int l = 2; l >= 0; --l) {
    Dense& f = dense_[l];
    if (act[l]) relu_mask(*gout[l], l == 0 ? f1_ : f2_);
    memory g = mem(f.dst, gout[l]->data());
    f.bwd_w.execute(strm_, {{DNNL_ARG_SRC, mem(f.src, in[l])}, {DNNL_ARG_DIFF_DST, g},
                            {DNNL_ARG_DIFF_WEIGHTS, mem(f.w, grads_[4 + 2 * l].data())},
                            {DNNL_ARG_DIFF_BIAS, mem(f.b, grads_[5 + 2 * l].data())}});
    f.bwd_data.execute(strm_, {{DNNL_ARG_DIFF_DST, g}, {DNNL_ARG_WEIGHTS, mem(f.w, p.t[4 + 2 * l].data())},
                               {DNNL_ARG_DIFF_SRC, mem(f.src, gin[l]->data())}});
    strm_.wait();
  }
  const float* srcs[2] = {x, p1_.data()};
  std::vector<float>* acts[2] = {&c1_, &c2_};
  std::vector<float>* gpool[2] = {&gp1_, &gp2_};
  std::vector<float>* gconv[2] = {&gc1_, &gc2_};
  uint8_t* ws[2] = {ws1_.data(), ws2_.data()};
  for (int l = 1; l >= 0; --l) {
    Pool& q = pool_[l];
    q.bwd.execute(strm_, {{DNNL_ARG_DIFF_DST, mem(q.dst, gpool[l]->data())},
                          {DNNL_ARG_DIFF_SRC, mem(q.src, gconv[l]->data())}, {DNNL_ARG_WORKSPACE, memory(q.ws, eng_, ws[l])}});
    strm_.wait();
    relu_mask(*gconv[l], *acts[l]);
    Conv& c = conv_[l];
    memory g = mem(c.dst, gconv[l]->data());
    c.bwd_w.execute(strm_, {{DNNL_ARG_SRC, mem(c.src, srcs[l])}, {DNNL_ARG_DIFF_DST, g},
                            {DNNL_ARG_DIFF_WEIGHTS, mem(c.w, grads_[2 * l].data())},
                            {DNNL_ARG_DIFF_BIAS, mem(c.b, grads_[2 * l + 1].data())}});
    if (l == 1)
      c.bwd_data.execute(strm_, {{DNNL_ARG_DIFF_DST, g}, {DNNL_ARG_WEIGHTS, mem(c.w, p.t[2].data())},
                                 {DNNL_ARG_DIFF_SRC, mem(c.src, gp1_.data())}});
    strm_.wait();
  }
  for (size_t i = 0; i < grads_.size(); ++i) {
    const int64_t n = static_cast<int64_t>(grads_[i].size());
    const float* w = p.t[i].data();
    const float* g = grads_[i].data();
    float* o = out.t[i].data();
#pragma omp parallel for schedule(static) if (n > 4096)
    for (int64_t j = 0; j < n; ++j) o[j] = w[j] - d_.lr * g[j];
  }
}

float OneDnnLenetStep::run(const float* x, const int32_t* labels, const LenetParams& p, LenetParams& out) {
  forward(x, p);
  // Mean softmax cross-entropy and its gradient (softmax - onehot) / batch.
  double loss = 0;
  const int64_t k = d_.classes;
  const float inv = 1.f / static_cast<float>(d_.batch);
  for (int64_t i = 0; i < d_.batch; ++i) {
    const float* z = &z_[i * k];
    float* g = &gz_[i * k];
    float mx = *std::max_element(z, z + k), s = 0;
    for (int64_t j = 0; j < k; ++j) s += (g[j] = std::exp(z[j] - mx));
    loss += std::log(s) + mx - z[labels[i]];
    for (int64_t j = 0; j < k; ++j) g[j] = (g[j] / s - (j == labels[i] ? 1.f : 0.f)) * inv;
  }
  backward(x, p, out);
  return static_cast<float>(loss / static_cast<double>(d_.batch));
}

}  // namespace nabla::bench
