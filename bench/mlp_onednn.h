#pragma once
// The hand-written baseline of the MLP training step (issue 7): oneDNN
// matmuls with their bias/relu post-ops, fused loops for softmax
// cross-entropy, the relu masks and the bias gradients, and weight decay plus
// the SGD update folded into each weight-gradient matmul:
//   W' = W - lr (X^T G + 2 lambda W) = (1 - 2 lambda lr) W - lr X^T G
// as output scale -lr/c, a binary add of W and a linear eltwise of c, with
// c = 1 - 2 lambda lr. Parameters are read from one set of buffers and the
// updated ones written to another (as a compiled nabla function does).
#include <cmath>
#include <cstdint>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

namespace nabla::bench {

struct MlpDims {
  int64_t batch = 64, in = 784, h1 = 512, h2 = 512, classes = 10;
  float lr = 0.01f, lambda = 1e-4f;
};

// Parameters in the order W1, b1, W2, b2, W3, b3 (row-major, W is in x out).
struct MlpParams {
  std::vector<float> w1, b1, w2, b2, w3, b3;
  std::vector<float>* all[6] = {&w1, &b1, &w2, &b2, &w3, &b3};
  explicit MlpParams(const MlpDims& d)
      : w1(d.in * d.h1), b1(d.h1), w2(d.h1 * d.h2), b2(d.h2), w3(d.h2 * d.classes),
        b3(d.classes) {}
};

class OneDnnMlpStep {
 public:
  explicit OneDnnMlpStep(const MlpDims& d);
  // One step: returns the loss of (x, labels) under `p` and writes the updated
  // parameters to `out`.
  float run(const float* x, const int32_t* labels, MlpParams& p, MlpParams& out);

 private:
  using tag = dnnl::memory::format_tag;
  dnnl::memory::desc md(int64_t rows, int64_t cols, bool transposed = false) const;
  dnnl::matmul forward_layer(int64_t m, int64_t k, int64_t n, bool relu);
  dnnl::matmul weight_update(int64_t k_rows, int64_t batch, int64_t n);
  dnnl::matmul input_gradient(int64_t batch, int64_t n, int64_t k);
  void run_forward(dnnl::matmul& prim, const float* x, int64_t m, int64_t k, float* w, float* b,
                   int64_t n, float* y);
  void run_update(dnnl::matmul& prim, const float* act, int64_t k, const float* g, int64_t n,
                  float* w, float* w_out);
  void run_input_gradient(dnnl::matmul& prim, const float* g, int64_t n, float* w, int64_t k,
                          float* out);

  MlpDims d_;
  dnnl::engine eng_{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm_{eng_};
  dnnl::matmul fc1_, fc2_, fc3_, up1_, up2_, up3_, back3_, back2_;
  std::vector<float> h1_, h2_, z3_, g3_, g2_, g1_;
};

// The same step in plain double-precision loops (to check the baseline).
float mlp_step_reference(const MlpDims& d, const float* x, const int32_t* labels,
                         const MlpParams& p, MlpParams& out);

}  // namespace nabla::bench
