#pragma once
// LeNet-5 on 28x28 images (bench/cnn_bench.cpp): conv 5x5, 6 channels,
// padding 2 -> relu -> max-pool 2x2 -> conv 5x5, 16 channels -> relu ->
// max-pool 2x2 -> dense 400-120 -> relu -> 84 -> relu -> 10 -> mean softmax
// cross-entropy against integer labels; one SGD step p' = p - lr dJ/dp.
// Parameters in PyTorch's layouts: conv weights OIHW, dense weights
// [out, in], biases [out]. The same step three ways: built with nabla's C++
// API (build_lenet_step), by hand on oneDNN's primitives (OneDnnLenetStep),
// and in PyTorch (bench/lenet_torch.py).
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "nabla/ir/function.h"

namespace nabla::bench {

struct LenetDims {
  int64_t batch = 64, side = 28, c1 = 6, c2 = 16, k = 5, pad1 = 2, f1 = 120, f2 = 84, classes = 10;
  float lr = 0.01f;
  int64_t s1() const { return side + 2 * pad1 - k + 1; }  // conv1's output side (28)
  int64_t p1() const { return s1() / 2; }                 // 14
  int64_t s2() const { return p1() - k + 1; }             // 10
  int64_t p2() const { return s2() / 2; }                 // 5
  int64_t flat() const { return c2 * p2() * p2(); }       // 400
};

// The ten parameters: W1 b1 W2 b2 W3 b3 W4 b4 W5 b5.
struct LenetParams {
  std::vector<std::vector<float>> t;
  explicit LenetParams(const LenetDims& d);
  // He-normal weights, small uniform biases.
  void init(std::mt19937& rng, const LenetDims& d);
  static std::vector<std::vector<int64_t>> shapes(const LenetDims& d);
};

// Largest |a - b| / (1 + |b|) over all parameters.
double max_param_diff(const LenetParams& a, const LenetParams& b);

// Inputs x [batch, 1, 28, 28], labels [batch]; results the loss and the ten
// updated parameters (conv biases shaped [c, 1, 1]).
Function& build_lenet_step(Module& m, const LenetDims& d, const std::string& name = "lenet_step");

class OneDnnLenetStep {
 public:
  explicit OneDnnLenetStep(const LenetDims& d);
  // One step: the loss of (x, labels) under p; the updated parameters to out.
  float run(const float* x, const int32_t* labels, const LenetParams& p, LenetParams& out);

 private:
  using md = dnnl::memory::desc;
  dnnl::memory mem(const md& desc, const float* data) const;
  void conv_primitives(int64_t in_c, int64_t out_c, int64_t side, int64_t pad, int layer);
  void pool_primitives(int64_t c, int64_t side, int layer);
  void dense_primitives(int64_t in, int64_t out, bool relu, int layer);
  void forward(const float* x, const LenetParams& p);
  void backward(const float* x, const LenetParams& p, LenetParams& out);

  LenetDims d_;
  dnnl::engine eng_{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm_{eng_};
  struct Conv {
    md src, w, b, dst;
    dnnl::convolution_forward fwd;
    dnnl::convolution_backward_data bwd_data;
    dnnl::convolution_backward_weights bwd_w;
  } conv_[2];
  struct Pool {
    md src, dst, ws;
    dnnl::pooling_forward fwd;
    dnnl::pooling_backward bwd;
  } pool_[2];
  struct Dense {
    md src, w, b, dst;
    dnnl::inner_product_forward fwd;
    dnnl::inner_product_backward_data bwd_data;
    dnnl::inner_product_backward_weights bwd_w;
  } dense_[3];
  // Activations (after relu where there is one), pooling workspaces, gradients.
  std::vector<float> c1_, p1_, c2_, p2_, f1_, f2_, z_, gz_, gf2_, gf1_, gp2_, gc2_, gp1_, gc1_;
  std::vector<uint8_t> ws1_, ws2_;
  std::vector<std::vector<float>> grads_;
};

}  // namespace nabla::bench
