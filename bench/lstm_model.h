#pragma once
// The loop benchmarks' models (bench/lstm_bench.cpp): an LSTM language model
// over one-hot characters, as a scan or unrolled, and an RK4 integrator of a
// linear ODE as a scan.
#include <cstdint>
#include <vector>

#include "nabla/ir/function.h"
#include "nabla/runtime/tensor.h"

namespace nabla::bench {

// layers LSTM layers of `hidden` units over one-hot characters of a
// `vocab`-letter alphabet (torch.nn.LSTM's cell: gates i, f, g, o), a linear
// read-out and the cross-entropy against the next character at every step.
struct LstmSpec {
  int64_t length = 1024, batch = 1, vocab = 32, hidden = 128, layers = 2;
};

// Per layer W [in,4H], U [H,4H], b [4H]; then Wy [H,V], by [V].
std::vector<Shape> lstm_parameter_shapes(const LstmSpec& s);

// @lstm(x f32[N,B,V] one-hot, labels i32[N,B], params...) -> (loss f32[] the
// mean cross-entropy, and with_grad: dloss/dparam for every parameter), the
// recurrence as one scan or, unrolled, written out N times.
void build_lstm_lm(Function& f, const LstmSpec& s, bool unrolled, bool with_grad);

// Inputs for build_lstm_lm's function: a one-hot text of pseudo-random
// letters, its next letters, weights uniform in +-1/sqrt(H) (torch's init).
std::vector<Tensor> lstm_inputs(const LstmSpec& s, uint64_t seed);

// RK4 with `steps` steps of dt for y' = y A (y f32[1,D], A f32[D,D]) as a scan:
// @rk4(y0, A) -> (z = sum(y_T^2) / 2, then the gradients: none, dz/dy0, or
// dz/dA and dz/dy0); `checkpoint` is the scan's (ScanOptions::checkpoint).
enum class Rk4Grad { none, y0, all };
void build_rk4(Function& f, int64_t dim, int64_t steps, double dt, Rk4Grad grads, int64_t checkpoint = 0);
std::vector<Tensor> rk4_inputs(int64_t dim, uint64_t seed);

}  // namespace nabla::bench
