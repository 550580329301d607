// Layout kernels: reshape, transpose, broadcast_to, slice, concat. Each copies
// elements (of any dtype, bool included) by walking the result in row-major
// order with the operand's strides arranged to match.
#include <cstring>

#include "nabla/ir/interpreter_kernels.h"

namespace nabla::interp {
namespace {

// out[i] = x[offset(0)] for every result element i, in row-major order.
Tensor gather(const Tensor& x, const TensorType& type, std::vector<int64_t> strides,
              int64_t base = 0) {
  Tensor out(type.dtype, type.shape);
  size_t size = dtype_size(x.dtype());
  const auto* in = static_cast<const std::byte*>(x.data());
  auto* res = static_cast<std::byte*>(out.data());
  int64_t i = 0;
  for (StridedWalk w(type.shape, {std::move(strides)}, {base}); !w.done(); w.next(), ++i)
    std::memcpy(res + i * size, in + w.offset(0) * size, size);
  return out;
}

// Result axis i is operand axis perm[i].
Tensor transpose(const Call& c) {
  const Tensor& x = c.args[0];
  std::vector<int64_t> own = row_major_strides(x.shape());
  std::vector<int64_t> strides;
  for (int64_t p : c.attrs.perm) strides.push_back(own[p]);
  return gather(x, c.type, strides);
}

// Result index j on axis i reads operand index start[i] + j * step[i].
Tensor slice(const Call& c) {
  const Tensor& x = c.args[0];
  std::vector<int64_t> own = row_major_strides(x.shape());
  std::vector<int64_t> strides(own.size());
  int64_t base = 0;
  for (size_t i = 0; i < own.size(); ++i) {
    strides[i] = own[i] * c.attrs.step[i];
    base += own[i] * c.attrs.start[i];
  }
  return gather(x, c.type, strides, base);
}

// Each operand is copied into the block of the result that starts at the sum
// of the previous operands' sizes along `axis`.
Tensor concat(const Call& c) {
  Tensor out(c.type.dtype, c.type.shape);
  size_t size = dtype_size(c.type.dtype);
  std::vector<int64_t> out_strides = row_major_strides(c.type.shape);
  int64_t axis = c.attrs.axis;
  int64_t at = 0;
  auto* res = static_cast<std::byte*>(out.data());
  for (const Tensor& x : c.args) {
    const auto* in = static_cast<const std::byte*>(x.data());
    int64_t i = 0;
    for (StridedWalk w(x.shape(), {out_strides}, {at * out_strides[axis]}); !w.done();
         w.next(), ++i)
      std::memcpy(res + w.offset(0) * size, in + i * size, size);
    at += x.shape()[axis];
  }
  return out;
}

}  // namespace

Tensor eval_layout(const Call& c) {
  const Tensor& x = c.args[0];
  switch (c.op) {
    case Op::Reshape: return x.clone().reshaped(c.type.shape);  // C order: same element sequence
    case Op::Transpose: return transpose(c);
    case Op::BroadcastTo: return gather(x, c.type, broadcast_strides(x.shape(), c.type.shape));
    case Op::Slice: return slice(c);
    case Op::Concat: return concat(c);
    default: unsupported_dtype(c.op, x.dtype());
  }
}

}  // namespace nabla::interp
