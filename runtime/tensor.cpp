#include "nabla/runtime/tensor.h"

#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "nabla/runtime/error.h"
#include "nabla/runtime/large_alloc.h"

namespace nabla {

int64_t num_elements(std::span<const int64_t> shape) {
  for (int64_t d : shape)
    if (d == 0) return 0;
  int64_t n = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(n, d, &n))
      throw Error("shape " + shape_to_string(shape) + " has too many elements");
  return n;
}

std::string shape_to_string(std::span<const int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::vector<int64_t> row_major_strides(std::span<const int64_t> shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) strides[i - 1] = strides[i] * shape[i];
  return strides;
}

std::vector<int64_t> broadcast_strides(std::span<const int64_t> from, std::span<const int64_t> to) {
  std::vector<int64_t> own = row_major_strides(from);
  std::vector<int64_t> out(to.size(), 0);
  size_t lead = to.size() - from.size();
  for (size_t i = 0; i < from.size(); ++i) out[lead + i] = from[i] == 1 ? 0 : own[i];
  return out;
}

template <class T>
T convert_from_double(double v) {
  if constexpr (std::is_same_v<T, uint8_t>) {
    return v != 0 ? 1 : 0;
  } else if constexpr (std::is_integral_v<T>) {
    if (std::isnan(v)) return 0;
    if (v <= static_cast<double>(std::numeric_limits<T>::min())) return std::numeric_limits<T>::min();
    if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  } else {
    return static_cast<T>(v);
  }
}
template float convert_from_double<float>(double);
template double convert_from_double<double>(double);
template int32_t convert_from_double<int32_t>(double);
template int64_t convert_from_double<int64_t>(double);
template uint8_t convert_from_double<uint8_t>(double);

namespace {

// Zeroed storage of `bytes` bytes; from 4 MiB on on huge pages
// (runtime/large_alloc.h).
std::shared_ptr<std::byte[]> zeroed_storage(size_t bytes) {
  if (bytes >= kLargeAllocFrom)
    if (void* p = aligned_alloc_large(alignof(std::max_align_t), bytes)) {
      std::memset(p, 0, bytes);
      return std::shared_ptr<std::byte[]>(static_cast<std::byte*>(p), [](std::byte* q) { std::free(q); });
    }
  return std::shared_ptr<std::byte[]>(new std::byte[bytes ? bytes : 1]());
}

}  // namespace

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), dtype_set_(true), shape_(std::move(shape)) {
  for (int64_t d : shape_)
    if (d < 0) throw Error("tensor: negative dimension in shape " + shape_to_string(shape_));
  if (numel() > std::numeric_limits<int64_t>::max() / static_cast<int64_t>(dtype_size(dtype)))
    throw Error("tensor: shape " + shape_to_string(shape_) + " is too large");
  size_t bytes = nbytes();
  storage_ = zeroed_storage(bytes);
  data_ = storage_.get();
}

Tensor Tensor::view(void* data, DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.dtype_set_ = true;
  t.shape_ = std::move(shape);
  t.data_ = data;
  return t;
}

Tensor Tensor::scalar(DType dtype, double value) {
  Tensor t(dtype, {});
  t.set(0, value);
  return t;
}

Tensor Tensor::from_doubles(DType dtype, Shape shape, std::span<const double> values) {
  Tensor t(dtype, std::move(shape));
  if (static_cast<int64_t>(values.size()) != t.numel())
    throw Error("tensor: " + std::to_string(values.size()) + " values given for shape " +
                shape_to_string(t.shape()));
  for (int64_t i = 0; i < t.numel(); ++i) t.set(i, values[i]);
  return t;
}

double Tensor::get(int64_t i) const {
  return visit_dtype(dtype_, [&](auto zero) -> double {
    using T = decltype(zero);
    return static_cast<double>(static_cast<const T*>(data_)[i]);
  });
}

void Tensor::set(int64_t i, double value) {
  visit_dtype(dtype_, [&](auto zero) {
    using T = decltype(zero);
    static_cast<T*>(data_)[i] = convert_from_double<T>(value);
  });
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  if (nbytes()) std::memcpy(t.data_, data_, nbytes());
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  if (num_elements(shape) != numel())
    throw Error("tensor: cannot reshape " + shape_to_string(shape_) + " to " + shape_to_string(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

bool Tensor::same_as(const Tensor& other) const {
  return dtype_ == other.dtype_ && shape_ == other.shape_ &&
         (nbytes() == 0 || std::memcmp(data_, other.data_, nbytes()) == 0);
}

bool Tensor::is_splat() const {
  size_t es = dtype_size(dtype_);
  const auto* bytes = static_cast<const std::byte*>(data_);
  for (int64_t i = 1; i < numel(); ++i)
    if (std::memcmp(bytes, bytes + i * es, es) != 0) return false;
  return true;
}

}  // namespace nabla
