#pragma once
// NumPy .npy files: format versions 1.0, 2.0 and 3.0, C order, little-endian,
// the five dtypes: '<f4' f32, '<f8' f64, '<i4' i32, '<i8' i64, '|b1' bool.
// Anything else (Fortran order, another dtype, big-endian data, a bad magic
// string, a malformed header, a truncated file, trailing bytes, a shape too
// large) is a nabla::Error "FILE: what is wrong". Bool bytes other than 0 are
// read as true (1), as NumPy does.
#include <span>
#include <string>
#include <string_view>

#include "nabla/runtime/tensor.h"

namespace nabla {

Tensor read_npy(const std::string& path);
// Writes format 1.0, or 2.0 when the header does not fit 1.0's 64 KiB.
void write_npy(const std::string& path, const Tensor& t);

// The same on bytes in memory; `name` stands for the file in messages.
Tensor decode_npy(std::string_view bytes, std::string_view name);
// `version` 1, 2 or 3 forces that format version; 0 picks as write_npy does.
std::string encode_npy(const Tensor& t, int version = 0);

// Checks that `t`, read from `path`, has the dtype and shape that `what`
// expects; throws e.g.
//   "x.npy: input %x of @mlp expects f32[64,784], got f64[64,784]".
void check_npy_type(const std::string& path, const Tensor& t, std::string_view what,
                    DType dtype, std::span<const int64_t> shape);

}  // namespace nabla
