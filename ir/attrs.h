#pragma once
// Op attributes, generated from ir/attrs.def. Attributes are stored in a
// normalized form (see infer.cpp) so that equal ops compare equal:
//   axes  sorted, non-negative, always explicit (all axes when the text omits it);
//   step  one entry per axis (1 when the text omits it);
//   axis  non-negative.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "nabla/runtime/dtype.h"
#include "nabla/runtime/tensor.h"

namespace nabla {

namespace attr {
enum Bit : uint32_t {
#define NABLA_ATTR(name, Kind) name##_index,
#include "nabla/ir/attrs.def"
  kNumAttrs
};
#define NABLA_ATTR(name, Kind) inline constexpr uint32_t name = 1u << name##_index;
#include "nabla/ir/attrs.def"
}  // namespace attr

enum class AttrKind : uint8_t { Ints, Int, Bool, DType, Tensor, Reduction };

// The reduction of a collective (all_reduce's `op`); mean is the sum divided
// by the number of processes.
enum class Reduction : uint8_t { sum, mean, max, min };
std::string_view reduction_name(Reduction r);
std::optional<Reduction> reduction_from_name(std::string_view name);
// Its code in the communicator ABI (runtime/abi.h: NABLA_REDUCE_SUM, _MEAN,
// _MAX, _MIN), with which the interpreter and compiled code call a communicator.
int32_t collective_reduction(Reduction r);

namespace attr_detail {
template <AttrKind K> struct Storage;
template <> struct Storage<AttrKind::Ints> { using type = std::vector<int64_t>; };
template <> struct Storage<AttrKind::Int> { using type = int64_t; };
template <> struct Storage<AttrKind::Bool> { using type = bool; };
template <> struct Storage<AttrKind::DType> { using type = DType; };
template <> struct Storage<AttrKind::Tensor> { using type = nabla::Tensor; };
template <> struct Storage<AttrKind::Reduction> { using type = Reduction; };
}  // namespace attr_detail

struct Attrs {
#define NABLA_ATTR(name, Kind) \
  typename attr_detail::Storage<AttrKind::Kind>::type name{};
#include "nabla/ir/attrs.def"

  // Compares (and hashes) only the attributes in `mask`; tensors bitwise.
  bool equal(const Attrs& other, uint32_t mask) const;
  size_t hash(uint32_t mask) const;
};

std::string_view attr_name(uint32_t index);
AttrKind attr_kind(uint32_t index);

}  // namespace nabla
