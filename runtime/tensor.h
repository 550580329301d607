#pragma once
// A dense, C-ordered tensor: a dtype, a static shape and a byte buffer that is
// either owned (shared between copies of the handle) or borrowed from the caller.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "nabla/runtime/dtype.h"

namespace nabla {

using Shape = std::vector<int64_t>;

// The product of the dimensions; throws nabla::Error when it overflows int64.
int64_t num_elements(std::span<const int64_t> shape);
// "[8,3]", "[]" for a scalar.
std::string shape_to_string(std::span<const int64_t> shape);
// Row-major strides in elements.
std::vector<int64_t> row_major_strides(std::span<const int64_t> shape);
// The strides with which a tensor of shape `from` is read as the broadcast
// shape `to` (NumPy rules: leading axes added with stride 0, size-1 axes
// repeated with stride 0).
std::vector<int64_t> broadcast_strides(std::span<const int64_t> from, std::span<const int64_t> to);

class Tensor {
 public:
  Tensor() = default;
  // An owned, zero-filled tensor. Throws nabla::Error for a negative dimension.
  Tensor(DType dtype, Shape shape);
  // A tensor that borrows `data` (which must outlive it and hold the elements).
  static Tensor view(void* data, DType dtype, Shape shape);
  // A scalar of the given dtype holding `value` converted to it.
  static Tensor scalar(DType dtype, double value);
  // Owned tensor filled from `values` converted to `dtype`.
  static Tensor from_doubles(DType dtype, Shape shape, std::span<const double> values);

  bool defined() const { return dtype_set_; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t numel() const { return num_elements(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  bool owns_data() const { return storage_ != nullptr; }

  void* data() { return data_; }
  const void* data() const { return data_; }
  template <class T> T* data_as() { return static_cast<T*>(data_); }
  template <class T> const T* data_as() const { return static_cast<const T*>(data_); }

  // Element i (flat, row-major) converted to double; bool gives 0 or 1.
  double get(int64_t i) const;
  // Sets element i from a double with C++ conversion semantics (float->int saturates,
  // NaN->0, like cast).
  void set(int64_t i, double value);

  // A deep, owned copy.
  Tensor clone() const;
  // Same data, new shape with the same element count (shares the buffer).
  Tensor reshaped(Shape shape) const;
  // Bitwise equality of dtype, shape and bytes (NaN == NaN when the bits agree).
  bool same_as(const Tensor& other) const;
  // True when every element equals element 0 (bitwise); true for empty tensors.
  bool is_splat() const;

 private:
  DType dtype_ = DType::f32;
  bool dtype_set_ = false;
  Shape shape_;
  std::shared_ptr<std::byte[]> storage_;
  void* data_ = nullptr;
};

// Converts a double to the dtype's C++ type with nabla's cast semantics:
// float -> int rounds toward zero and saturates, NaN gives 0; -> bool is (v != 0).
template <class T>
T convert_from_double(double v);

}  // namespace nabla
