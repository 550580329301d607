#pragma once
// The type of a value: a dtype and a static shape (rank 0 is a scalar).
#include <string>

#include "nabla/runtime/dtype.h"
#include "nabla/runtime/tensor.h"

namespace nabla {

struct TensorType {
  DType dtype = DType::f32;
  Shape shape;

  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  int64_t numel() const { return num_elements(shape); }
  bool is_scalar() const { return shape.empty(); }
  // "f32[8,3]", "f32[]" for a scalar.
  std::string str() const;
  bool operator==(const TensorType&) const = default;
};

inline TensorType f32(Shape s = {}) { return {DType::f32, std::move(s)}; }
inline TensorType f64(Shape s = {}) { return {DType::f64, std::move(s)}; }
inline TensorType i32(Shape s = {}) { return {DType::i32, std::move(s)}; }
inline TensorType i64(Shape s = {}) { return {DType::i64, std::move(s)}; }
inline TensorType boolean(Shape s = {}) { return {DType::bool_, std::move(s)}; }

inline TensorType type_of(const Tensor& t) { return {t.dtype(), t.shape()}; }

}  // namespace nabla
