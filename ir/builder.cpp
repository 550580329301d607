#include "nabla/ir/builder.h"

#include <numeric>

#include "nabla/runtime/error.h"

namespace nabla {
namespace {

Function& func_of(Op op, Value v) {
  if (!v.node) throw Error(std::string(op_name(op)) + ": null operand");
  return *v->function();
}

Value make(Op op, std::vector<Node*> operands, Attrs attrs = {}) {
  return func_of(op, operands.at(0)).make(op, std::move(operands), std::move(attrs));
}

Value reduce(Op op, Value x, Axes axes, bool keepdims) {
  Attrs a;
  if (axes) {
    a.axes = *axes;
  } else {
    func_of(op, x);
    a.axes.resize(x->shape().size());
    std::iota(a.axes.begin(), a.axes.end(), 0);
  }
  a.keepdims = keepdims;
  return make(op, {x}, std::move(a));
}

Value arg_reduce(Op op, Value x, int64_t axis, bool keepdims) {
  Attrs a;
  a.axis = axis;
  a.keepdims = keepdims;
  return make(op, {x}, std::move(a));
}

Value conv(Op op, Value a, Value b, Shape shape, const Conv2DOptions& o) {
  Attrs at;
  at.stride = o.stride;
  at.padding = o.padding;
  at.dilation = o.dilation;
  at.groups = o.groups;
  at.shape = std::move(shape);
  return make(op, {a, b}, std::move(at));
}

Value pool(Op op, Value x, std::vector<int64_t> window, const Pool2DOptions& o) {
  Attrs at;
  at.window = std::move(window);
  at.stride = o.stride;
  at.padding = o.padding;
  return make(op, {x}, std::move(at));
}

}  // namespace

Value constant(Function& f, Tensor value) {
  if (!value.defined()) throw Error("constant: undefined tensor");
  Attrs a;
  a.value = value.owns_data() ? std::move(value) : value.clone();
  return f.make(Op::Constant, {}, std::move(a));
}

Value constant(Function& f, double value, DType dtype) {
  return constant(f, Tensor::scalar(dtype, value));
}

Value scalar_like(Value like, double value) {
  if (!like.node) throw Error("constant: null operand");
  return constant(*like->function(), value, like->dtype());
}

// The unary and binary builders of builder.h, generated from ops.def.
#define NABLA_BUILDER_Unary(Enum, fn) \
  Value fn(Value x) { return make(Op::Enum, {x}); }
#define NABLA_BUILDER_Binary(Enum, fn)                                                    \
  Value fn(Value a, Value b) { return make(Op::Enum, {a, b}); }                           \
  Value fn(Value a, double b) { func_of(Op::Enum, a); return fn(a, scalar_like(a, b)); } \
  Value fn(double a, Value b) { func_of(Op::Enum, b); return fn(scalar_like(b, a), b); }
#include "nabla/ir/builder_ops.inc"

Value select(Value cond, Value a, Value b) { return make(Op::Select, {cond, a, b}); }

Value sum(Value x, Axes axes, bool keepdims) { return reduce(Op::Sum, x, std::move(axes), keepdims); }
Value mean(Value x, Axes axes, bool keepdims) { return reduce(Op::Mean, x, std::move(axes), keepdims); }
Value max(Value x, Axes axes, bool keepdims) { return reduce(Op::Max, x, std::move(axes), keepdims); }
Value min(Value x, Axes axes, bool keepdims) { return reduce(Op::Min, x, std::move(axes), keepdims); }

Value reshape(Value x, Shape shape) {
  Attrs a;
  a.shape = std::move(shape);
  return make(Op::Reshape, {x}, std::move(a));
}

Value transpose(Value x, std::vector<int64_t> perm) {
  Attrs a;
  if (perm.empty()) {
    func_of(Op::Transpose, x);
    int64_t r = static_cast<int64_t>(x->shape().size());
    for (int64_t i = r - 1; i >= 0; --i) perm.push_back(i);
  }
  a.perm = std::move(perm);
  return make(Op::Transpose, {x}, std::move(a));
}

Value broadcast_to(Value x, Shape shape) {
  Attrs a;
  a.shape = std::move(shape);
  return make(Op::BroadcastTo, {x}, std::move(a));
}

Value slice(Value x, std::vector<int64_t> start, std::vector<int64_t> stop,
            std::vector<int64_t> step) {
  Attrs a;
  a.start = std::move(start);
  a.stop = std::move(stop);
  a.step = std::move(step);
  return make(Op::Slice, {x}, std::move(a));
}

Value concat(std::span<const Value> xs, int64_t axis) {
  if (xs.empty()) throw Error("concat: needs at least one operand");
  std::vector<Node*> ops(xs.begin(), xs.end());
  Attrs a;
  a.axis = axis;
  return make(Op::Concat, std::move(ops), std::move(a));
}

Value matmul(Value a, Value b, bool transpose_a, bool transpose_b) {
  Attrs at;
  at.transpose_a = transpose_a;
  at.transpose_b = transpose_b;
  return make(Op::MatMul, {a, b}, std::move(at));
}

Value softmax(Value x, int64_t axis) {
  Attrs a;
  a.axis = axis;
  return make(Op::Softmax, {x}, std::move(a));
}

Value log_softmax(Value x, int64_t axis) {
  Attrs a;
  a.axis = axis;
  return make(Op::LogSoftmax, {x}, std::move(a));
}

Value one_hot(Value labels, int64_t depth, DType dtype) {
  Attrs a;
  a.depth = depth;
  a.dtype = dtype;
  return make(Op::OneHot, {labels}, std::move(a));
}

Value cross_entropy(Value logits, Value labels) { return make(Op::CrossEntropy, {logits, labels}); }

Value cast(Value x, DType dtype) {
  Attrs a;
  a.dtype = dtype;
  return make(Op::Cast, {x}, std::move(a));
}

Value argmax(Value x, int64_t axis, bool keepdims) { return arg_reduce(Op::ArgMax, x, axis, keepdims); }
Value argmin(Value x, int64_t axis, bool keepdims) { return arg_reduce(Op::ArgMin, x, axis, keepdims); }

Value cumsum(Value x, int64_t axis, bool reverse, bool exclusive) {
  Attrs a;
  a.axis = axis;
  a.reverse = reverse;
  a.exclusive = exclusive;
  return make(Op::CumSum, {x}, std::move(a));
}

Value gather(Value x, Value idx, int64_t axis) {
  Attrs a;
  a.axis = axis;
  return make(Op::Gather, {x, idx}, std::move(a));
}

Value scatter_add(Value base, Value idx, Value updates, int64_t axis) {
  Attrs a;
  a.axis = axis;
  return make(Op::ScatterAdd, {base, idx, updates}, std::move(a));
}

Value all_reduce(Value x, Reduction op) {
  Attrs a;
  a.op = op;
  return make(Op::AllReduce, {x}, std::move(a));
}

Value conv2d(Value x, Value w, const Conv2DOptions& o) { return conv(Op::Conv2D, x, w, {}, o); }
Value conv2d_input_grad(Value g, Value w, Shape x_shape, const Conv2DOptions& o) {
  return conv(Op::Conv2DInputGrad, g, w, std::move(x_shape), o);
}
Value conv2d_weight_grad(Value x, Value g, Shape w_shape, const Conv2DOptions& o) {
  return conv(Op::Conv2DWeightGrad, x, g, std::move(w_shape), o);
}

Value max_pool2d(Value x, std::vector<int64_t> window, const Pool2DOptions& o) {
  return pool(Op::MaxPool2D, x, std::move(window), o);
}
Value max_pool2d_argmax(Value x, std::vector<int64_t> window, const Pool2DOptions& o) {
  return pool(Op::MaxPool2DArgmax, x, std::move(window), o);
}
Value avg_pool2d(Value x, std::vector<int64_t> window, const Pool2DOptions& o) {
  return pool(Op::AvgPool2D, x, std::move(window), o);
}

Value grad_op(Value z, Value w) { return make(Op::Grad, {z, w}); }

}  // namespace nabla
