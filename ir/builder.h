#pragma once
// The C++ builder API: one free function per op, plus arithmetic operators.
// C++ scalars are broadcast as rank-0 constants of the other operand's dtype.
// Every function throws nabla::Error (message "op: ...", naming the operand
// types) on invalid operands or attributes.
#include <optional>
#include <span>
#include <vector>

#include "nabla/ir/function.h"

namespace nabla {

// Constants.
Value constant(Function& f, Tensor value);
// A rank-0 constant.
Value constant(Function& f, double value, DType dtype = DType::f32);
// A rank-0 constant of `like`'s dtype, in `like`'s function.
Value scalar_like(Value like, double value);

// One function per elementwise unary op (neg, exp, ...), and three per binary
// op and comparison (add(a, b), add(a, 2.0), add(2.0, b)), with NumPy
// broadcasting, named as in ops.def: generated from it.
#define NABLA_BUILDER_Unary(Enum, fn) Value fn(Value x);
#define NABLA_BUILDER_Binary(Enum, fn) \
  Value fn(Value a, Value b);          \
  Value fn(Value a, double b);         \
  Value fn(double a, Value b);
#include "nabla/ir/builder_ops.inc"
Value select(Value cond, Value a, Value b);

// Reductions; `axes` absent means all axes; negative axes count from the end.
using Axes = std::optional<std::vector<int64_t>>;
Value sum(Value x, Axes axes = std::nullopt, bool keepdims = false);
Value mean(Value x, Axes axes = std::nullopt, bool keepdims = false);
Value max(Value x, Axes axes = std::nullopt, bool keepdims = false);
Value min(Value x, Axes axes = std::nullopt, bool keepdims = false);

// Shape.
Value reshape(Value x, Shape shape);
// Empty perm: reverse the axes.
Value transpose(Value x, std::vector<int64_t> perm = {});
Value broadcast_to(Value x, Shape shape);
// Empty step: 1 on every axis.
Value slice(Value x, std::vector<int64_t> start, std::vector<int64_t> stop,
            std::vector<int64_t> step = {});
Value concat(std::span<const Value> xs, int64_t axis);

// Linear algebra and neural-network ops.
Value matmul(Value a, Value b, bool transpose_a = false, bool transpose_b = false);
Value softmax(Value x, int64_t axis = -1);
Value log_softmax(Value x, int64_t axis = -1);
Value one_hot(Value labels, int64_t depth, DType dtype = DType::f32);
Value cross_entropy(Value logits, Value labels);
Value cast(Value x, DType dtype);

// Along one axis (negative counts from the end). argmax/argmin: the i64 index
// of the first largest/smallest element. cumsum: prefix sums. gather: NumPy's
// take(x, idx, axis); scatter_add: a copy of base with updates added at idx
// along axis (NumPy's add.at), updates shaped as gather's result.
Value argmax(Value x, int64_t axis, bool keepdims = false);
Value argmin(Value x, int64_t axis, bool keepdims = false);
Value cumsum(Value x, int64_t axis, bool reverse = false, bool exclusive = false);
Value gather(Value x, Value idx, int64_t axis = 0);
Value scatter_add(Value base, Value idx, Value updates, int64_t axis = 0);
// Collectives (docs/distributed.md): the reduction of x over all processes,
// element by element; x's type. Float, i32 or i64 (mean: float only).
Value all_reduce(Value x, Reduction op = Reduction::sum);

// Convolution and pooling over NCHW images, weights OIHW (ONNX Conv and
// PyTorch conv2d; add a bias with add). padding is [top, left, bottom, right].
// conv2d_input_grad and conv2d_weight_grad are conv2d's transposes in x and
// in w (its gradients), for x or w of the given shape.
struct Conv2DOptions {
  std::vector<int64_t> stride = {1, 1}, padding = {0, 0, 0, 0}, dilation = {1, 1};
  int64_t groups = 1;
};
Value conv2d(Value x, Value w, const Conv2DOptions& o = {});
Value conv2d_input_grad(Value g, Value w, Shape x_shape, const Conv2DOptions& o = {});
Value conv2d_weight_grad(Value x, Value g, Shape w_shape, const Conv2DOptions& o = {});
// Pooling windows; padding counts as -inf for max and is left out of the
// average's divisor. max_pool2d_argmax: the flat position in x of each max.
struct Pool2DOptions {
  std::vector<int64_t> stride = {1, 1}, padding = {0, 0, 0, 0};
};
Value max_pool2d(Value x, std::vector<int64_t> window, const Pool2DOptions& o = {});
Value max_pool2d_argmax(Value x, std::vector<int64_t> window, const Pool2DOptions& o = {});
Value avg_pool2d(Value x, std::vector<int64_t> window, const Pool2DOptions& o = {});

// The symbolic derivative node dz/dw (expanded later by the build-grad pass;
// nabla::grad in passes/build_grad.h expands immediately).
Value grad_op(Value z, Value w);

inline Value operator+(Value a, Value b) { return add(a, b); }
inline Value operator-(Value a, Value b) { return sub(a, b); }
inline Value operator*(Value a, Value b) { return mul(a, b); }
inline Value operator/(Value a, Value b) { return div(a, b); }
inline Value operator+(Value a, double b) { return add(a, b); }
inline Value operator-(Value a, double b) { return sub(a, b); }
inline Value operator*(Value a, double b) { return mul(a, b); }
inline Value operator/(Value a, double b) { return div(a, b); }
inline Value operator+(double a, Value b) { return add(a, b); }
inline Value operator-(double a, Value b) { return sub(a, b); }
inline Value operator*(double a, Value b) { return mul(a, b); }
inline Value operator/(double a, Value b) { return div(a, b); }
inline Value operator-(Value a) { return neg(a); }

}  // namespace nabla
